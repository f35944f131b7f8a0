// `npm run bench -- kube`: the Kubernetes source, pipeline and status writer against the fake API
// server (a child process, over HTTPS with its CA), at 10k Ingresses with their Services and
// EndpointSlices, 5k TLS Secrets, 5k large unrelated Opaque Secrets and 1k Helm releases. The agent
// side runs in its own child process too (this file with `agent`), twice: with the unrelated Secrets
// and without them, so their RSS cost is a difference of two clean processes.
// Results: bench/results/kube-<size>.json and a printed table.
import { writeResultFile } from "./results-file.ts";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { BuildEvent } from "../src/pipeline/run.ts";
import type { Source } from "../src/sources/types.ts";
import { emit, startChild } from "./child.ts";

const here = import.meta.dirname;

export interface KubeBenchOptions {
  smoke: boolean;
  size?: number;
}

interface AgentRun {
  /** From starting the source until every kind was listed. */
  syncMs: number;
  /** From starting the source until the first snapshot was published. */
  firstSnapshotMs: number;
  /** From the sync until the first build started (the debounce's flush). */
  waitMs: number;
  /** buildResources: DAG, translate, endpoints, validate. */
  buildMs: number;
  buildStagesMs: Record<string, number>;
  /** The snapshot store's first publish: encode, hash, consistency. */
  publishMs: number;
  /** Status written on every object the build reported on (from the first snapshot). */
  statusMs: number;
  statusWritten: number;
  statusSkipped: number;
  statusFailed: number;
  /** Full rebuilds the status writes' own watch events caused (status-only changes). */
  rebuildsDuringStatus: number;
  rebuildsAfterStatus: number;
  baselineRssMiB: number;
  /** The process's RSS high-water mark (the kernel's) at the first snapshot, and at the end. */
  firstSnapshotPeakRssMiB: number;
  peakRssMiB: number;
  /** Right after the first snapshot, after a full GC. */
  firstSnapshotRssMiB: number;
  firstSnapshotHeapUsedMiB: number;
  /** After the status pass, its watch events absorbed, and a full GC. */
  steadyRssMiB: number;
  steadyHeapUsedMiB: number;
  steadyArrayBuffersMiB: number;
  objects: Record<string, number>;
}

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** The agent side, in a child process: the real agent (startAgent: cache, pipeline with NACK feedback, snapshot store with SDS scoping, xDS server) fed by the Kubernetes source; then the status writer. */
async function agentMain(kubeconfigPath: string): Promise<void> {
  const { createKubernetesSource } = await import("../src/sources/kubernetes.ts");
  const { startAgent } = await import("../src/agent/agent.ts");
  const { createStatusWriter, lookupFromCache } = await import("../src/status/status.ts");
  const { loadKubeConfig } = await import("../src/k8s/kubeconfig.ts");
  const { consola, LogLevels } = await import("consola");
  consola.level = LogLevels.error;
  Bun.gc(true);
  const baseline = process.memoryUsage().rss;
  // The kernel's high-water mark (KiB): a sampling timer would miss the synchronous build's peak.
  const maxRss = () => process.resourceUsage().maxRSS * 1024;

  const { kubeConfig } = loadKubeConfig({ kubeconfig: kubeconfigPath });
  const kubernetes = createKubernetesSource({ kubeConfig });
  const start = performance.now();
  let syncMs = 0;
  // The agent starts the source; this wrapper only notes when every kind was listed.
  const source: Source = {
    name: kubernetes.name,
    start: (handler) =>
      kubernetes.start({
        ...handler,
        onSynced() {
          syncMs = performance.now() - start;
          handler.onSynced();
        },
      }),
    stop: () => kubernetes.stop(),
  };
  const agent = await startAgent({
    address: "127.0.0.1",
    port: 0,
    sources: [source],
    dag: { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => new Date() },
    holdoffMs: 100,
    maxDelayMs: 500,
  });
  const { pipeline, cache, store } = agent;
  if (store.published) throw new Error("bench kube: published before the source synced");
  // Times the store's publish (encode, hash, consistency), which the build's own timings leave out.
  let publishMs = 0;
  let publishStartMs = 0;
  const publish = store.publish.bind(store);
  store.publish = (set) => {
    const t0 = performance.now();
    try {
      return publish(set);
    } finally {
      if (publishStartMs === 0) {
        publishStartMs = t0 - start;
        publishMs = performance.now() - t0;
      }
    }
  };
  const firstBuild = new Promise<BuildEvent>((resolve) => {
    const off = pipeline.onBuild((event) => {
      off();
      resolve(event);
    });
  });
  const { result } = await firstBuild;
  const firstSnapshotMs = performance.now() - start;
  const firstSnapshotPeak = maxRss();
  Bun.gc(true);
  const afterSnapshot = process.memoryUsage();

  const writer = createStatusWriter({ kubeConfig, isLeader: () => true, loadBalancer: { ip: "192.0.2.10" } });
  let rebuilds = 0;
  pipeline.onBuild(() => rebuilds++);
  const statusStart = performance.now();
  writer.update(result.statuses, lookupFromCache(cache));
  await writer.idle();
  const statusMs = performance.now() - statusStart;
  const rebuildsDuringStatus = rebuilds;
  const stats = writer.stats();
  // Let the watch deliver the status changes (and any rebuild they cause) before measuring.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await pipeline.flush();
  Bun.gc(true);
  const memory = process.memoryUsage();
  const buildMs = result.timings.total;
  const run: AgentRun = {
    syncMs: Math.round(syncMs),
    firstSnapshotMs: Math.round(firstSnapshotMs),
    // Build start is inferred: the publish follows the build (and NACK feedback's apply, a no-op here).
    waitMs: Math.round(publishStartMs - buildMs - syncMs),
    buildMs: Math.round(buildMs),
    buildStagesMs: Object.fromEntries(Object.entries(result.timings).map(([stage, ms]) => [stage, Math.round(ms)])),
    publishMs: Math.round(publishMs),
    statusMs: Math.round(statusMs),
    statusWritten: stats.written,
    statusSkipped: stats.skipped,
    statusFailed: stats.failed,
    rebuildsDuringStatus,
    rebuildsAfterStatus: rebuilds - rebuildsDuringStatus,
    baselineRssMiB: mib(baseline),
    firstSnapshotPeakRssMiB: mib(firstSnapshotPeak),
    peakRssMiB: mib(maxRss()),
    firstSnapshotRssMiB: mib(afterSnapshot.rss),
    firstSnapshotHeapUsedMiB: mib(afterSnapshot.heapUsed),
    steadyRssMiB: mib(memory.rss),
    steadyHeapUsedMiB: mib(memory.heapUsed),
    steadyArrayBuffersMiB: mib(memory.arrayBuffers),
    objects: cache.counts(),
  };
  await writer.stop();
  await agent.close(0);
  emit({ event: "done", ...run });
  process.exit(0);
}

