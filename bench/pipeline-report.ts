// Summaries of the pipeline benchmarks (rebuild.ts, httpproxy.ts): medians of the warm runs, the
// first run, ratios to encoding alone, latency medians; and the shared command-line options.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startChild } from "./child.ts";
import type { ChildSpec } from "./pipeline-child.ts";
import type { LatencyResult } from "./pipeline-latency.ts";
import type { BuildMeasurements, RebuildRun } from "./pipeline-measure.ts";

export interface PipelineBenchOptions {
  smoke: boolean;
  sizes: number[];
  clients: number;
  runs: number;
  holdoffMs: number;
  /** How many times each change kind is measured. */
  changes: number;
  latency: boolean;
  /** Diagnostic: the agent without its SDS-scoping node view. */
  withoutNodeView: boolean;
  label: string;
}

export function parseOptions(argv: string[], defaults: { sizes: number[]; smokeSizes: number[] }): PipelineBenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: "boolean", default: false },
      size: { type: "string" },
      clients: { type: "string" },
      runs: { type: "string" },
      holdoff: { type: "string" },
      changes: { type: "string" },
      "no-latency": { type: "boolean", default: false },
      "without-node-view": { type: "boolean", default: false },
    },
  });
  const smoke = values.smoke || values.size === "smoke" || process.env.BENCH_SIZE === "smoke";
  const sizes = values.size !== undefined && values.size !== "smoke" ? values.size.split(",").map(Number) : smoke ? defaults.smokeSizes : defaults.sizes;
  if (!sizes.every((size) => Number.isInteger(size) && size > 0)) throw new Error(`--size wants positive integers (comma separated), got ${values.size}`);
  const options = {
    smoke,
    sizes,
    clients: Number(values.clients ?? (smoke ? 5 : 100)),
    runs: Number(values.runs ?? (smoke ? 2 : 5)),
    holdoffMs: Number(values.holdoff ?? 100),
    changes: Number(values.changes ?? (smoke ? 2 : 5)),
    latency: !values["no-latency"],
    withoutNodeView: values["without-node-view"],
  };
  const label = `${smoke && values.size === undefined ? "smoke" : sizes.join("-")}${options.withoutNodeView ? "-without-node-view" : ""}`;
  return { ...options, label };
}

