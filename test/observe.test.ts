// The observe stage through the whole agent: /readyz flips from 503 to 200 once every source synced,
// metrics move as the agent works (a rebuild, a client connecting, pushes, ACKs, a NACK, the client
// leaving), and the debug views show the DAG, the snapshot (secrets redacted), NACKs and statuses.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startAgent, type Agent } from "../src/agent/agent.ts";
import { createMetrics, type AgentMetrics } from "../src/observe/metrics.ts";
import type { KubeObject, Source, SourceHandler } from "../src/sources/types.ts";
import { connectXds } from "../src/xds/client.ts";
import type { XdsEvent } from "../src/xds/server-common.ts";
import { TypeUrls } from "../src/xds/types.ts";

const quickstart = join(import.meta.dir, "../examples/quickstart");

/** A source that syncs when the test says so. */
function gateSource(): Source & { handler(): SourceHandler } {
  let handler: SourceHandler | undefined;
  return {
    name: "gate",
    start: async (h) => void (handler = h),
    stop: async () => {},
    handler: () => handler!,
  };
}

function ingress(name: string, host: string): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, namespace: "quickstart", resourceVersion: "1" },
    spec: { ingressClassName: "contour", rules: [{ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "echo", port: { number: 80 } } } }] } }] },
  } as KubeObject;
}

