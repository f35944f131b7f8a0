// The whole agent minus gRPC against the fake API server over HTTPS: Kubernetes source → object
// cache → pipeline → snapshot store, and status reporting with leader election. After changes made
// through watch faults (dropped connections, in-stream 410, compaction) the served snapshot equals
// the one built from the server's final objects; of two agents only the leader writes status, and
// the other takes over when it stops.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver/index.ts";
import { converged, createRecorder } from "./fake-apiserver/recorder.ts";
import { createKubernetesSource } from "../src/sources/kubernetes.ts";
import { slimObject } from "../src/sources/kube-transform.ts";
import { createObjectCache, type ObjectCache } from "../src/pipeline/cache.ts";
import { createPipeline, type Pipeline } from "../src/pipeline/run.ts";
import { buildResources } from "../src/pipeline/build.ts";
import { createSnapshotStore, type SnapshotStore } from "../src/xds/snapshot.ts";
import { TypeUrls } from "../src/xds/types.ts";
import { createKubeClient } from "../src/k8s/client.ts";
import { loadKubeConfig } from "../src/k8s/kubeconfig.ts";
import { startStatusReporting, type StatusReporting } from "../src/status/reporting.ts";
import type { KubeObject, Source, WatchedKind } from "../src/sources/types.ts";

const kinds: WatchedKind[] = ["Ingress", "Service", "EndpointSlice", "Secret", "HTTPProxy", "TLSCertificateDelegation"];
const dag = { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => new Date("2026-01-01T00:00:00Z") };
const quiet = { withTag: () => quiet, info() {}, warn() {}, debug() {}, error() {}, log() {} } as never;

function app(i: number, address = `10.0.0.${i}`): KubeObject[] {
  const name = `app-${i}`;
  return [
    { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "web" }, spec: { ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] } },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: `${name}-x`, namespace: "web", labels: { "kubernetes.io/service-name": name } },
      addressType: "IPv4",
      endpoints: [{ addresses: [address], conditions: { ready: true } }],
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name, namespace: "web" },
      spec: { rules: [{ host: `${name}.example.com`, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name, port: { number: 80 } } } }] } }] },
    },
  ];
}

interface Agent {
  cache: ObjectCache;
  store: SnapshotStore;
  pipeline: Pipeline;
  source: Source;
  recorder: ReturnType<typeof createRecorder>;
  reporting?: StatusReporting;
  leading: Promise<void>;
  stop(): Promise<void>;
}

let api: FakeApiServer;
const agents: Agent[] = [];

beforeEach(async () => {
  api = await startFakeApiServer({ bookmarkIntervalMs: 0 });
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
  await api.close();
});

async function startAgent(options: { identity?: string } = {}): Promise<Agent> {
  const { kubeConfig } = loadKubeConfig({ kubeconfig: api.kubeconfigPath });
  const cache = createObjectCache({ ingressClassNames: [] });
  const store = createSnapshotStore();
  const pipeline = createPipeline(store, cache, { dag, holdoffMs: 5, maxDelayMs: 20, sources: ["kubernetes"] });
  const recorder = createRecorder();
  const handler = pipeline.handlerFor("kubernetes");
  const firstBuild = new Promise<void>((resolve) => {
    const off = pipeline.onBuild(() => {
      off();
      resolve();
    });
  });
  let reporting: StatusReporting | undefined;
  let startedLeading!: () => void;
  const leading = new Promise<void>((resolve) => (startedLeading = resolve));
  if (options.identity) {
    const client = createKubeClient(kubeConfig, { userAgent: `isobar/${options.identity}` });
    reporting = startStatusReporting({
      client,
      pipeline,
      cache,
      loadBalancer: { ip: "192.0.2.10" },
      leaderElection: { namespace: "isobar-system", name: "isobar-leader", identity: options.identity, leaseDurationSeconds: 1, renewDeadlineSeconds: 0.6, retryPeriodSeconds: 0.1 },
      logger: quiet,
      onStartedLeading: startedLeading,
    });
  }
  const source = createKubernetesSource({ kubeConfig, backoff: { initialMs: 10, maxMs: 100 }, logger: quiet });
  await source.start({
    onEvents(events) {
      handler.onEvents(events);
      recorder.onEvents(events);
    },
    onSynced() {
      handler.onSynced();
      recorder.onSynced();
    },
    onProblem: (problem) => recorder.onProblem(problem),
  });
  await firstBuild;
  const agent: Agent = {
    cache,
    store,
    pipeline,
    source,
    recorder,
    reporting,
    leading,
    async stop() {
      await reporting?.stop();
      await source.stop();
      await pipeline.stop();
    },
  };
  agents.push(agent);
  return agent;
}

const nameOf = (resource: object) => String((resource as { name?: string; cluster_name?: string }).name ?? (resource as { cluster_name?: string }).cluster_name);
const sorted = (resources: object[]) => [...resources].sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : 1));

