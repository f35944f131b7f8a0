// The Kubernetes source against the fake API server over HTTPS with a CA file (as in a pod):
// objects created, changed and deleted reach the events; filtering and slimming; a missing CRD;
// and every watch fault survived with no lost and no duplicated event.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver/index.ts";
import { converged, createRecorder, recordedVersions, serverVersions, type Recorder } from "./fake-apiserver/recorder.ts";
import { createKubernetesSource } from "../src/sources/kubernetes.ts";
import { loadKubeConfig } from "../src/k8s/kubeconfig.ts";
import type { KubeObject, Source, WatchedKind } from "../src/sources/types.ts";

const kinds: WatchedKind[] = ["Ingress", "Service", "EndpointSlice", "Secret", "HTTPProxy", "TLSCertificateDelegation"];
const backoff = { initialMs: 10, maxMs: 100 };
const quiet = { withTag: () => quiet, info() {}, warn() {}, debug() {}, error() {} } as never;

function service(name: string, namespace = "default", port = 80): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace, labels: { app: name } }, spec: { ports: [{ port }] } };
}

function ingress(name: string, namespace = "default", host = `${name}.example.com`): KubeObject {
  return { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name, namespace }, spec: { rules: [{ host }] } };
}

function secret(name: string, type: string, data: Record<string, string>, namespace = "default"): KubeObject {
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace }, type, data };
}

let api: FakeApiServer;
let source: Source | undefined;

beforeEach(async () => {
  api = await startFakeApiServer({ bookmarkIntervalMs: 0 });
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
  await api.close();
});

async function startSource(options: { watchNamespaces?: string[]; pageSize?: number } = {}): Promise<Recorder> {
  const recorder = createRecorder();
  source = createKubernetesSource({ kubeconfig: api.kubeconfigPath, backoff, logger: quiet, ...options });
  await source.start(recorder);
  await recorder.synced;
  return recorder;
}

const isConverged = (recorder: Recorder) => () => converged(recorder, api, kinds);

