// `npm run bench -- gateway`: Gateway API at scale, default one Gateway (HTTP listener, port 80) with
// 10k HTTPRoutes (one hostname, three rules each) in 1k namespaces (see fixtures.ts). Measures the
// full rebuild (the DAG stage computes every route's and the Gateway's status) with its CPU, RSS, and
// one changed HTTPRoute (and one EndpointSlice) delivered to N delta clients by the real agent.
// Results: bench/results/gateway-<namespaces>.json and a printed table. See bench/README.md.
import { gatewayRoutesPerNamespace } from "./fixtures.ts";
import { parseOptions } from "./pipeline-report.ts";
import { breakdown, editRows, printRows, runPipelineScenario, writeResults } from "./rebuild.ts";

export async function run(argv: string[]): Promise<void> {
  const options = parseOptions(argv, { sizes: [1000], smokeSizes: [10] });
  const results = await runPipelineScenario(options, { name: "gateway", fixture: "gateway", describe: (size) => `${size * gatewayRoutesPerNamespace} HTTPRoutes in ${size} namespaces` });
  const col = (pick: (s: (typeof results)[number]) => string) => results.map(pick);
  const route = (s: (typeof results)[number]) => s.latency?.changes.route;
  const slice = (s: (typeof results)[number]) => s.latency?.changes.slice;
  printRows("gateway", [
    ["HTTPRoutes / namespaces", ...col((s) => `${s.build.objects.HTTPRoute} / ${s.size}`)],
    ["statuses (not valid)", ...col((s) => `${s.build.statuses} (${s.build.notValid})`)],
    ["resources", ...col((s) => JSON.stringify(s.build.resources))],
    ["full rebuild warm (median) ms", ...col((s) => `${s.build.warm.totalMs}`)],
    ["  dag incl. status / translate", ...col((s) => `${s.build.warm.dagMs} / ${s.build.warm.translateMs}`)],
    ["  endpoints / validate / publish", ...col((s) => `${s.build.warm.endpointsMs} / ${s.build.warm.validateMs} / ${s.build.warm.publishMs}`)],
    ["full rebuild warm CPU ms (median)", ...col((s) => `${s.build.warm.cpuMs}`)],
    ["full rebuild first ms (dag)", ...col((s) => `${s.build.first.totalMs} (${s.build.first.dagMs})`)],
    ...editRows(results),
    ["rebuild into live store ms", ...col((s) => `${s.build.liveRepublish.totalMs}`)],
    ["RSS cache loaded / after 1st / steady", ...col((s) => `${s.build.memory.baselineRssMiB} / ${s.build.memory.firstRebuildRssMiB} / ${s.build.memory.steadyRssMiB}`)],
    ["peak RSS: rebuilds / +encode bench", ...col((s) => `${s.build.memory.maxRssRebuildsMiB} / ${s.build.memory.maxRssMiB}`)],
    ["agent RSS at 1st snapshot (peak)", ...col((s) => `${s.latency?.firstSnapshotRssMiB ?? "-"} (${s.latency?.firstSnapshotMaxRssMiB ?? "-"})`)],
    ["clients", ...col((s) => String(s.latency?.clients ?? "-"))],
    ["HTTPRoute change after holdoff ms", ...col((s) => `${route(s)?.afterHoldoffMs ?? "-"}`)],
    ["  publish(incl. holdoff) / fan-out", ...col((s) => `${route(s)?.publishMs ?? "-"} / ${route(s)?.fanOutMs ?? "-"}`)],
    ["  wait/build/store/notify/deliver", ...col((s) => breakdown(route(s)?.breakdown))],
    ["  per client: resources / bytes", ...col((s) => `${JSON.stringify(route(s)?.resourcesPerClient ?? {})} / ${JSON.stringify(route(s)?.bytesPerClient ?? {})}`)],
    ["EndpointSlice change ms", ...col((s) => `${slice(s)?.totalMs ?? "-"}`)],
    ["agent RSS with clients (after GC) MiB", ...col((s) => `${s.latency?.serverRssMiB ?? "-"} (${s.latency?.serverRssAfterGcMiB ?? "-"})`)],
  ]);
  writeResults("gateway", { options, results, extra: { targets: { fullRebuildMs: 1000, rssMiB: 600 } } });
}

if (import.meta.main) {
  await run(process.argv.slice(2));
  process.exit(0);
}
