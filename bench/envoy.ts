// `npm run bench -- envoy`: from a changed object to real Envoys serving it. The real agent
// (startAgent, in this process) is fed by an in-memory source with the rebuild bench's Ingress cluster
// (default 1k and 10k Ingresses), whose EndpointSlices point at a local echo backend "a"; one to four
// real Envoy 1.40 processes connect over delta ADS. Each change is applied to the source, and a
// request loop per Envoy (HTTP/1.1 keep-alive, one connection pinned to that Envoy) asks until it
// sees the new answer:
//   - Ingress change: Ingress app-K gains a path /changed-G to Service bench-b (echo "b"); the loop
//     asks app-K's host for /changed-G/x, answered by "a" (the "/" path) until the change is served;
//   - endpoint change: the EndpointSlice of app-J moves to echo "b"; the loop asks app-J's host for /.
// Also: each Envoy's RSS with the whole config loaded. Results: bench/results/envoy-<sizes>.json; at
// smoke size (--smoke) a temporary directory (writeResultFile: CI must not touch tracked files). The
// backends are on 127.0.0.1, so the agent allows loopback endpoints (`--allow-loopback-endpoints`).
// See bench/README.md.
import { writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { consola, LogLevels } from "consola";
import type { KubeObject, Source, SourceEvent, SourceHandler } from "../src/sources/types.ts";
import { startEcho, type EchoBackend } from "../test/e2e/echo.ts";
import { freePorts, startEnvoy, type EnvoyProcess } from "../test/e2e/harness.ts";
import * as fixtures from "./fixtures.ts";
import { median } from "./pipeline-report.ts";
import { writeResultFile } from "./results-file.ts";
import { TypeUrls } from "../src/xds/types.ts";

interface EnvoyBenchOptions {
  smoke: boolean;
  sizes: number[];
  envoys: number[];
  changes: number;
  holdoffMs: number;
  label: string;
  /** Envoys keep the classic route configuration (node metadata isobar.vhds: false) instead of VHDS. */
  classic: boolean;
  /** Milliseconds between a request loop's requests (--poll-gap; 0: back to back). */
  pollGapMs: number;
  /** Extra Envoy flags (`--envoy-args="--component-log-level config:debug,rds:debug"`). */
  envoyArgs: string[];
  /** Prints each Ingress change's timeline (build, the xDS responses and ACKs per Envoy, when it was served). */
  trace: boolean;
}

/** Keeps an Envoy on the classic route configuration: VHDS off in its node metadata (src/xds/vhds.ts). */
function classicNode(bootstrap: Record<string, unknown>): void {
  const node = bootstrap.node as { metadata?: Record<string, unknown> };
  node.metadata = { ...node.metadata, "isobar.vhds": false };
}

function parseOptions(argv: string[]): EnvoyBenchOptions {
  const { values } = parseArgs({ args: argv, options: { smoke: { type: "boolean", default: false }, size: { type: "string" }, envoys: { type: "string" }, changes: { type: "string" }, holdoff: { type: "string" }, classic: { type: "boolean", default: false }, trace: { type: "boolean", default: false }, "poll-gap": { type: "string" }, "envoy-args": { type: "string" } } });
  const smoke = values.smoke || values.size === "smoke" || process.env.BENCH_SIZE === "smoke";
  const numbers = (text: string | undefined, fallback: number[]) => (text !== undefined && text !== "smoke" ? text.split(",").map(Number) : fallback);
  const sizes = numbers(values.size, smoke ? [50] : [1000, 10_000]);
  const envoys = numbers(values.envoys, [1, 4]);
  if (![...sizes, ...envoys].every((n) => Number.isInteger(n) && n > 0)) throw new Error("--size and --envoys want positive integers (comma separated)");
  const changes = Number(values.changes ?? (smoke ? 3 : 10));
  const pollGapMs = Number(values["poll-gap"] ?? 2);
  if (!(pollGapMs >= 0)) throw new Error("--poll-gap wants a number of milliseconds, 0 or more");
  return { smoke, sizes, envoys, changes, holdoffMs: Number(values.holdoff ?? 100), label: `${smoke && values.size === undefined ? "smoke" : sizes.join("-")}${values.classic ? "-classic" : ""}`, classic: values.classic === true, trace: values.trace === true, pollGapMs, envoyArgs: values["envoy-args"]?.split(" ").filter((arg) => arg !== "") ?? [] };
}

/** The Ingress cluster with every EndpointSlice on echo `a`, and a Service bench-b on echo `b` in every namespace. */
function benchObjects(size: number, a: EchoBackend, b: EchoBackend): KubeObject[] {
  const namespaces = fixtures.ingressNamespaces({ ingresses: size });
  const objects = fixtures.ingressCluster({ ingresses: size }).map((object) => (object.kind === "EndpointSlice" ? onBackend(object, a) : object));
  for (let n = 0; n < namespaces; n++) {
    const namespace = fixtures.ingressNamespace(n, namespaces);
    objects.push({ apiVersion: "v1", kind: "Service", metadata: { namespace, name: "bench-b" }, spec: { ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] } });
    objects.push(onBackend(fixtures.endpointSlice({ namespace, name: "bench-b" }, { seed: n }), b));
  }
  return objects;
}

