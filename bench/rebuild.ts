// `npm run bench -- rebuild`: generated clusters of Ingresses (one host and three paths each, a
// Service and an EndpointSlice of three endpoints each), default 1k and 10k. Per size, two child
// processes: one times full rebuilds (DAG, translate, endpoints, validate, and the publish that
// encodes every resource into a fresh snapshot store; first run and warm median) against protobuf
// encoding alone of the same resources; one runs the real agent with N delta clients and measures one
// changed Ingress and one changed EndpointSlice until every client has it.
// Results: bench/results/rebuild-<size>.json and a printed table. See bench/README.md.
import { gatewayRoutesPerNamespace, type Fixture } from "./fixtures.ts";
import { writeResultFile } from "./results-file.ts";
import { join } from "node:path";
import { measureLatency } from "./pipeline-latency.ts";
import { measureBuildsInChild, parseOptions, summarizeBuild, summarizeLatency, type PipelineBenchOptions } from "./pipeline-report.ts";

const here = import.meta.dirname;

/** What the latency run changes besides an EndpointSlice, per fixture. */
const changeKinds = { ingress: "ingress", httpproxy: "proxy", gateway: "route" } as const;

type Summary = { size: number; build: ReturnType<typeof summarizeBuild>; latency?: ReturnType<typeof summarizeLatency> };

/** Per size: the build measurements and, unless --no-latency, the latency run; `describe` names a size in progress lines. */
export async function runPipelineScenario(options: PipelineBenchOptions, scenario: { name: string; fixture: Fixture; describe: (size: number) => string }): Promise<Summary[]> {
  const { name, fixture, describe } = scenario;
  const results: Summary[] = [];
  for (const size of options.sizes) {
    console.error(`${name} bench: ${describe(size)}: full rebuilds (${options.runs} warm runs)`);
    const build = summarizeBuild(await measureBuildsInChild({ fixture, size, runs: options.runs }));
    let latency: Summary["latency"];
    if (options.latency) {
      console.error(`${name} bench: ${describe(size)}: agent with ${options.clients} delta clients, ${options.changes} changes of each kind`);
      const changes = Array.from({ length: options.changes }, (_, i) => [
        { kind: changeKinds[fixture], index: (i * 7919) % (fixture === "gateway" ? size * gatewayRoutesPerNamespace : size) },
        { kind: "slice" as const, index: (i * 104729 + 1) % size },
      ]).flat();
      latency = summarizeLatency(await measureLatency({ fixture, size, withoutNodeView: options.withoutNodeView }, { clients: options.clients, holdoffMs: options.holdoffMs, changes }));
    }
    results.push({ size, build, latency });
  }
  return results;
}

export function writeResults(name: string, written: { options: PipelineBenchOptions; results: Summary[]; extra?: Record<string, unknown> }): void {
  const { options, results, extra = {} } = written;
  const header = { bench: name, date: new Date().toISOString(), runtime: `bun ${process.versions.bun ?? "?"}`, cores: navigator.hardwareConcurrency, ...extra };
  const out = writeResultFile(name, options.label, { ...header, options, results });
  console.error(`wrote ${out}`);
}

export function printRows(title: string, rows: Array<[string, ...string[]]>): void {
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`\n${title}`);
  for (const [label, ...values] of rows) console.log(`${label.padEnd(width)}  ${values.map((v) => v.padEnd(16)).join(" ")}`);
}

/** The rows comparing one edited object's incremental build with the full build (CPU, medians). */
export function editRows(results: Summary[]): Array<[string, ...string[]]> {
  const col = (pick: (s: Summary) => string) => results.map(pick);
  return [
    ["edit: DAG CPU ms incremental / full", ...col((s) => `${s.build.edit.incrementalDagCpuMs} / ${s.build.edit.fullDagCpuMs} (${s.build.edit.dagRatio}×)`)],
    ["edit: build CPU ms incremental / full", ...col((s) => `${s.build.edit.incrementalBuildCpuMs} / ${s.build.edit.fullBuildCpuMs} (${s.build.edit.buildRatio}×)`)],
    ["edit: DAG build", ...col((s) => s.build.edit.modes.join(", "))],
  ];
}

export function breakdown(figures: Record<string, number> | undefined): string {
  return figures ? Object.values(figures).join(" / ") : "-";
}

