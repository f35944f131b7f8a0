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
import { emit, serveCommands, startChild } from "./child.ts";
import type { KubeObject } from "../src/sources/types.ts";
import { namespaceOf } from "../test/fake-apiserver/dataset.ts";
import { instrumentStore } from "./pipeline-child.ts";
import { measureLatency } from "./pipeline-latency.ts";
import { summarizeLatency } from "./pipeline-report.ts";
import { breakdown } from "./rebuild.ts";

/** Delta clients at sizes over 10k Ingresses (see runKube). */
const maxClientsPast10k = 10;

/** The dataset's namespace count (test/fake-apiserver/dataset.ts's default). */
const datasetNamespaces = 100;

const here = import.meta.dirname;

export interface KubeBenchOptions {
  smoke: boolean;
  /** Ingresses (each with its Service and EndpointSlice); several make a curve, measured in one run. */
  sizes?: number[];
  /** Delta clients for the edited Ingress (0: none). */
  clients?: number;
  /** Of those, how many keep the classic route configuration (`--classic N`; default half); the others take VHDS, as Envoy on delta ADS does. */
  classicClients?: number;
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
  /** The steady RSS after idling until it stops falling (the allocator returning the first build's freed peak). */
  settledRssMiB: number;
  steadyHeapUsedMiB: number;
  steadyArrayBuffersMiB: number;
  objects: Record<string, number>;
}

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