async function agentRun(kubeconfigPath: string): Promise<AgentRun> {
  const agent = startChild(join(here, "kube.ts"), ["agent", kubeconfigPath]);
  const { event: _event, ...run } = await agent.ready;
  return run as unknown as AgentRun;
}

/** The scenario as bench/run.ts calls it: `npm run bench -- kube [--smoke] [--size N]`. */
export async function run(argv: string[] = []): Promise<void> {
  await runKube(parseOptions(argv));
}

/** Runs the scenario; writes bench/results/kube-<size>.json, prints a table, returns the result. */
export async function runKube(options: KubeBenchOptions): Promise<object> {
  const apps = options.size ?? (options.smoke ? 200 : 10_000);
  const label = options.smoke && options.size === undefined ? "smoke" : String(apps);
  const dataset = { apps, tlsSecrets: apps / 2, unrelatedSecrets: apps / 2, unrelatedKiB: 16, helmReleases: apps / 10 };
  const server = startChild(join(here, "..", "test", "fake-apiserver", "serve.ts"), [dataset.apps, dataset.tlsSecrets, dataset.unrelatedSecrets, dataset.unrelatedKiB, dataset.helmReleases].map(String));
  const ready = await server.ready;
  const kubeconfigPath = ready.kubeconfigPath as string;
  try {
    const withUnrelated = await agentRun(kubeconfigPath);
    const written = await server.request({ cmd: "statusCount" });
    // The second run does the same work (statuses cleared, so all are written again) without them.
    await server.request({ cmd: "reset", deleteUnrelated: true });
    const withoutUnrelated = await agentRun(kubeconfigPath);
    const result = {
      scenario: "kube",
      size: label,
      dataset,
      serverObjects: ready.counts,
      ingressesWithStatus: written.withStatus,
      statusWrites: written.statusWrites,
      withUnrelated,
      withoutUnrelated,
      // RSS keeps what the allocator once held (the build's peak), so it is noisy; the JS heap is not.
      unrelatedSecretsCostMiB: Math.round((withUnrelated.steadyRssMiB - withoutUnrelated.steadyRssMiB) * 10) / 10,
      unrelatedSecretsHeapCostMiB: Math.round((withUnrelated.steadyHeapUsedMiB - withoutUnrelated.steadyHeapUsedMiB) * 10) / 10,
    };
    console.error(`wrote ${writeResultFile("kube", label, result)}`);
    printTable(result);
    return result;
  } finally {
    await server.stop();
  }
}