/** One sample's value from Prometheus text (undefined when the series is absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
  }
  return undefined;
}

let agent: Agent;
let metrics: AgentMetrics;
let gate: ReturnType<typeof gateSource>;
let base: string;
let debugBase: string;

const get = (url: string) => fetch(url).then(async (r) => ({ status: r.status, type: r.headers.get("content-type") ?? "", text: await r.text() }));
const scrape = () => get(`${base}/metrics`).then((r) => r.text);

function nextEvent(predicate: (event: XdsEvent) => boolean): Promise<XdsEvent> {
  return new Promise((resolve) => {
    const off = agent.server.on((event) => {
      if (!predicate(event)) return;
      off();
      resolve(event);
    });
  });
}

const nextBuild = () => new Promise<void>((resolve) => void agent.pipeline.onBuild(() => resolve()));

beforeAll(async () => {
  metrics = createMetrics({ certificates: () => [{ file: "/certs/tls.crt", subject: "CN=agent", serialNumber: "1", notAfter: "2030-01-01T00:00:00Z", daysLeft: 42 }] });
  gate = gateSource();
  agent = await startAgent({
    address: "127.0.0.1",
    port: 0,
    manifests: quickstart,
    sources: [gate],
    holdoffMs: 5,
    maxDelayMs: 20,
    dag: { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => new Date("2027-01-01T00:00:00Z") },
    observe: { metricsAddress: { address: "127.0.0.1", port: 0 }, debugAddress: { address: "127.0.0.1", port: 0 }, metrics },
  });
  base = `http://127.0.0.1:${agent.observe.metricsPort}`;
  debugBase = `http://127.0.0.1:${agent.observe.debugPort}`;
});

afterAll(async () => {
  await agent.close(1000);
});

describe("health", () => {
  test("/healthz is 200 from the start; /readyz is 503 with the reason until every source synced, then 200", async () => {
    expect((await get(`${base}/healthz`)).status).toBe(200);
    const before = await get(`${base}/readyz`);
    expect(before.status).toBe(503);
    expect(before.text).toContain("waiting for sources to sync: gate");
    expect((await get(`${debugBase}/debug/dag`)).status).toBe(503);
    // Nothing is served before every source synced: a client connecting now waits, then gets it all.
    expect(agent.store.published).toBe(false);
    const early = connectXds(`127.0.0.1:${agent.server.port}`, { node: { id: "early" }, subscriptions: [{ typeUrl: TypeUrls.cluster }] });
    const first = early.next();
    await nextEvent((e) => e.kind === "request" && e.nodeId === "early");

    const built = nextBuild();
    gate.handler().onSynced();
    await built;
    expect((await first).resourceCount).toBe(agent.store.resources(TypeUrls.cluster).size);
    const closed = nextEvent((e) => e.kind === "close");
    early.close();
    await closed;
    const after = await get(`${base}/readyz`);
    expect(after.status).toBe(200);
    expect(after.text).toBe("ok\n");
  });

  test("unknown paths are 404 and other methods 405", async () => {
    expect((await get(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });
});

describe("metrics", () => {
  test("a rebuild adds one to the rebuild histogram's count and moves the snapshot generation", async () => {
    const before = await scrape();
    const count = sample(before, "isobar_dag_rebuild_duration_seconds_count")!;
    const generation = sample(before, "isobar_snapshot_generation")!;
    expect(count).toBeGreaterThanOrEqual(1);
    expect(sample(before, "isobar_objects", { kind: "Ingress", status: "valid" })).toBeGreaterThan(0);

    const built = nextBuild();
    gate.handler().onEvents([{ type: "upsert", object: ingress("metrics-extra", "extra.example.com") }]);
    await built;
    const after = await scrape();
    expect(sample(after, "isobar_dag_rebuild_duration_seconds_count")).toBe(count + 1);
    expect(sample(after, "isobar_snapshot_generation")).toBe(generation + 1);
    expect(sample(after, "isobar_snapshot_info", { type: "rds", version: agent.store.version(TypeUrls.route) })).toBe(1);
    expect(sample(after, "isobar_resources", { type: "cds" })).toBe(agent.store.resources(TypeUrls.cluster).size);
  });

  test("a client connecting raises the streams gauge; pushes, bytes and ACKs count; leaving lowers it", async () => {
    const labels = { type: "cds", variant: "sotw" };
    const before = await scrape();
    const pushes = sample(before, "isobar_xds_pushes_total", labels) ?? 0;
    const acks = sample(before, "isobar_xds_acks_total", labels) ?? 0;
    const latencies = sample(before, "isobar_xds_push_ack_duration_seconds_count", { type: "cds" }) ?? 0;

    const acked = nextEvent((e) => e.kind === "ack" && e.typeUrl === TypeUrls.cluster);
    const client = connectXds(`127.0.0.1:${agent.server.port}`, { node: { id: "observe-1" }, subscriptions: [{ typeUrl: TypeUrls.cluster }] });
    await client.next();
    await acked;
    const during = await scrape();
    expect(sample(during, "isobar_xds_streams", { ...labels, service: "ads" })).toBe(1);
    expect(sample(during, "isobar_xds_pushes_total", labels)).toBe(pushes + 1);
    expect(sample(during, "isobar_xds_push_bytes_total", labels)!).toBeGreaterThan(0);
    expect(sample(during, "isobar_xds_acks_total", labels)).toBe(acks + 1);
    expect(sample(during, "isobar_xds_push_ack_duration_seconds_count", { type: "cds" })).toBe(latencies + 1);
    // No per-client labels.
    expect(during).not.toContain("observe-1");

    const closed = nextEvent((e) => e.kind === "close");
    client.close();
    await closed;
    expect(sample(await scrape(), "isobar_xds_streams", { ...labels, service: "ads" })).toBe(0);
  });

  test("a per-type delta stream is counted under its own variant and service", async () => {
    const acked = nextEvent((e) => e.kind === "ack" && e.delta);
    const client = connectXds(`127.0.0.1:${agent.server.port}`, { node: { id: "observe-2" }, delta: true, ads: false, subscriptions: [{ typeUrl: TypeUrls.listener }] });
    await client.next();
    await acked;
    expect(sample(await scrape(), "isobar_xds_streams", { type: "lds", variant: "delta", service: "per_type" })).toBe(1);
    const closed = nextEvent((e) => e.kind === "close");
    client.close();
    await closed;
    expect(sample(await scrape(), "isobar_xds_streams", { type: "lds", variant: "delta", service: "per_type" })).toBe(0);
  });

  test("a NACK adds one to the NACK counter and shows in /debug/nacks", async () => {
    const labels = { type: "cds", variant: "sotw" };
    const before = sample(await scrape(), "isobar_xds_nacks_total", labels) ?? 0;
    const nacked = nextEvent((e) => e.kind === "nack");
    const client = connectXds(`127.0.0.1:${agent.server.port}`, { node: { id: "nacker" }, subscriptions: [{ typeUrl: TypeUrls.cluster }], judge: () => "cluster rejected by test" });
    await client.next();
    await nacked;
    expect(sample(await scrape(), "isobar_xds_nacks_total", labels)).toBe(before + 1);
    const nacks = JSON.parse((await get(`${debugBase}/debug/nacks`)).text) as Array<Record<string, unknown>>;
    expect(nacks[0]).toMatchObject({ node: "nacker", type: TypeUrls.cluster, variant: "sotw", error: { message: "cluster rejected by test" } });
    expect((nacks[0]!.resources as string[]).length).toBeGreaterThan(0);
    client.close();
  });

  test("leader state, status writes, certificate days and informer restarts are exported", async () => {
    let leading = false;
    metrics.observeLeader(() => leading);
    const follower = await scrape();
    expect(sample(follower, "isobar_leader")).toBe(0);
    // Like Contour, only the leader reports HTTPProxy counts (replicas' sums must not double them).
    expect(sample(follower, "contour_httpproxy", { namespace: "proxy-root" })).toBeUndefined();
    expect(sample(follower, "contour_dagrebuild_total")).toBeGreaterThan(0);
    leading = true;
    const leader = await scrape();
    expect(sample(leader, "isobar_leader")).toBe(1);
    expect(sample(leader, "contour_httpproxy", { namespace: "proxy-root" })).toBeGreaterThan(0);
    metrics.observeStatusWriter(() => ({ written: 3, skipped: 1, unchanged: 0, conflicts: 0, failed: 2, dropped: 0 }));
    const text = await scrape();
    expect(sample(text, "isobar_status_writes_total", { result: "written" })).toBe(3);
    expect(sample(text, "isobar_status_writes_total", { result: "failed" })).toBe(2);
    expect(sample(text, "isobar_certificate_expiry_days", { file: "/certs/tls.crt", subject: "CN=agent" })).toBe(42);
    metrics.informerRestarts.inc({ kind: "Ingress" });
    expect(sample(await scrape(), "isobar_informer_restarts_total", { kind: "Ingress" })).toBe(1);
  });
});

describe("debug", () => {
  test("/debug/dag is Graphviz DOT of virtual hosts → routes → clusters, and JSON with ?format=json", async () => {
    const dot = await get(`${debugBase}/debug/dag`);
    expect(dot.status).toBe(200);
    expect(dot.type).toContain("text/vnd.graphviz");
    expect(dot.text.startsWith("digraph isobar {")).toBe(true);
    expect(dot.text).toContain('"vhost:http:echo.example.com" -> "vhost:http:echo.example.com:route:0"');
    expect(dot.text).toMatch(/"vhost:http:echo\.example\.com:route:\d+" -> "cluster:quickstart\/echo\//);
    const json = JSON.parse((await get(`${debugBase}/debug/dag?format=json`)).text) as { virtualHosts: Array<{ name: string; secure: boolean; secret?: string; routes: unknown[] }>; clusters: unknown[] };
    const secure = json.virtualHosts.find((v) => v.name === "secure.example.com" && v.secure);
    expect(secure?.secret).toStartWith("quickstart/secure-example-tls/");
    expect(json.clusters.length).toBeGreaterThan(0);
  });

  test("/debug/xds shows the snapshot with keys and certificates redacted, narrowed to a node with ?node=", async () => {
    const whole = (await get(`${debugBase}/debug/xds`)).text;
    expect(whole).not.toContain("PRIVATE KEY");
    expect(whole).not.toContain("BEGIN CERTIFICATE");
    const view = JSON.parse(whole) as { types: Array<{ type: string; resources: Array<{ name: string; resource: Record<string, Record<string, unknown>> }> }> };
    const secrets = view.types.find((t) => t.type === "SDS")!.resources;
    expect(secrets.length).toBeGreaterThan(0);
    expect(secrets[0]!.resource.tls_certificate).toEqual({ certificate_chain: "[REDACTED]", private_key: "[REDACTED]" });
    expect(view.types.find((t) => t.type === "CDS")!.resources.length).toBe(agent.store.resources(TypeUrls.cluster).size);
    const node = JSON.parse((await get(`${debugBase}/debug/xds?node=envoy-1`)).text) as { node: { id: string } };
    expect(node.node.id).toBe("envoy-1");
  });

  test("/debug/status lists every object's conditions from the last build", async () => {
    const statuses = JSON.parse((await get(`${debugBase}/debug/status`)).text) as Array<{ kind: string; name: string; currentStatus: string; errors: Array<{ reason: string }> }>;
    const broken = statuses.find((s) => s.kind === "Ingress" && s.name === "broken");
    expect(broken?.currentStatus).toBe("invalid");
    expect(broken?.errors.length).toBeGreaterThan(0);
    expect(statuses.find((s) => s.name === "metrics-extra")?.currentStatus).toBe("valid");
  });

  test("the debug server refuses an address beyond loopback", async () => {
    const { startDebugServer } = await import("../src/observe/http.ts");
    expect(() => startDebugServer({ address: "0.0.0.0", port: 0, sources: { store: agent.store, lastBuild: () => undefined, nacks: () => [] } })).toThrow("--debug-address must be a loopback address");
  });
});
