// One edited Ingress through the real agent (startAgent, in-memory source, no xDS clients), `edits`
// times: the wall and CPU time of handler.onEvents + pipeline.flush(), and the build's own stages.
//   bun bench/edit-measure.ts [size=10000] [edits=20] [tls]
// `tls`: every Ingress also terminates TLS for its host (one Secret per namespace), so every edit
// changes one of `ingress_https`'s filter chains and one `https/<host>` route configuration.
import { startAgent } from "../src/agent/agent.ts";
import { selfSignedCertificate, tlsSecret } from "../src/dag/testing.ts";
import type { KubeObject } from "../src/sources/types.ts";
import * as fixtures from "./fixtures.ts";
import { changedObject } from "./pipeline-child.ts";

const size = Number(process.argv[2] ?? 10_000);
const edits = Number(process.argv[3] ?? 20);
const tls = process.argv[4] === "tls";
const cert = tls ? await selfSignedCertificate("*.bench.example.com", { notAfter: new Date("2099-01-01T00:00:00Z") }) : undefined;
/** The Ingress with TLS for its host from its namespace's Secret, when measuring TLS. */
const withTls = (object: KubeObject): KubeObject => {
  if (!tls || object.kind !== "Ingress") return object;
  const spec = object.spec as { rules: Array<{ host: string }> };
  return { ...object, spec: { ...spec, tls: [{ hosts: [spec.rules[0]!.host], secretName: "bench-tls" }] } };
};
const generated = fixtures.generateCluster("ingress", size).map(withTls);
if (cert) for (const namespace of new Set(generated.map((o) => o.metadata.namespace!))) generated.push(tlsSecret(namespace, "bench-tls", cert));
const { source, handler } = fixtures.memorySource(generated);
const started = performance.now();
const agent = await startAgent({ address: "127.0.0.1", port: 0, sources: [source], dag: fixtures.benchDagOptions, holdoffMs: 1e9, maxDelayMs: 1e9 });
if (!agent.pipeline.ready) await new Promise<void>((resolve) => { const off = agent.pipeline.onBuild(() => (off(), resolve())); });
const served = agent.pipeline.lastBuild!.resources;
const chains = (served.listeners as Array<{ filter_chains?: unknown[] }>).map((l) => l.filter_chains?.length ?? 0).join("+");
console.log(`size ${size}: first snapshot ${(performance.now() - started).toFixed(0)} ms, rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB; ${served.routes.length} route configs, ${served.clusters.length} clusters, listener filter chains ${chains}`);
// The agent is idle after its first snapshot: what it makes then for the next build (prepareNextBuild) is made.
await new Promise((resolve) => setTimeout(resolve, 50));
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const rows: Array<Record<string, number>> = [];
for (let i = 0; i < edits; i++) {
  const object = withTls(changedObject({ fixture: "ingress", size }, { kind: "ingress", index: (i * 7919) % size, generation: 100 + i }));
  const c0 = cpu();
  const t0 = performance.now();
  handler().onEvents([{ type: "upsert", object }]);
  await agent.pipeline.flush();
  const wall = performance.now() - t0;
  const timings = agent.pipeline.lastBuild!.timings;
  rows.push({ wall, cpu: cpu() - c0, ...timings, delta: agent.pipeline.lastBuild!.delta ? 1 : 0 });
}
const median = (key: string) => { const values = rows.slice(2).map((r) => r[key]!).sort((a, b) => a - b); return values[values.length >> 1]!; };
console.log(["wall", "cpu", "dag", "translate", "endpoints", "validate", "total", "delta"].map((key) => `${key} ${median(key).toFixed(2)}`).join(" | "), `(median of ${rows.length - 2}, ms; mode ${agent.pipeline.lastDagBuild?.mode})`);
// The first edits after the full build pay what the fast path builds once (its indexes), and the JIT.
console.log(`first two edits: ${rows.slice(0, 2).map((r) => `wall ${r.wall!.toFixed(1)} (translate ${r.translate!.toFixed(1)}, validate ${r.validate!.toFixed(1)})`).join("; ")}`);
Bun.gc(true);
console.log(`rss after the edits ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
await agent.close(100);
process.exit(0);