function printTable(results: Summary[]): void {
  const col = (pick: (s: Summary) => string) => results.map(pick);
  const change = (s: Summary, kind: string) => s.latency?.changes[kind];
  printRows("rebuild (Ingress)", [
    ["Ingresses", ...col((s) => String(s.size))],
    ["full rebuild warm (median) ms", ...col((s) => `${s.build.warm.totalMs}`)],
    ["  dag / translate / endpoints", ...col((s) => `${s.build.warm.dagMs} / ${s.build.warm.translateMs} / ${s.build.warm.endpointsMs}`)],
    ["  validate / publish+encode", ...col((s) => `${s.build.warm.validateMs} / ${s.build.warm.publishMs}`)],
    ["full rebuild warm CPU ms (median)", ...col((s) => `${s.build.warm.cpuMs}`)],
    ["full rebuild first ms", ...col((s) => `${s.build.first.totalMs}`)],
    ...editRows(results),
    ["rebuild into live store ms", ...col((s) => `${s.build.liveRepublish.totalMs}`)],
    ["edited Ingress, memo, live store ms", ...col((s) => `${s.build.editedWithMemo.totalMs} (CPU ${s.build.editedWithMemo.cpuMs})`)],
    ["  dag / translate / endpoints", ...col((s) => `${s.build.editedWithMemo.dagMs} / ${s.build.editedWithMemo.translateMs} / ${s.build.editedWithMemo.endpointsMs}`)],
    ["  validate / publish+encode", ...col((s) => `${s.build.editedWithMemo.validateMs} / ${s.build.editedWithMemo.publishMs}`)],
    ["one host, nodes reused, memo ms", ...col((s) => `${s.build.reusedNodesWithMemo.totalMs} (CPU ${s.build.reusedNodesWithMemo.cpuMs})`)],
    ["  translate / endpoints / validate / publish", ...col((s) => { const r = s.build.reusedNodesWithMemo; return `${r.translateMs} / ${r.endpointsMs} / ${r.validateMs} / ${r.publishMs}`; })],
    ["  publish: delta path / whole set", ...col((s) => { const r = s.build.reusedNodesWithMemo; return `${r.publishMs}${r.fromDelta === 1 ? "" : " (not taken)"} / ${r.publishWholeMs}`; })],
    ["  hosts translated / entries checked", ...col((s) => `${s.build.reusedNodesWithMemo.virtualHostsTranslated} / ${s.build.reusedNodesWithMemo.entriesChecked}`)],
    ["encode alone: fromObject+encode ms", ...col((s) => `${s.build.encodeWarm.fromObjectEncodeMs} (first ${s.build.encodeFirst.fromObjectEncodeMs})`)],
    ["encode alone: encodeStrict ms", ...col((s) => `${s.build.encodeWarm.encodeStrictMs}`)],
    ["rebuild / fromObject+encode", ...col((s) => `${s.build.ratios.warmRebuildVsFromObjectEncode}×`)],
    ["rebuild / encodeStrict", ...col((s) => `${s.build.ratios.warmRebuildVsEncodeStrict}×`)],
    ["CPU: rebuild / fromObject+encode", ...col((s) => `${s.build.ratios.warmRebuildCpuVsFromObjectEncodeCpu}× (${s.build.encodeWarm.fromObjectEncodeCpuMs} ms)`)],
    ["CPU: rebuild / encodeStrict", ...col((s) => `${s.build.ratios.warmRebuildCpuVsEncodeStrictCpu}× (${s.build.encodeWarm.encodeStrictCpuMs} ms)`)],
    ["encoded MiB", ...col((s) => `${Math.round((s.build.encodedBytes / 2 ** 20) * 100) / 100}`)],
    ["RSS cache loaded / after 1st / steady", ...col((s) => `${s.build.memory.baselineRssMiB} / ${s.build.memory.firstRebuildRssMiB} / ${s.build.memory.steadyRssMiB}`)],
    ["peak RSS: rebuilds / +encode bench", ...col((s) => `${s.build.memory.maxRssRebuildsMiB} / ${s.build.memory.maxRssMiB}`)],
    ["agent RSS at 1st snapshot (peak)", ...col((s) => `${s.latency?.firstSnapshotRssMiB ?? "-"} (${s.latency?.firstSnapshotMaxRssMiB ?? "-"})`)],
    ["first rebuild RSS / heap delta MiB", ...col((s) => `${s.build.memory.firstRebuildRssDeltaMiB} / ${s.build.memory.firstRebuildHeapDeltaMiB}`)],
    ["warm rebuild RSS / heap delta MiB", ...col((s) => `${s.build.warm.rssDelta} / ${s.build.warm.heapDelta}`)],
    ["clients", ...col((s) => String(s.latency?.clients ?? "-"))],
    ["Ingress change after holdoff ms", ...col((s) => `${change(s, "ingress")?.afterHoldoffMs ?? "-"}`)],
    ["  publish(incl. holdoff) / fan-out", ...col((s) => `${change(s, "ingress")?.publishMs ?? "-"} / ${change(s, "ingress")?.fanOutMs ?? "-"}`)],
    ["  wait/build/store/notify/deliver", ...col((s) => breakdown(change(s, "ingress")?.breakdown))],
    ["  per client: resources / bytes", ...col((s) => `${JSON.stringify(change(s, "ingress")?.resourcesPerClient ?? {})} / ${JSON.stringify(change(s, "ingress")?.bytesPerClient ?? {})}`)],
    ["EndpointSlice change ms", ...col((s) => `${change(s, "slice")?.totalMs ?? "-"}`)],
    ["  wait/build/store/notify/deliver", ...col((s) => breakdown(change(s, "slice")?.breakdown))],
    ["  per client: resources / bytes", ...col((s) => `${JSON.stringify(change(s, "slice")?.resourcesPerClient ?? {})} / ${JSON.stringify(change(s, "slice")?.bytesPerClient ?? {})}`)],
    ["agent RSS with clients (after GC) MiB", ...col((s) => `${s.latency?.serverRssMiB ?? "-"} (${s.latency?.serverRssAfterGcMiB ?? "-"})`)],
  ]);
}

export async function run(argv: string[]): Promise<void> {
  const options = parseOptions(argv, { sizes: [1000, 10_000], smokeSizes: [100] });
  const results = await runPipelineScenario(options, { name: "rebuild", fixture: "ingress", describe: (size) => `${size} Ingresses` });
  printTable(results);
  writeResults("rebuild", { options, results, extra: { targets: { fullRebuildMs: 500, vsEncodeAlone: 3, rssMiB: 500, ingressAfterHoldoffMs: 50, sliceMs: 20 } } });
}

if (import.meta.main) {
  await run(process.argv.slice(2));
  process.exit(0);
}
