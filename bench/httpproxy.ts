// `npm run bench -- httpproxy`: HTTPProxy delegation trees, default 1k namespaces of 10 proxies each
// (10k HTTPProxies): per namespace one root whose includes reach three levels deep into other
// namespaces, with prefix and header conditions and weighted services (see fixtures.ts). Measures
// the full rebuild (the DAG stage computes every proxy's status), RSS, and one changed leaf proxy
// (and one EndpointSlice) delivered to N delta clients by the real agent.
// Results: bench/results/httpproxy-<namespaces>.json and a printed table. See bench/README.md.
import { parseOptions } from "./pipeline-report.ts";
import { breakdown, editRows, printRows, runPipelineScenario, writeResults } from "./rebuild.ts";

export async function run(argv: string[]): Promise<void> {
  const options = parseOptions(argv, { sizes: [1000], smokeSizes: [10] });
  const results = await runPipelineScenario(options, { name: "httpproxy", fixture: "httpproxy", describe: (size) => `${size * 10} HTTPProxies in ${size} namespaces` });
  const col = (pick: (s: (typeof results)[number]) => string) => results.map(pick);
  const leaf = (s: (typeof results)[number]) => s.latency?.changes.proxy;
  const slice = (s: (typeof results)[number]) => s.latency?.changes.slice;
  printRows("httpproxy", [
    ["HTTPProxies / namespaces", ...col((s) => `${s.build.objects.HTTPProxy} / ${s.size}`)],
    ["statuses (not valid)", ...col((s) => `${s.build.statuses} (${s.build.notValid})`)],
    ["resources", ...col((s) => JSON.stringify(s.build.resources))],
    ["full rebuild warm (median) ms", ...col((s) => `${s.build.warm.totalMs}`)],
    ["  dag incl. status / translate", ...col((s) => `${s.build.warm.dagMs} / ${s.build.warm.translateMs}`)],
    ["  endpoints / validate / publish", ...col((s) => `${s.build.warm.endpointsMs} / ${s.build.warm.validateMs} / ${s.build.warm.publishMs}`)],
    ["  status.all() ms", ...col((s) => `${s.build.warm.statusAllMs}`)],
    ["full rebuild first ms (dag)", ...col((s) => `${s.build.first.totalMs} (${s.build.first.dagMs})`)],
    ...editRows(results),
    ["rebuild into live store ms", ...col((s) => `${s.build.liveRepublish.totalMs}`)],
    ["encode alone: fromObject+encode ms", ...col((s) => `${s.build.encodeWarm.fromObjectEncodeMs}`)],
    ["rebuild / fromObject+encode", ...col((s) => `${s.build.ratios.warmRebuildVsFromObjectEncode}×`)],
    ["RSS cache loaded / after 1st / steady", ...col((s) => `${s.build.memory.baselineRssMiB} / ${s.build.memory.firstRebuildRssMiB} / ${s.build.memory.steadyRssMiB}`)],
    ["peak RSS: rebuilds / +encode bench", ...col((s) => `${s.build.memory.maxRssRebuildsMiB} / ${s.build.memory.maxRssMiB}`)],
    ["agent RSS at 1st snapshot (peak)", ...col((s) => `${s.latency?.firstSnapshotRssMiB ?? "-"} (${s.latency?.firstSnapshotMaxRssMiB ?? "-"})`)],
    ["clients", ...col((s) => String(s.latency?.clients ?? "-"))],
    ["leaf proxy change after holdoff ms", ...col((s) => `${leaf(s)?.afterHoldoffMs ?? "-"}`)],
    ["  publish(incl. holdoff) / fan-out", ...col((s) => `${leaf(s)?.publishMs ?? "-"} / ${leaf(s)?.fanOutMs ?? "-"}`)],
    ["  wait/build/store/notify/deliver", ...col((s) => breakdown(leaf(s)?.breakdown))],
    ["  per client: resources / bytes", ...col((s) => `${JSON.stringify(leaf(s)?.resourcesPerClient ?? {})} / ${JSON.stringify(leaf(s)?.bytesPerClient ?? {})}`)],
    ["EndpointSlice change ms", ...col((s) => `${slice(s)?.totalMs ?? "-"}`)],
    ["  wait/build/store/notify/deliver", ...col((s) => breakdown(slice(s)?.breakdown))],
    ["agent RSS with clients (after GC) MiB", ...col((s) => `${s.latency?.serverRssMiB ?? "-"} (${s.latency?.serverRssAfterGcMiB ?? "-"})`)],
  ]);
  writeResults("httpproxy", { options, results, extra: { targets: { fullRebuildMs: 1500, rssMiB: 600, leafAfterHoldoffMs: 50 } } });
}

if (import.meta.main) {
  await run(process.argv.slice(2));
  process.exit(0);
}