function parseOptions(argv: string[]): KubeBenchOptions {
  const { values } = parseArgs({ args: argv, options: { smoke: { type: "boolean" }, size: { type: "string" } }, allowPositionals: true, strict: false });
  const smoke = values.smoke === true || values.size === "smoke" || process.env.BENCH_SIZE === "smoke";
  const size = typeof values.size === "string" && values.size !== "smoke" ? Number(values.size) : undefined;
  return { smoke, size };
}

function printTable(result: { size: string; withUnrelated: AgentRun; withoutUnrelated: AgentRun; unrelatedSecretsCostMiB: number; unrelatedSecretsHeapCostMiB: number; ingressesWithStatus: unknown }): void {
  const rows: [string, string, string][] = [
    ["sync (every kind listed)", `${result.withUnrelated.syncMs} ms`, `${result.withoutUnrelated.syncMs} ms`],
    ["first snapshot", `${result.withUnrelated.firstSnapshotMs} ms`, `${result.withoutUnrelated.firstSnapshotMs} ms`],
    ["  sync → build start", `${result.withUnrelated.waitMs} ms`, `${result.withoutUnrelated.waitMs} ms`],
    ["  the build", `${result.withUnrelated.buildMs} ms`, `${result.withoutUnrelated.buildMs} ms`],
    ["  the publish (encode)", `${result.withUnrelated.publishMs} ms`, `${result.withoutUnrelated.publishMs} ms`],
    ["status pass", `${result.withUnrelated.statusMs} ms (${result.withUnrelated.statusWritten} written)`, `${result.withoutUnrelated.statusMs} ms (${result.withoutUnrelated.statusWritten} written)`],
    ["RSS baseline", `${result.withUnrelated.baselineRssMiB} MiB`, `${result.withoutUnrelated.baselineRssMiB} MiB`],
    ["RSS peak to first snapshot", `${result.withUnrelated.firstSnapshotPeakRssMiB} MiB`, `${result.withoutUnrelated.firstSnapshotPeakRssMiB} MiB`],
    ["RSS peak", `${result.withUnrelated.peakRssMiB} MiB`, `${result.withoutUnrelated.peakRssMiB} MiB`],
    ["RSS at first snapshot (after GC)", `${result.withUnrelated.firstSnapshotRssMiB} MiB`, `${result.withoutUnrelated.firstSnapshotRssMiB} MiB`],
    ["RSS steady (after GC)", `${result.withUnrelated.steadyRssMiB} MiB`, `${result.withoutUnrelated.steadyRssMiB} MiB`],
    ["JS heap steady", `${result.withUnrelated.steadyHeapUsedMiB} MiB`, `${result.withoutUnrelated.steadyHeapUsedMiB} MiB`],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`\nkube (${result.size})              with unrelated Secrets | without`);
  for (const [name, a, b] of rows) console.log(`${name.padEnd(width)}  ${a.padEnd(28)} ${b}`);
  console.log(`unrelated Secrets cost: ${result.unrelatedSecretsHeapCostMiB} MiB of JS heap, ${result.unrelatedSecretsCostMiB} MiB of RSS (noisy); Ingresses with status: ${String(result.ingressesWithStatus)}\n`);
}

if (import.meta.main && process.argv[2] === "agent") await agentMain(process.argv[3]!);
else if (import.meta.main) {
  await run(process.argv.slice(2));
  process.exit(0);
}