/** An EndpointSlice with one ready endpoint, the echo backend on 127.0.0.1. */
function onBackend(slice: KubeObject, backend: EchoBackend, generation = 0): KubeObject {
  return { ...slice, metadata: { ...slice.metadata, resourceVersion: String(generation + 1) }, ports: [{ name: "http", port: backend.port, protocol: "TCP" }], endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }] } as KubeObject;
}

/** Ingress `index` with one more path, /changed-<generation>, to Service bench-b. */
function changedIngress(index: number, size: number, generation: number): KubeObject {
  const ingress = fixtures.ingress(index, { namespaces: fixtures.ingressNamespaces({ ingresses: size }), generation }) as KubeObject & { spec: { rules: Array<{ http: { paths: Array<{ path: string; backend: unknown }> } }> } };
  const added = ingress.spec.rules[0]!.http.paths.at(-1)!;
  added.backend = { service: { name: "bench-b", port: { name: "http" } } };
  return ingress;
}

/** One keep-alive connection to the listener port that a given Envoy accepted (they share it: SO_REUSEPORT). */
interface Probe {
  envoy: EnvoyProcess;
  agent: Agent;
}

function get(agent: Agent, port: number, host: string, path: string): Promise<{ status: number; backend?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host }, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        let backend: string | undefined;
        try {
          backend = (JSON.parse(body) as { backend?: string }).backend;
        } catch {}
        resolve({ status: response.statusCode ?? 0, backend });
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Pins one keep-alive connection per Envoy: opens connections until each Envoy has one, telling
 * them apart by which Envoy's request counter the connection's first request moved.
 */
async function pinProbes(envoys: EnvoyProcess[], port: number, host: string): Promise<Probe[]> {
  const probes = new Map<EnvoyProcess, Probe>();
  const requests = () => Promise.all(envoys.map(async (envoy) => (await envoy.stat("http.ingress_http.downstream_rq_total")) ?? 0));
  for (let attempt = 0; probes.size < envoys.length; attempt++) {
    if (attempt > 50 * envoys.length) throw new Error(`could not reach every Envoy through port ${port} (${probes.size} of ${envoys.length})`);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await requests();
    await get(agent, port, host, "/");
    const after = await requests();
    const owner = envoys.find((_, i) => after[i]! > before[i]!);
    if (!owner || probes.has(owner)) agent.destroy();
    else probes.set(owner, { envoy: owner, agent });
  }
  return envoys.map((envoy) => probes.get(envoy)!);
}

/** What the request loops saw during one change: per Envoy the milliseconds from `since` until it answered `expected`. */
interface Served {
  perEnvoyMs: number[];
  /** Requests asked, over all Envoys. */
  requests: number;
  /** Answers that were neither the old one (`previous`, when given) nor the new one: errors such as a 503 while a cluster warms. */
  others: string[];
}

/**
 * Asks through every probe until each sees `expected`, each request `gapMs` after the last one was
 * answered. The time taken is when the first new answer arrived: never shorter than reality, and longer
 * by at most one request's turn (`Served.requests` over the time says how long a turn was). Requests
 * back to back would cost the CPU that Envoy's main thread and the agent (in this process, beside the
 * echo backends) need on a small machine, and slow down what they measure.
 */