function served(store: SnapshotStore) {
  const pick = (url: string) => sorted([...store.resources(url).values()].map((r) => r.json));
  return { listeners: pick(TypeUrls.listener), routes: pick(TypeUrls.route), clusters: pick(TypeUrls.cluster), endpoints: pick(TypeUrls.endpoint), secrets: pick(TypeUrls.secret) };
}

/** The snapshot a fresh agent would build from the server's objects as they are now. */
function expectedFromServer() {
  const cache = createObjectCache({ ingressClassNames: [] });
  for (const kind of kinds) {
    for (const object of api.list(kind)) {
      const slim = slimObject(structuredClone(object), object.apiVersion, kind);
      if (slim) cache.apply({ type: "upsert", object: slim });
    }
  }
  const { resources } = buildResources(cache, { dag });
  return { listeners: sorted(resources.listeners), routes: sorted(resources.routes), clusters: sorted(resources.clusters), endpoints: sorted(resources.endpoints), secrets: sorted(resources.secrets) };
}

async function settled(agent: Agent): Promise<void> {
  await agent.recorder.waitFor(() => converged(agent.recorder, api, kinds));
  await agent.pipeline.flush();
}

describe("kubernetes → pipeline → snapshot", () => {
  test("after creates, changes and deletes made across dropped and expired watches, the snapshot equals one built from the final objects", async () => {
    for (let i = 1; i <= 3; i++) for (const object of app(i)) api.create(object);
    const agent = await startAgent();
    expect(served(agent.store).clusters.length).toBeGreaterThan(0);
    expect(served(agent.store)).toEqual(expectedFromServer());

    api.injectFault({ verb: "watch", plural: "endpointslices", fault: { type: "drop", afterEvents: 1 } });
    api.injectFault({ verb: "watch", plural: "ingresses", fault: { type: "stream410", afterEvents: 1 } });
    api.injectFault({ verb: "watch", plural: "services", fault: { type: "http", status: 500 } });
    api.closeWatches();
    for (const object of app(4)) api.create(object);
    const slice = api.get("EndpointSlice", "web", "app-1-x")!;
    api.update({ ...slice, endpoints: [{ addresses: ["10.9.9.9"], conditions: { ready: true } }] });
    api.delete("Ingress", "web", "app-2");
    api.delete("Service", "web", "app-3");
    await settled(agent);
    api.closeWatches();
    api.update({ ...api.get("EndpointSlice", "web", "app-4-x")!, endpoints: [{ addresses: ["10.8.8.8"], conditions: { ready: true } }] });
    for (const object of app(5)) api.create(object);
    api.compact();
    await settled(agent);
    expect(served(agent.store)).toEqual(expectedFromServer());
    // Those edits were followed by the incremental DAG build, not a full one.
    expect(agent.pipeline.lastDagBuild?.mode).toBe("incremental");
    expect(agent.recorder.anomalies).toEqual([]);
  });

  test("two agents: only the leader writes status; when it stops the other takes over and writes", async () => {
    for (let i = 1; i <= 2; i++) for (const object of app(i)) api.create(object);
    const a = await startAgent({ identity: "agent-a" });
    const aLeads = a.reporting!.elector!;
    const b = await startAgent({ identity: "agent-b" });
    // Whichever won the Lease wrote the status of both Ingresses; the other wrote nothing.
    await a.recorder.waitFor(() => api.list("Ingress").every((i) => (i.status as { loadBalancer?: { ingress?: unknown[] } })?.loadBalancer?.ingress?.length === 1));
    await a.reporting!.writer.idle();
    expect(aLeads.isLeader() || b.reporting!.isLeader()).toBe(true);
    const leader = aLeads.isLeader() ? a : b;
    const follower = leader === a ? b : a;
    const leaderAgent = leader === a ? "isobar/agent-a" : "isobar/agent-b";
    const writes = () => api.requests.filter((r) => r.subresource === "status" && r.verb === "patch");
    expect(writes().length).toBe(2);
    expect(writes().every((r) => r.userAgent === leaderAgent)).toBe(true);

    // A new Ingress: written once, by the leader.
    for (const object of app(3)) api.create(object);
    await leader.recorder.waitFor(() => (api.get("Ingress", "web", "app-3")!.status as { loadBalancer?: unknown })?.loadBalancer !== undefined);
    await follower.recorder.waitFor(() => converged(follower.recorder, api, kinds));
    await leader.reporting!.writer.idle();
    expect(writes().length).toBe(3);

    await leader.stop();
    agents.splice(agents.indexOf(leader), 1);
    await follower.leading;
    expect(follower.reporting!.isLeader()).toBe(true);
    for (const object of app(4)) api.create(object);
    await follower.recorder.waitFor(() => (api.get("Ingress", "web", "app-4")!.status as { loadBalancer?: unknown })?.loadBalancer !== undefined);
    await follower.reporting!.writer.idle();
    expect(writes().length).toBe(4);
    expect(writes().at(-1)!.userAgent).toBe(leader === a ? "isobar/agent-b" : "isobar/agent-a");
  });
});