describe("kubernetes source", () => {
  test("lists, then delivers creates, changes and deletes as events; synced once", async () => {
    api.create(service("a"));
    api.create(ingress("web"));
    const recorder = await startSource({ pageSize: 1 });
    expect(recordedVersions(recorder)).toEqual(serverVersions(api, kinds));
    expect(recorder.state.get("Ingress default/web")?.apiVersion).toBe("networking.k8s.io/v1");
    expect(recorder.state.get("Service default/a")?.kind).toBe("Service");

    api.create(service("b"));
    api.update({ ...api.get("Ingress", "default", "web")!, spec: { rules: [{ host: "changed.example.com" }] } });
    api.delete("Service", "default", "a");
    await recorder.waitFor(isConverged(recorder));
    expect((recorder.state.get("Ingress default/web")?.spec as { rules: { host: string }[] }).rules[0]!.host).toBe("changed.example.com");
    expect(recorder.state.has("Service default/a")).toBe(false);
    expect(recorder.events.filter((e) => e.type === "delete")).toMatchObject([{ type: "delete", object: { kind: "Service", metadata: { name: "a" } } }]);
    expect(recorder.syncCount).toBe(1);
    expect(recorder.anomalies).toEqual([]);
    // Every list page and watch went over HTTPS with the bearer token (401s would show here).
    expect(api.requests.every((r) => r.status !== 401)).toBe(true);
    expect(api.requests.filter((r) => r.verb === "watch").every((r) => r.query.allowWatchBookmarks === "true")).toBe(true);
  });

  test("objects are plain JSON without managedFields or last-applied annotations", async () => {
    api.create({ ...service("a"), metadata: { name: "a", namespace: "default", annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", keep: "me" } } });
    expect((api.get("Service", "default", "a")!.metadata as { managedFields?: unknown }).managedFields).toBeDefined();
    const recorder = await startSource();
    const object = recorder.state.get("Service default/a")!;
    expect(Object.getPrototypeOf(object)).toBe(Object.prototype);
    expect(object.metadata).not.toHaveProperty("managedFields");
    expect(object.metadata.annotations).toEqual({ keep: "me" });
    expect(typeof object.metadata.creationTimestamp).toBe("string");
    api.update({ ...api.get("Service", "default", "a")!, spec: { ports: [{ port: 81 }] } });
    await recorder.waitFor(isConverged(recorder));
    expect(recorder.state.get("Service default/a")!.metadata).not.toHaveProperty("managedFields");
  });

  test("secrets: helm releases and service-account tokens never arrive; data slimmed to the keys the DAG reads", async () => {
    api.create(secret("tls", "kubernetes.io/tls", { "tls.crt": "Y2VydA==", "tls.key": "a2V5", "ca.crt": "Y2E=", extra: "eA==" }));
    api.create(secret("big", "Opaque", { payload: "x".repeat(100_000) }));
    api.create(secret("ca", "Opaque", { "ca.crt": "Y2E=", "crl.pem": "Y3Js" }));
    api.create(secret("release", "helm.sh/release.v1", { release: "eA==" }));
    api.create(secret("token", "kubernetes.io/service-account-token", { token: "eA==" }));
    api.create(secret("docker", "kubernetes.io/dockerconfigjson", { ".dockerconfigjson": "e30=" }));
    const recorder = await startSource();
    const secrets = [...recorder.state.keys()].filter((k) => k.startsWith("Secret")).sort();
    expect(secrets).toEqual(["Secret default/big", "Secret default/ca", "Secret default/tls"]);
    expect(recorder.state.get("Secret default/tls")!.data).toEqual({ "tls.crt": "Y2VydA==", "tls.key": "a2V5", "ca.crt": "Y2E=" });
    expect(recorder.state.get("Secret default/big")!.data).toEqual({});
    expect(recorder.state.get("Secret default/ca")!.data).toEqual({ "ca.crt": "Y2E=", "crl.pem": "Y3Js" });
    // The server-side filter is asked for on list and watch.
    const secretRequests = api.requests.filter((r) => r.plural === "secrets" && r.method === "GET");
    expect(secretRequests.length).toBeGreaterThanOrEqual(2);
    expect(secretRequests.every((r) => r.query.fieldSelector === "type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token")).toBe(true);
    // A watched release never arrives either.
    api.create(secret("release2", "helm.sh/release.v1", { release: "eA==" }));
    api.create(secret("tls2", "kubernetes.io/tls", { "tls.crt": "eA==", "tls.key": "eA==" }));
    await recorder.waitFor(() => recorder.state.has("Secret default/tls2"));
    expect(recorder.state.has("Secret default/release2")).toBe(false);
  });

  test("watchNamespaces: one list and watch per namespace per kind; other namespaces unseen", async () => {
    api.create(service("a", "team-a"));
    api.create(service("b", "team-b"));
    api.create(service("c", "other"));
    const recorder = await startSource({ watchNamespaces: ["team-a", "team-b"] });
    api.create(service("d", "team-b"));
    api.create(service("e", "other"));
    await recorder.waitFor(() => recorder.state.has("Service team-b/d"));
    expect([...recorder.state.keys()].sort()).toEqual(["Service team-a/a", "Service team-b/b", "Service team-b/d"]);
    const paths = new Set(api.requests.filter((r) => r.verb === "list").map((r) => r.path));
    expect(paths.has("/api/v1/namespaces/team-a/services")).toBe(true);
    expect(paths.has("/api/v1/namespaces/team-b/secrets")).toBe(true);
    expect(paths.has("/apis/projectcontour.io/v1/namespaces/team-a/httpproxies")).toBe(true);
    expect(paths.has("/api/v1/services")).toBe(false);
  });

  test("a CRD that is not installed is reported once, counts as synced, and is picked up once installed", async () => {
    api.setGroupInstalled("projectcontour.io", false);
    api.create(service("a"));
    const recorder = await startSource({ watchNamespaces: ["default", "other"] });
    expect(recorder.state.has("Service default/a")).toBe(true);
    // Retried (in both namespaces), yet reported only once per kind.
    for (let retry = 0; retry < 3; retry++) await api.waitForRequest((r) => r.plural === "httpproxies" && r.status === 404);
    const missing = recorder.problems.filter((p) => p.message.includes("not served"));
    expect(missing.map((p) => p.message.split(" ")[0]).sort()).toEqual(["HTTPProxy", "TLSCertificateDelegation"]);
    api.setGroupInstalled("projectcontour.io", true);
    api.create({ apiVersion: "projectcontour.io/v1", kind: "HTTPProxy", metadata: { name: "root", namespace: "default" }, spec: { virtualhost: { fqdn: "a.example.com" } } });
    await recorder.waitFor(() => recorder.state.has("HTTPProxy default/root"));
    expect(recorder.syncCount).toBe(1);
  });

  test("a dropped connection mid-stream: resumes from the last event, nothing lost or repeated", async () => {
    const recorder = await startSource();
    api.injectFault({ verb: "watch", plural: "services", fault: { type: "drop", afterEvents: 2 } });
    api.closeWatches();
    const resumed = api.waitForRequest((r) => r.verb === "watch" && r.plural === "services");
    await resumed;
    const next = api.waitForRequest((r) => r.verb === "watch" && r.plural === "services");
    for (let i = 0; i < 6; i++) api.create(service(`s${i}`));
    api.update({ ...api.get("Service", "default", "s0")!, spec: { ports: [{ port: 8080 }] } });
    api.delete("Service", "default", "s1");
    const rewatch = await next;
    await recorder.waitFor(isConverged(recorder));
    // The re-watch starts at the second event delivered before the drop.
    const secondDelivered = recorder.events.find((e) => e.type === "upsert" && e.object.metadata.name === "s1")!;
    expect(rewatch.query.resourceVersion).toBe(secondDelivered.object.metadata.resourceVersion!);
    expect(api.requests.filter((r) => r.verb === "list" && r.plural === "services")).toHaveLength(1);
    expect(recorder.anomalies).toEqual([]);
  });

  test("an in-stream ERROR 410 re-lists; a deletion missed meanwhile becomes a delete event", async () => {
    api.create(service("keep"));
    api.create(service("gone"));
    const recorder = await startSource();
    api.injectFault({ verb: "watch", plural: "services", fault: { type: "stream410", afterEvents: 1 } });
    api.closeWatches();
    await api.waitForRequest((r) => r.verb === "watch" && r.plural === "services");
    api.create(service("new1"));
    // Made after the ERROR closed the stream: only a re-list can show these.
    const relist = api.waitForRequest((r) => r.verb === "list" && r.plural === "services");
    api.delete("Service", "default", "gone");
    api.create(service("new2"));
    await relist;
    await recorder.waitFor(isConverged(recorder));
    expect(recorder.state.has("Service default/gone")).toBe(false);
    expect(recorder.anomalies).toEqual([]);
  });

  test("HTTP 410 on watch and a compacted history re-list; nothing lost or repeated", async () => {
    api.create(service("a"));
    api.create(ingress("i"));
    const recorder = await startSource();
    api.injectFault({ verb: "watch", plural: "services", fault: { type: "http", status: 410 } });
    api.closeWatches();
    api.delete("Service", "default", "a");
    api.create(service("b"));
    await recorder.waitFor(isConverged(recorder));
    // Compaction: every watch resuming from before it gets a 410 and must re-list.
    const lists = api.requests.filter((r) => r.verb === "list").length;
    api.create(ingress("j"));
    await recorder.waitFor(() => recorder.state.has("Ingress default/j"));
    api.closeWatches();
    api.update({ ...api.get("Ingress", "default", "i")!, spec: { rules: [{ host: "x.example.com" }] } });
    api.delete("Ingress", "default", "j");
    api.compact();
    await recorder.waitFor(isConverged(recorder));
    expect(api.requests.filter((r) => r.verb === "list").length).toBeGreaterThan(lists);
    expect(recorder.anomalies).toEqual([]);
  });

  test("HTTP 500 on list and on watch: retried with backoff, reported, synced once the server recovers", async () => {
    api.create(service("a"));
    api.injectFault({ verb: "list", plural: "services", fault: { type: "http", status: 500 }, times: 3 });
    api.injectFault({ verb: "watch", plural: "ingresses", fault: { type: "http", status: 500 }, times: 2 });
    const recorder = await startSource();
    expect(recorder.state.has("Service default/a")).toBe(true);
    expect(recorder.problems.some((p) => p.message.includes("500"))).toBe(true);
    api.create(ingress("after"));
    await recorder.waitFor(isConverged(recorder));
    expect(api.requests.filter((r) => r.verb === "list" && r.plural === "services").map((r) => r.status)).toEqual([500, 500, 500, 200]);
    expect(recorder.anomalies).toEqual([]);
  });

  test("bookmarks advance the resume point, so a re-watch does not replay history", async () => {
    const recorder = await startSource();
    for (let i = 0; i < 3; i++) api.create(secret(`s${i}`, "Opaque", {}));
    await recorder.waitFor(() => recorder.state.has("Secret default/s2"));
    api.sendBookmarks();
    const rewatch = api.waitForRequest((r) => r.verb === "watch" && r.plural === "services");
    api.closeWatches();
    expect(Number((await rewatch).query.resourceVersion)).toBe(api.store.resourceVersion());
  });

  test("plain HTTP and in-cluster credentials (service-account token and CA) both work", async () => {
    const plain = await startFakeApiServer({ tls: false });
    try {
      plain.create(service("over-http"));
      const recorder = createRecorder();
      const httpSource = createKubernetesSource({ kubeconfig: plain.kubeconfigPath, backoff, logger: quiet, kinds: ["Service"] });
      await httpSource.start(recorder);
      await recorder.synced;
      expect(recorder.state.has("Service default/over-http")).toBe(true);
      await httpSource.stop();
    } finally {
      await plain.close();
    }
    api.create(service("in-cluster"));
    const { kubeConfig, origin } = loadKubeConfig({
      env: { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: new URL(api.url).port },
      serviceAccountDir: api.serviceAccountDir,
      home: "/nonexistent",
    });
    expect(origin).toBe("in-cluster");
    const recorder = createRecorder();
    source = createKubernetesSource({ kubeConfig, backoff, logger: quiet, kinds: ["Service"] });
    await source.start(recorder);
    await recorder.synced;
    expect(recorder.state.has("Service default/in-cluster")).toBe(true);
  });
});
