// One edited Ingress through the real agent (startAgent, in-memory source, no xDS clients), `edits`
// times: the wall and CPU time of handler.onEvents + pipeline.flush(), and the build's own stages.
//   bun bench/edit-measure.ts [size=10000] [edits=20]
import { startAgent } from "../src/agent/agent.ts";
import type { Source, SourceEvent, SourceHandler } from "../src/sources/types.ts";
import * as fixtures from "./fixtures.ts";
import { changedObject } from "./pipeline-child.ts";

const size = Number(process.argv[2] ?? 10_000);
const edits = Number(process.argv[3] ?? 20);
let handler: SourceHandler | undefined;
const generated = fixtures.generateCluster("ingress", size);
const source: Source = {
  name: "bench",
  async start(h) {
    handler = h;
    h.onEvents(generated.map((object): SourceEvent => ({ type: "upsert", object })));
    h.onSynced();
  },
  async stop() {},
};
const started = performance.now();
const agent = await startAgent({ address: "127.0.0.1", port: 0, sources: [source], dag: fixtures.benchDagOptions, holdoffMs: 1e9, maxDelayMs: 1e9 });
if (!agent.pipeline.ready) await new Promise<void>((resolve) => { const off = agent.pipeline.onBuild(() => (off(), resolve())); });
console.log(`size ${size}: first snapshot ${(performance.now() - started).toFixed(0)} ms, rss ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB`);
generated.length = 0;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const rows: Array<Record<string, number>> = [];
for (let i = 0; i < edits; i++) {
  const object = changedObject({ fixture: "ingress", size }, { kind: "ingress", index: (i * 7919) % size, generation: 100 + i });
  const c0 = cpu();
  const t0 = performance.now();
  handler!.onEvents([{ type: "upsert", object }]);
  await agent.pipeline.flush();
  const wall = performance.now() - t0;
  const timings = agent.pipeline.lastBuild!.timings;
  rows.push({ wall, cpu: cpu() - c0, ...timings, delta: agent.pipeline.lastBuild!.delta ? 1 : 0 });
}
const median = (key: string) => { const values = rows.slice(2).map((r) => r[key]!).sort((a, b) => a - b); return values[values.length >> 1]!; };
console.log(["wall", "cpu", "dag", "translate", "endpoints", "validate", "total", "delta"].map((key) => `${key} ${median(key).toFixed(2)}`).join(" | "), `(median of ${rows.length - 2}, ms; mode ${agent.pipeline.lastDagBuild?.mode})`);
Bun.gc(true);
console.log(`rss after the edits ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
await agent.close(100);
process.exit(0);