export async function measureBuildsInChild(spec: ChildSpec): Promise<BuildMeasurements> {
  process.env.CONSOLA_LEVEL ??= "1";
  const child = startChild(join(import.meta.dirname, "pipeline-child.ts"), ["build", JSON.stringify(spec)]);
  const { event: _event, ...result } = await child.ready;
  return result as unknown as BuildMeasurements;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
export const mib = (bytes: number) => round(bytes / 2 ** 20);

function medianRun(runs: RebuildRun[]): Record<string, number> {
  const keys = Object.keys(runs[0]!) as Array<keyof RebuildRun>;
  return Object.fromEntries(keys.map((key) => [key, key === "rss" || key.endsWith("Delta") ? mib(median(runs.map((r) => r[key]))) : round(median(runs.map((r) => r[key])))]));
}

function medianOf<T extends object>(runs: T[]): Record<string, number> {
  if (runs.length === 0) return {};
  const keys = Object.keys(runs[0]!) as Array<keyof T>;
  return Object.fromEntries(keys.map((key) => [key, round(median(runs.map((r) => r[key] as number)))]));
}

function runFigures(run: RebuildRun): Record<string, number> {
  return Object.fromEntries(Object.entries(run).map(([key, value]) => [key, key === "rss" || key.endsWith("Delta") ? mib(value) : round(value)]));
}

/** The build figures: first and warm (median) full rebuilds, live republish, encoding alone, ratios, memory. */
export function summarizeBuild(m: BuildMeasurements) {
  const warm = medianRun(m.warm);
  const encodeWarm = {
    encodeStrictMs: round(median(m.encodeWarm.map((e) => e.encodeStrictMs))),
    fromObjectEncodeMs: round(median(m.encodeWarm.map((e) => e.fromObjectEncodeMs))),
    encodeOnlyMs: round(median(m.encodeWarm.map((e) => e.encodeOnlyMs))),
    encodeStrictCpuMs: round(median(m.encodeWarm.map((e) => e.encodeStrictCpuMs))),
    fromObjectEncodeCpuMs: round(median(m.encodeWarm.map((e) => e.fromObjectEncodeCpuMs))),
  };
  return {
    objects: m.objects,
    resources: m.resources,
    encodedBytes: m.encodeFirst.bytes,
    statuses: m.statuses,
    notValid: m.notValid,
    rejected: m.rejected,
    first: runFigures(m.first),
    warm,
    warmRuns: m.warm.map((r) => round(r.totalMs)),
    liveRepublish: medianRun(m.liveRepublish),
    editedWithMemo: medianOf(m.changes.edited),
    reusedNodesWithMemo: medianOf(m.changes.reusedNodes),
    encodeFirst: { encodeStrictMs: round(m.encodeFirst.encodeStrictMs), fromObjectEncodeMs: round(m.encodeFirst.fromObjectEncodeMs), encodeOnlyMs: round(m.encodeFirst.encodeOnlyMs) },
    encodeWarm,
    ratios: {
      warmRebuildVsFromObjectEncode: round(warm.totalMs! / encodeWarm.fromObjectEncodeMs, 2),
      warmRebuildVsEncodeStrict: round(warm.totalMs! / encodeWarm.encodeStrictMs, 2),
      // The same in CPU time, which the machine's other load does not inflate.
      warmRebuildCpuVsFromObjectEncodeCpu: round(warm.cpuMs! / encodeWarm.fromObjectEncodeCpuMs, 2),
      warmRebuildCpuVsEncodeStrictCpu: round(warm.cpuMs! / encodeWarm.encodeStrictCpuMs, 2),
      firstRebuildVsFirstFromObjectEncode: round(m.first.totalMs / m.encodeFirst.fromObjectEncodeMs, 2),
    },
    edit: editFigures(m.edits),
    memory: { baselineRssMiB: mib(m.baselineRss), baselineHeapMiB: mib(m.baselineHeap), firstRebuildRssDeltaMiB: mib(m.first.rssDelta), firstRebuildHeapDeltaMiB: mib(m.first.heapDelta), firstRebuildRssMiB: mib(m.first.rss), maxRssRebuildsMiB: mib(m.maxRssRebuilds), maxRssMiB: mib(m.maxRss), steadyRssMiB: mib(m.steadyRss), steadyHeapMiB: mib(m.steadyHeap) },
  };
}

/** Medians of the edit runs: CPU of the incremental and the full build, DAG stage and whole build, and their ratios. */
function editFigures(edits: BuildMeasurements["edits"]) {
  const med = (pick: (e: BuildMeasurements["edits"][number]) => number) => round(median(edits.map(pick)), 2);
  const figures = {
    incrementalDagCpuMs: med((e) => e.incrementalDagCpuMs),
    fullDagCpuMs: med((e) => e.fullDagCpuMs),
    incrementalBuildCpuMs: med((e) => e.incrementalBuildCpuMs),
    fullBuildCpuMs: med((e) => e.fullBuildCpuMs),
    modes: [...new Set(edits.map((e) => `${e.mode} (${e.rebuilt} units)`))],
  };
  return {
    ...figures,
    dagRatio: round(figures.fullDagCpuMs / Math.max(figures.incrementalDagCpuMs, 0.01), 1),
    buildRatio: round(figures.fullBuildCpuMs / Math.max(figures.incrementalBuildCpuMs, 0.01), 1),
  };
}

/** Latency medians per change kind, with every sample kept. */
export function summarizeLatency(l: LatencyResult) {
  const kinds = [...new Set(l.samples.map((s) => s.kind))];
  const byKind = Object.fromEntries(
    kinds.map((kind) => {
      const samples = l.samples.filter((s) => s.kind === kind);
      const med = (pick: (s: (typeof samples)[number]) => number) => round(median(samples.map(pick)));
      return [
        kind,
        {
          afterHoldoffMs: med((s) => s.afterHoldoffMs),
          totalMs: med((s) => s.totalMs),
          publishMs: med((s) => s.publishMs),
          fanOutMs: med((s) => s.fanOutMs),
          breakdown: Object.fromEntries(Object.keys(samples[0]!.breakdown).map((key) => [key, med((s) => s.breakdown[key as keyof typeof s.breakdown])])),
          ...(samples.every((s) => s.cpuMs !== undefined) ? { cpuMs: med((s) => s.cpuMs!) } : {}),
          samplesAfterHoldoffMs: samples.map((s) => round(s.afterHoldoffMs)),
          resourcesPerClient: samples.at(-1)?.resourcesPerClient,
          bytesPerClient: samples.at(-1)?.bytesPerClient,
          // Classic route configuration vs VHDS clients, in the same run (pipeline-latency.ts).
          groups: Object.fromEntries(
            Object.keys(samples[0]!.groups ?? {}).map((group) => {
              const of = (s: (typeof samples)[number]) => s.groups[group as keyof typeof s.groups]!;
              const last = samples.at(-1)!;
              return [group, { clients: of(last).clients, afterHoldoffMs: med((s) => of(s).afterHoldoffMs), resourcesPerClient: of(last).resourcesPerClient, bytesPerClient: of(last).bytesPerClient }];
            }),
          ),
        },
      ];
    }),
  );
  return {
    clients: l.clients,
    holdoffMs: l.holdoffMs,
    counts: l.counts,
    firstSnapshotMs: round(l.firstSnapshotMs),
    stormMs: round(l.stormMs),
    fullSetBytesPerClient: l.fullSetBytesPerClient,
    serverRssMiB: mib(l.serverRss),
    serverRssAfterGcMiB: mib(l.serverRssAfterGc),
    serverMaxRssMiB: mib(l.serverMaxRss),
    firstSnapshotRssMiB: mib(l.firstSnapshotRss),
    firstSnapshotMaxRssMiB: mib(l.firstSnapshotMaxRss),
    changes: byKind,
    samples: l.samples,
  };
}