/** The agent side, in a child process: the real agent (startAgent: cache, pipeline with NACK feedback, snapshot store with SDS scoping, xDS server) fed by the Kubernetes source; then the status writer. */
async function agentMain(kubeconfigPath: string, apps: number): Promise<void> {
  const namespaces = datasetNamespaces;
  void apps;
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
  const marks = instrumentStore(store);
  if (store.published) throw new Error("bench kube: published before the source synced");
  // Times the store's publish (encode, hash, consistency), which the build's own timings leave out.
  let publishMs = 0;
  let publishStartMs = 0;
  const publish = store.publish.bind(store);
  store.publish = (set, delta) => {
    const t0 = performance.now();
    try {
      return publish(set, delta);
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
  // Then idle: the allocator gives back what the first build's peak left free, over a few seconds.
  // Sampled each second until it has not fallen for three samples (at most 15 s): what a running agent settles at.
  let settled = memory.rss;
  for (let waited = 0, still = 0; waited < 15 && still < 3; waited++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const rss = process.memoryUsage.rss();
    still = rss < settled * 0.995 ? 0 : still + 1;
    settled = Math.min(settled, rss);
  }
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
    settledRssMiB: mib(settled),
    steadyHeapUsedMiB: mib(memory.heapUsed),
    steadyArrayBuffersMiB: mib(memory.arrayBuffers),
    objects: cache.counts(),
  };
  await writer.stop();
  // On stderr too, so the figures outlive a run stopped during the client phase.
  console.error(`kube agent: ${JSON.stringify(run)}`);
  // Then the same agent serves delta clients (pipeline-latency.ts, in the bench process): one
  // Ingress edited through the API server, as kubectl would, until every client has it.
  const { TypeUrls } = await import("../src/xds/types.ts");
  const { createKubeClient } = await import("../src/k8s/client.ts");
  const client = createKubeClient(kubeConfig);
  const epochNow = () => performance.timeOrigin + performance.now();
  serveCommands(async (command) => {
    switch (command.cmd) {
      case "change": {
        const index = command.index as number;
        const path = `/apis/networking.k8s.io/v1/namespaces/${namespaceOf(index, namespaces)}/ingresses/app-${index}`;
        const ingress = await client.request<KubeObject & { spec: { rules: Array<{ http: { paths: unknown[] } }> } }>("GET", path);
        ingress.spec.rules[0]!.http.paths.push({ path: `/changed-${String(command.generation)}`, pathType: "Prefix", backend: { service: { name: `app-${index}`, port: { number: 80 } } } });
        const done = new Promise<Record<string, unknown>>((resolve) => {
          const off = pipeline.onBuild((e) => (off(), resolve({ publishedAt: epochNow(), cpuAt: process.cpuUsage(), timings: e.result.timings, ...marks })));
        });
        const cpu = process.cpuUsage();
        const appliedAt = epochNow();
        await client.request("PUT", path, { body: ingress });
        const { cpuAt, ...answer } = await done;
        const used = process.cpuUsage(cpu);
        void cpuAt;
        return { event: "changed", appliedAt, cpuMs: Math.round((used.user + used.system) / 100) / 10, ...answer };
      }
      case "memory": {
        const before = process.memoryUsage();
        Bun.gc(true);
        return { event: "memory", rss: before.rss, heapUsed: before.heapUsed, rssAfterGc: process.memoryUsage().rss, maxRss: maxRss(), streams: agent.server.streams() };
      }
      case "exit":
        client.close();
        await agent.close(0);
        process.exit(0);
    }
    return { event: "error", message: `unknown command ${String(command.cmd)}` };
  });
  emit({
    event: "ready",
    ...run,
    port: agent.server.port,
    edsNames: [...store.resources(TypeUrls.endpoint).keys()],
    routeNames: [...store.resources(TypeUrls.route).keys()],
    counts: Object.fromEntries([TypeUrls.listener, TypeUrls.route, TypeUrls.cluster, TypeUrls.endpoint, TypeUrls.virtualHost].map((url) => [url.slice(url.lastIndexOf(".") + 1), store.resources(url).size])),
  });
}

const runFields = (ready: Record<string, unknown>): AgentRun => {
  const { event: _event, port: _port, edsNames: _eds, routeNames: _routes, counts: _counts, ...run } = ready;
  return run as unknown as AgentRun;
};

/** One agent process on the API server; with clients, also one edited Ingress until every delta client has it. */
async function agentRun(kubeconfigPath: string, size: number, clients: number, classicClients = Math.floor(clients / 2)): Promise<KubeRun> {
  const args = ["agent", kubeconfigPath, String(size)];
  if (clients === 0) {
    const agent = startChild(join(here, "kube.ts"), args);
    const run = runFields(await agent.ready);
    await agent.stop();
    return run;
  }
  const changes = [0, 1, 2].map((i) => ({ kind: "ingress" as const, index: (i * 7919 + 11) % size }));
  // By default half the clients keep the classic route configuration, half take VHDS: both in one run.
  const latency = await measureLatency({ fixture: "ingress", size }, { clients, classicClients: Math.min(clients, classicClients), holdoffMs: 100, changes }, { script: join(here, "kube.ts"), args });
  return { ...runFields(latency.agentReady), change: summarizeLatency(latency) };
}

/** The scenario as bench/run.ts calls it: `npm run bench -- kube [--smoke] [--size N]`. */
export async function run(argv: string[] = []): Promise<void> {
  await runKube(parseOptions(argv));
}

/** Runs the scenario; writes bench/results/kube-<sizes>.json, prints a table per size, returns the results. */
export async function runKube(options: KubeBenchOptions): Promise<object> {
  const sizes = options.sizes ?? (options.smoke ? [200] : [10_000]);
  const clients = options.clients ?? (options.smoke ? 5 : 100);
  const label = options.smoke && options.sizes === undefined ? "smoke" : sizes.join("-");
  const results = [];
  // Each client's full set is held by the bench process while it arrives (tens of MB at 100k
  // objects): past 10k Ingresses the clients are capped so 100 of them do not take ~8 GiB here.
  for (const apps of sizes) results.push(await runSize(apps, apps > 10_000 ? Math.min(clients, maxClientsPast10k) : clients, options.classicClients));
  const out = results.length === 1 ? results[0]! : { scenario: "kube", sizes, clients, results };
  console.error(`wrote ${writeResultFile("kube", label, out)}`);
  return out;
}

/** One size: a fresh API server; the agent with the unrelated Secrets and (up to 10k) again without them. */
async function runSize(apps: number, clients: number, classicClients?: number) {
  // The unrelated Secrets measure a per-Secret cost: their count stops growing past 10k Ingresses
  // (at 100k, 50k Secrets of 16 KiB would be the API server's memory, not the agent's).
  const dataset = { apps, tlsSecrets: apps / 2, unrelatedSecrets: Math.min(apps / 2, 5000), unrelatedKiB: 16, helmReleases: Math.min(apps / 10, 1000) };
  const server = startChild(join(here, "..", "test", "fake-apiserver", "serve.ts"), [dataset.apps, dataset.tlsSecrets, dataset.unrelatedSecrets, dataset.unrelatedKiB, dataset.helmReleases].map(String));
  const ready = await server.ready;
  const kubeconfigPath = ready.kubeconfigPath as string;
  try {
    console.error(`kube bench: ${apps} Ingresses, ${clients} delta clients`);
    const withUnrelated = await agentRun(kubeconfigPath, apps, clients, classicClients);
    const written = await server.request({ cmd: "statusCount" });
    const serverMemory = await server.request({ cmd: "memory" });
    let withoutUnrelated: AgentRun | undefined;
    if (apps <= 10_000) {
      // The second run does the same work (statuses cleared, so all are written again) without them.
      await server.request({ cmd: "reset", deleteUnrelated: true });
      withoutUnrelated = await agentRun(kubeconfigPath, apps, 0);
    }
    const result = {
      scenario: "kube",
      size: String(apps),
      dataset,
      serverObjects: ready.counts,
      serverRssMiB: { loaded: mib(ready.rss as number), afterRun: mib(serverMemory.rss as number) },
      ingressesWithStatus: written.withStatus,
      statusWrites: written.statusWrites,
      withUnrelated,
      withoutUnrelated,
      // RSS keeps what the allocator once held (the build's peak), so it is noisy; the JS heap is not.
      unrelatedSecretsCostMiB: withoutUnrelated ? Math.round((withUnrelated.steadyRssMiB - withoutUnrelated.steadyRssMiB) * 10) / 10 : undefined,
      unrelatedSecretsHeapCostMiB: withoutUnrelated ? Math.round((withUnrelated.steadyHeapUsedMiB - withoutUnrelated.steadyHeapUsedMiB) * 10) / 10 : undefined,
    };
    printTable(result);
    return result;
  } finally {
    await server.stop();
  }
}

function parseOptions(argv: string[]): KubeBenchOptions {
  const { values } = parseArgs({ args: argv, options: { smoke: { type: "boolean" }, size: { type: "string" }, clients: { type: "string" }, classic: { type: "string" } }, allowPositionals: true, strict: false });
  const smoke = values.smoke === true || values.size === "smoke" || process.env.BENCH_SIZE === "smoke";
  const sizes = typeof values.size === "string" && values.size !== "smoke" ? values.size.split(",").map(Number) : undefined;
  const clients = typeof values.clients === "string" ? Number(values.clients) : undefined;
  const classicClients = typeof values.classic === "string" ? Number(values.classic) : undefined;
  return { smoke, sizes, clients, classicClients };
}

type KubeRun = AgentRun & { change?: ReturnType<typeof summarizeLatency> };

function printTable(result: { size: string; withUnrelated: KubeRun; withoutUnrelated?: AgentRun; unrelatedSecretsCostMiB?: number; unrelatedSecretsHeapCostMiB?: number; ingressesWithStatus: unknown }): void {
  const runs: AgentRun[] = result.withoutUnrelated ? [result.withUnrelated, result.withoutUnrelated] : [result.withUnrelated];
  const row = (name: string, pick: (run: AgentRun) => string): string[] => [name, ...runs.map(pick)];
  const change = result.withUnrelated.change?.changes.ingress;
  const rows: string[][] = [
    row("sync (every kind listed)", (r) => `${r.syncMs} ms`),
    row("first snapshot", (r) => `${r.firstSnapshotMs} ms`),
    row("  sync → build start", (r) => `${r.waitMs} ms`),
    row("  the build", (r) => `${r.buildMs} ms`),
    row("  the publish (encode)", (r) => `${r.publishMs} ms`),
    row("status pass", (r) => `${r.statusMs} ms (${r.statusWritten} written)`),
    row("RSS baseline", (r) => `${r.baselineRssMiB} MiB`),
    row("RSS peak to first snapshot", (r) => `${r.firstSnapshotPeakRssMiB} MiB`),
    row("RSS peak", (r) => `${r.peakRssMiB} MiB`),
    row("RSS at first snapshot (after GC)", (r) => `${r.firstSnapshotRssMiB} MiB`),
    row("RSS steady (after GC)", (r) => `${r.steadyRssMiB} MiB`),
    row("RSS settled (then idle)", (r) => `${r.settledRssMiB} MiB`),
    row("JS heap steady", (r) => `${r.steadyHeapUsedMiB} MiB`),
  ];
  if (change) {
    rows.push(["edited Ingress, after the holdoff", `${change.afterHoldoffMs} ms to ${result.withUnrelated.change!.clients} delta clients`]);
    rows.push(["  wait/build/store/notify/deliver", breakdown(change.breakdown)]);
    rows.push(["  agent CPU, per client bytes", `${change.cpuMs ?? "-"} ms, ${JSON.stringify(change.bytesPerClient ?? {})}`]);
    for (const [group, sample] of Object.entries(change.groups ?? {})) {
      rows.push([`  ${group} clients (${sample.clients})`, `${sample.afterHoldoffMs} ms after the holdoff, per client bytes ${JSON.stringify(sample.bytesPerClient)}`]);
    }
  }
  const width = Math.max(...rows.map((r) => r[0]!.length));
  console.log(`\nkube (${result.size})  with unrelated Secrets${result.withoutUnrelated ? " | without" : ""}`);
  for (const [name, ...values] of rows) console.log(`${name!.padEnd(width)}  ${values.map((v) => v.padEnd(28)).join(" ")}`);
  if (result.withoutUnrelated) console.log(`unrelated Secrets cost: ${result.unrelatedSecretsHeapCostMiB} MiB of JS heap, ${result.unrelatedSecretsCostMiB} MiB of RSS (noisy)`);
  console.log(`Ingresses with status: ${String(result.ingressesWithStatus)}\n`);
}

if (import.meta.main && process.argv[2] === "agent") await agentMain(process.argv[3]!, Number(process.argv[4]));
else if (import.meta.main) {
  await run(process.argv.slice(2));
  process.exit(0);
}