async function untilServed(probes: Probe[], port: number, ask: { host: string; path: string; expected: string; previous?: string; since: number }, gapMs: number): Promise<Served> {
  const served: Served = { perEnvoyMs: [], requests: 0, others: [] };
  served.perEnvoyMs = await Promise.all(
    probes.map(async (probe) => {
      const deadline = ask.since + 60_000;
      for (;;) {
        const answer = await get(probe.agent, port, ask.host, ask.path);
        served.requests++;
        if (answer.backend === ask.expected) return performance.now() - ask.since;
        if (ask.previous !== undefined && answer.backend !== ask.previous) served.others.push(answer.backend ?? String(answer.status));
        if (performance.now() > deadline) throw new Error(`${ask.host}${ask.path} still answers ${answer.backend ?? answer.status} after 60 s`);
        if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
    }),
  );
  return served;
}

function rssMiB(pid: number): number {
  const ps = Bun.spawnSync(["ps", "-o", "rss=", "-p", String(pid)]);
  return Math.round(Number(new TextDecoder().decode(ps.stdout).trim()) / 102.4) / 10;
}

interface Measurement {
  size: number;
  envoys: number;
  holdoffMs: number;
  firstSnapshotMs: number;
  envoysReadyMs: number;
  envoyRssMiB: number[];
  agentRssMiB: number;
  changes: {
    ingress: ChangeFigures & {
      buildMedianMs: number;
      publishedMedianMs: number;
      /** From the change until the agent wrote the route update (VHDS or RDS) to the last Envoy. */
      routeWrittenMedianMs: number;
      /** From the change until the last Envoy ACKed it (Envoy has applied it; its workers follow). */
      routeAckedMedianMs: number;
      /** Answers neither old nor new during the changes (e.g. a 503 while the new route's cluster warms). */
      otherAnswers: string[];
      /** One request's turn in the loop that waits for the change: the figures are late by at most this. */
      requestTurnMedianMs: number;
    };
    endpoint: ChangeFigures;
  };
}

interface ChangeFigures {
  /** Per change: until the last Envoy served it. */
  runsMs: number[];
  medianMs: number;
  /** Ingress changes: the median minus the holdoff. */
  afterHoldoffMs?: number;
  /** The median over changes of the first Envoy to serve it. */
  firstEnvoyMedianMs: number;
}

async function measure(size: number, envoyCount: number, options: EnvoyBenchOptions, backends: { a: EchoBackend; b: EchoBackend }): Promise<Measurement> {
  const { startAgent } = await import("../src/agent/agent.ts");
  const { a, b } = backends;
  let handler: SourceHandler | undefined;
  const source: Source = {
    name: "bench",
    async start(h) {
      handler = h;
      h.onEvents(benchObjects(size, a, b).map((object): SourceEvent => ({ type: "upsert", object })));
      h.onSynced();
    },
    async stop() {},
  };
  const [httpPort, httpsPort, statsPort] = (await freePorts(3)) as [number, number, number];
  const started = performance.now();
  const agent = await startAgent({ address: "127.0.0.1", port: 0, sources: [source], dag: { ...fixtures.benchDagOptions, listeners: { httpPort, httpsPort, address: "127.0.0.1" } }, translate: { statsPort, address: "127.0.0.1" }, endpoints: { allowLoopback: true }, holdoffMs: options.holdoffMs, maxDelayMs: 500 });
  if (!agent.pipeline.ready) await new Promise<void>((resolve) => { const off = agent.pipeline.onBuild(() => (off(), resolve())); });
  const firstSnapshotMs = performance.now() - started;
  const envoys: EnvoyProcess[] = [];
  try {
    const envoysStarted = performance.now();
    for (let i = 0; i < envoyCount; i++) envoys.push(await startEnvoy({ xdsPort: agent.server.port, nodeId: `bench-envoy-${i}`, edit: options.classic ? classicNode : undefined, envoyArgs: options.envoyArgs }));
    await Promise.all(envoys.map((envoy) => envoy.ready(["ingress_http"], 300_000)));
    const probes = await pinProbes(envoys, httpPort, "app-0.bench.example.com");
    const envoysReadyMs = performance.now() - envoysStarted;
    const envoyRssMiB = envoys.map((envoy) => rssMiB(envoy.pid));

    // The rebuild each Ingress change caused, and when its publish returned (from the change).
    const builds: Array<{ buildMs: number; publishedMs: number }> = [];
    let changedAt = 0;
    agent.pipeline.onBuild((event) => builds.push({ buildMs: event.result.timings.total, publishedMs: performance.now() - changedAt }));
    // Per Envoy (node id), the first route response (VHDS or RDS) after the change: when the agent wrote it, and when Envoy ACKed it.
    const routeWrites = new Map<string, { nonce: string; writtenMs: number; ackedMs?: number }>();
    const timeline: string[] = [];
    const offTrace = agent.server.on((event) => {
      if (changedAt === 0 || !event.nodeId) return;
      const at = performance.now() - changedAt;
      if (options.trace && (event.kind === "response" || event.kind === "ack" || event.kind === "nack")) timeline.push(`  ${at.toFixed(1).padStart(7)} ms ${event.nodeId} ${event.kind} ${event.typeUrl?.split(".").at(-1)} nonce ${event.nonce}${event.bytes ? ` ${event.bytes} B` : ""}`);
      if (event.typeUrl !== TypeUrls.virtualHost && event.typeUrl !== TypeUrls.route) return;
      const written = routeWrites.get(event.nodeId);
      if (event.kind === "response" && !written) routeWrites.set(event.nodeId, { nonce: event.nonce!, writtenMs: at });
      else if (event.kind === "ack" && written && written.nonce === event.nonce) written.ackedMs = at;
    });
    const ingressRuns: number[][] = [];
    const routeRuns: Array<{ writtenMs: number; ackedMs: number }> = [];
    // Per Ingress change: the milliseconds of one request's turn in the loop (the measurement's granularity).
    const turns: number[] = [];
    let otherAnswers: string[] = [];
    const buildRuns: Array<{ buildMs: number; publishedMs: number }> = [];
    const endpointRuns: number[][] = [];
    for (let change = 1; change <= options.changes; change++) {
      const k = (change * 7919) % size;
      const host = `app-${k}.bench.example.com`;
      await untilServed(probes, httpPort, { host, path: `/changed-${change}/x`, expected: "a", since: performance.now() }, 0);
      builds.length = 0;
      routeWrites.clear();
      timeline.length = 0;
      const since = performance.now();
      changedAt = since;
      handler!.onEvents([{ type: "upsert", object: changedIngress(k, size, change) }]);
      const served = await untilServed(probes, httpPort, { host, path: `/changed-${change}/x`, expected: "b", previous: "a", since }, options.pollGapMs);
      ingressRuns.push(served.perEnvoyMs);
      turns.push(Math.max(...served.perEnvoyMs) / (served.requests / probes.length));
      otherAnswers = otherAnswers.concat(served.others);
      // The ACK may come after the first request was served the new way: wait for it a little.
      for (let wait = 0; wait < 100 && [...routeWrites.values()].some((w) => w.ackedMs === undefined); wait++) await new Promise((resolve) => setTimeout(resolve, 10));
      const writes = [...routeWrites.values()];
      if (writes.length === envoys.length && writes.every((w) => w.ackedMs !== undefined)) routeRuns.push({ writtenMs: Math.max(...writes.map((w) => w.writtenMs)), ackedMs: Math.max(...writes.map((w) => w.ackedMs!)) });
      if (builds[0]) buildRuns.push(builds[0]);
      if (options.trace) console.error(`change ${change} (${host}): built in ${round(builds[0]?.buildMs ?? NaN)} ms, publish returned at ${round(builds[0]?.publishedMs ?? NaN)} ms, served at ${served.perEnvoyMs.map(round).join(", ")} ms after ${served.requests} requests${served.others.length ? ` (other answers: ${served.others.join(", ")})` : ""}\n${timeline.join("\n")}`);
      changedAt = 0;

      const j = (change * 104729 + 1) % size;
      const sliceHost = `app-${j}.bench.example.com`;
      const slice = fixtures.ingressEndpointSlice(j, { namespaces: fixtures.ingressNamespaces({ ingresses: size }), generation: change });
      const before = await get(probes[0]!.agent, httpPort, sliceHost, "/");
      const target = before.backend === "b" ? a : b;
      const sliceSince = performance.now();
      handler!.onEvents([{ type: "upsert", object: onBackend(slice, target, change) }]);
      endpointRuns.push((await untilServed(probes, httpPort, { host: sliceHost, path: "/", expected: target.name, since: sliceSince }, options.pollGapMs)).perEnvoyMs);
    }
    offTrace();
    for (const [i, envoy] of options.trace ? envoys.entries() : []) {
      const log = join(tmpdir(), `isobar-bench-envoy-${size}-${i}.log`);
      writeFileSync(log, envoy.output());
      console.error(`Envoy ${i} (its output: ${log}), answers other than 200:\n${envoy.output().split("\n").filter((line) => /" [1-5]\d\d /.test(line) && !/" 200 /.test(line)).slice(0, 20).join("\n")}`);
    }
    for (const probe of probes) probe.agent.destroy();
    const figures = (runs: number[][], holdoff?: number): ChangeFigures => {
      const last = runs.map((perEnvoy) => round(Math.max(...perEnvoy)));
      const medianMs = round(median(last));
      return { runsMs: last, medianMs, ...(holdoff !== undefined ? { afterHoldoffMs: round(medianMs - holdoff) } : {}), firstEnvoyMedianMs: round(median(runs.map((perEnvoy) => Math.min(...perEnvoy)))) };
    };
    return {
      size,
      envoys: envoyCount,
      holdoffMs: options.holdoffMs,
      firstSnapshotMs: round(firstSnapshotMs),
      envoysReadyMs: round(envoysReadyMs),
      envoyRssMiB,
      agentRssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20),
      changes: {
        ingress: {
          ...figures(ingressRuns, options.holdoffMs),
          buildMedianMs: round(median(buildRuns.map((b) => b.buildMs))),
          publishedMedianMs: round(median(buildRuns.map((b) => b.publishedMs))),
          routeWrittenMedianMs: round(median(routeRuns.map((r) => r.writtenMs))),
          routeAckedMedianMs: round(median(routeRuns.map((r) => r.ackedMs))),
          otherAnswers,
          requestTurnMedianMs: round(median(turns)),
        },
        endpoint: figures(endpointRuns),
      },
    };
  } finally {
    await Promise.all(envoys.map((envoy) => envoy.stop()));
    await agent.close(100);
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;

function printTable(results: Measurement[]): void {
  const rows: Array<[string, ...string[]]> = [
    ["Ingresses / Envoys", ...results.map((r) => `${r.size} / ${r.envoys}`)],
    ["agent first snapshot ms", ...results.map((r) => String(r.firstSnapshotMs))],
    ["Envoys ready (all listeners) ms", ...results.map((r) => String(r.envoysReadyMs))],
    ["Ingress change → all Envoys serve it ms", ...results.map((r) => `${r.changes.ingress.medianMs} (after holdoff ${r.changes.ingress.afterHoldoffMs})`)],
    ["  first Envoy ms", ...results.map((r) => String(r.changes.ingress.firstEnvoyMedianMs))],
    ["  the rebuild / its publish returned at ms", ...results.map((r) => `${r.changes.ingress.buildMedianMs} / ${r.changes.ingress.publishedMedianMs}`)],
    ["  route update written / Envoy ACKed at ms", ...results.map((r) => `${r.changes.ingress.routeWrittenMedianMs} / ${r.changes.ingress.routeAckedMedianMs}`)],
    ["  answers neither old nor new", ...results.map((r) => String(r.changes.ingress.otherAnswers.length))],
    ["  one request's turn (granularity) ms", ...results.map((r) => String(r.changes.ingress.requestTurnMedianMs))],
    ["endpoint change → all Envoys serve it ms", ...results.map((r) => String(r.changes.endpoint.medianMs))],
    ["  first Envoy ms", ...results.map((r) => String(r.changes.endpoint.firstEnvoyMedianMs))],
    ["Envoy RSS MiB", ...results.map((r) => r.envoyRssMiB.join(", "))],
    ["agent RSS MiB", ...results.map((r) => String(r.agentRssMiB))],
  ];
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log("\nenvoy (medians)");
  for (const [label, ...values] of rows) console.log(`${label.padEnd(width)}  ${values.map((v) => v.padEnd(24)).join(" ")}`);
}

export async function run(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  consola.level = LogLevels.warn;
  const backends = { a: await startEcho("a"), b: await startEcho("b") };
  const results: Measurement[] = [];
  try {
    for (const size of options.sizes) {
      for (const envoys of options.envoys) {
        console.error(`envoy bench: ${size} Ingresses, ${envoys} Envoy(s), ${options.changes} changes of each kind`);
        results.push(await measure(size, envoys, options, backends));
      }
    }
  } finally {
    await backends.a.close();
    await backends.b.close();
  }
  printTable(results);
  const header = { bench: "envoy", date: new Date().toISOString(), runtime: `bun ${process.versions.bun ?? "?"}`, cores: navigator.hardwareConcurrency, targets: { ingressAfterHoldoffMsAt1k: 150 } };
  // Smoke runs (CI) write to a temporary directory: the tree stays clean.
  console.error(`wrote ${writeResultFile("envoy", options.label, { ...header, options, results })}`);
}

if (import.meta.main) {
  await run(process.argv.slice(2));
  process.exit(0);
}
