// `npm run bench -- xds`: N simulated xDS clients (delta and state-of-the-world ADS, one TCP connection
// each) against the agent's server in a child process. Measures the connect storm until every client
// has ACKed the full set, one change (a virtual host and a load assignment) until every client has it,
// the bytes that change cost per client, the server's RSS, and the same bytes on raw gRPC streams as
// the ceiling. Results: bench/results/xds-<size>.json and a printed table.
import { writeResultFile } from "./results-file.ts";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { connectXds, xdsTypes, type XdsClient, type XdsResponse } from "../src/xds/client.ts";
import { rawPushPath, startChild } from "./child.ts";
import { benchRouteConfigName, clusterName } from "./xds-snapshot.ts";

const here = import.meta.dirname;
/** Separate subchannel pools: every simulated client gets its own TCP connection, as Envoys do. */
const ownConnection: grpc.ChannelOptions = { "grpc.use_local_subchannel_pool": 1, "grpc.max_receive_message_length": 64 * 1024 * 1024 };
const identity = (bytes: Buffer) => bytes;

interface Sizes {
  clients: number;
  resources: number;
  label: string;
}

interface ModeResult {
  mode: "delta" | "sotw";
  clients: number;
  resources: number;
  publishMs: number;
  fullSetBytesPerClient: number;
  stormAllAckedMs: number;
  stormRawMs: number;
  changeAllReceivedMs: number;
  /** The raw server's time from starting to write the same change bytes until the last client had them. */
  changeRawMs: number;
  changePublishMs: number;
  /** Of the publish, the store's own work (encode, hash, consistency) before the streams are told. */
  changeStoreMs: number;
  /** From the end of the publish in the server process until the last client had the change. */
  changeFanOutMs: number;
  /**
   * From the streams being told (the first write) until the last client had the change: the same
   * span as changeRawMs, which starts before the raw server's writes (changeFanOutMs starts after ours).
   */
  changePushMs: number;
  changeBytesPerClient: { eds: number; rds: number; other: number };
  /** The server process with every client connected and ACKed: RSS, RSS after a full GC, JS heap, buffers. */
  serverRssMiB: number;
  serverRssAfterGcMiB: number;
  serverHeapUsedMiB: number;
  serverArrayBuffersMiB: number;
  rawServerRssMiB: number;
  /** CPU time the server process had used when every client had ACKed (start-up, publish and storm). */
  serverCpuMs: number;
  rawServerCpuMs: number;
}

/** Waits for `done` to reach `count`; after `limitMs` rejects with how many got there. */
function countdown(count: number, limitMs: number, what: string): { tick(): void; done: Promise<number> } {
  let remaining = count;
  let tick = () => {};
  const start = performance.now();
  const done = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: only ${count - remaining}/${count} clients within ${limitMs / 1000}s`)), limitMs);
    const finish = () => {
      clearTimeout(timer);
      resolve(performance.now() - start);
    };
    tick = () => {
      if (--remaining === 0) finish();
    };
    // A countdown of nothing (the placeholder before the change phase) is done at once; its timer
    // must not fire later and fail the run.
    if (count === 0) finish();
  });
  return { tick: () => tick(), done };
}

async function runXdsMode(mode: "delta" | "sotw", sizes: Sizes): Promise<Omit<ModeResult, "stormRawMs" | "changeRawMs" | "rawServerRssMiB" | "rawServerCpuMs"> & { stormMessages: number[]; changeMessages: number[] }> {
  const server = startChild(join(here, "xds-server.ts"), [String(sizes.resources)]);
  const ready = await server.ready;
  const address = `127.0.0.1:${ready.port as number}`;
  const edsNames = Array.from({ length: sizes.resources }, (_, i) => clusterName(i));
  const limitMs = 60_000 + sizes.clients * 100;

  let phase: "storm" | "change" = "storm";
  const storm = countdown(sizes.clients, limitMs, `${mode} connect storm`);
  let change = countdown(0, limitMs, "unused");
  const stormMessages: number[] = [];
  const changeMessages: number[] = [];
  const changeBytes = { eds: 0, rds: 0, other: 0 };
  let fullSetBytes = 0;
  let lastChangeAt = 0;

  const clients: XdsClient[] = [];
  for (let index = 0; index < sizes.clients; index++) {
    const counts = new Map<string, number>();
    let stormDone = false;
    let changeSeen = new Set<string>();
    const onResponse = (response: XdsResponse) => {
      if (phase === "storm") {
        if (index === 0) stormMessages.push(response.size);
        fullSetBytes += response.size;
        const before = mode === "delta" ? (counts.get(response.typeUrl) ?? 0) : 0;
        counts.set(response.typeUrl, before + response.resourceCount);
        const complete =
          (counts.get(xdsTypes.cds) ?? 0) >= sizes.resources &&
          (counts.get(xdsTypes.eds) ?? 0) >= sizes.resources &&
          (counts.get(xdsTypes.lds) ?? 0) >= 1 &&
          (counts.get(xdsTypes.rds) ?? 0) >= 1;
        if (complete && !stormDone) {
          stormDone = true;
          storm.tick();
        }
        return;
      }
      if (index === 0) changeMessages.push(response.size);
      const kind = response.typeUrl === xdsTypes.eds ? "eds" : response.typeUrl === xdsTypes.rds ? "rds" : "other";
      changeBytes[kind] += response.size;
      if (kind === "other" || changeSeen.has(kind)) return;
      changeSeen.add(kind);
      if (changeSeen.size === 2) {
        lastChangeAt = performance.timeOrigin + performance.now();
        change.tick();
      }
    };
    clients.push(
      connectXds(address, {
        node: { id: `bench-${mode}-${index}`, cluster: "bench" },
        delta: mode === "delta",
        envelopeOnly: true,
        channelOptions: ownConnection,
        subscriptions: [
          { typeUrl: xdsTypes.cds },
          { typeUrl: xdsTypes.eds, names: edsNames },
          { typeUrl: xdsTypes.lds },
          { typeUrl: xdsTypes.rds, names: [benchRouteConfigName] },
        ],
        onResponse,
        onError: (error) => console.error(`client ${index}: ${error.message}`),
      }),
    );
  }
  const stormAllAckedMs = await storm.done;
  const memory = await server.request({ cmd: "memory" });

  phase = "change";
  change = countdown(sizes.clients, limitMs, `${mode} change`);
  const changed = server.request({ cmd: "change" });
  const changeAllReceivedMs = await change.done;
  const { publishMs: changePublishMs, storeMs, publishedAt, notifiedAt } = (await changed) as { publishMs: number; storeMs: number; publishedAt: number; notifiedAt: number };

  for (const client of clients) client.close();
  await server.stop();
  return {
    mode,
    clients: sizes.clients,
    resources: sizes.resources,
    publishMs: round(ready.publishMs as number),
    fullSetBytesPerClient: Math.round(fullSetBytes / sizes.clients),
    stormAllAckedMs: round(stormAllAckedMs),
    changeAllReceivedMs: round(changeAllReceivedMs),
    changePublishMs: round(changePublishMs),
    changeStoreMs: round(storeMs),
    changeFanOutMs: round(lastChangeAt - publishedAt),
    changePushMs: round(lastChangeAt - notifiedAt),
    changeBytesPerClient: {
      eds: Math.round(changeBytes.eds / sizes.clients),
      rds: Math.round(changeBytes.rds / sizes.clients),
      other: Math.round(changeBytes.other / sizes.clients),
    },
    serverRssMiB: mib(memory.rss),
    serverRssAfterGcMiB: mib(memory.rssAfterGc),
    serverHeapUsedMiB: mib(memory.heapUsed),
    serverArrayBuffersMiB: mib(memory.arrayBuffers),
    serverCpuMs: round(memory.cpuMs as number),
    stormMessages,
    changeMessages,
  };
}

/** The ceiling: the same message sizes written to the same number of raw gRPC streams. */
async function runRaw(sizes: Sizes, stormMessages: number[], changeMessages: number[]): Promise<{ stormMs: number; changeMs: number; rssMiB: number; cpuMs: number }> {
  const server = startChild(join(here, "raw-server.ts"), [JSON.stringify({ storm: stormMessages, change: changeMessages })]);
  const ready = await server.ready;
  const address = `127.0.0.1:${ready.port as number}`;
  const stormBytes = stormMessages.reduce((a, b) => a + b, 0);
  const changeBytes = changeMessages.reduce((a, b) => a + b, 0);
  const limitMs = 60_000 + sizes.clients * 100;
  const storm = countdown(sizes.clients, limitMs, "raw storm");
  let change = countdown(0, limitMs, "unused");
  let lastChangeAt = 0;
  const clients: grpc.Client[] = [];
  const calls: grpc.ClientDuplexStream<Buffer, Buffer>[] = [];
  for (let index = 0; index < sizes.clients; index++) {
    const client = new grpc.Client(address, grpc.credentials.createInsecure(), ownConnection);
    const call = client.makeBidiStreamRequest(rawPushPath, identity, identity);
    let received = 0;
    call.on("data", (message: Buffer) => {
      const before = received;
      received += message.length;
      if (before < stormBytes && received >= stormBytes) storm.tick();
      if (before < stormBytes + changeBytes && received >= stormBytes + changeBytes) {
        lastChangeAt = performance.timeOrigin + performance.now();
        change.tick();
      }
    });
    call.on("error", () => {});
    call.write(Buffer.from([1]));
    clients.push(client);
    calls.push(call);
  }
  const stormMs = await storm.done;
  const memory = await server.request({ cmd: "memory" });
  change = countdown(sizes.clients, limitMs, "raw change");
  const changed = server.request({ cmd: "change" });
  await change.done;
  const changeMs = lastChangeAt - ((await changed).startedAt as number);
  for (const call of calls) call.cancel();
  for (const client of clients) client.close();
  await server.stop();
  return { stormMs: round(stormMs), changeMs: round(changeMs), rssMiB: mib(memory.rss), cpuMs: round(memory.cpuMs as number) };
}

function mib(bytes: unknown): number {
  return round(Number(bytes) / 2 ** 20);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function ratio(value: number, ceiling: number): string {
  return ceiling > 0 ? `${(value / ceiling).toFixed(2)}×` : "-";
}

function printTable(results: ModeResult[]): void {
  const rows = results.map((r) => ({
    mode: r.mode,
    clients: r.clients,
    resources: r.resources,
    "full set B/client": r.fullSetBytesPerClient,
    "storm all ACKed ms": r.stormAllAckedMs,
    "raw storm ms": r.stormRawMs,
    "storm vs raw": ratio(r.stormAllAckedMs, r.stormRawMs),
    "change all ms": r.changeAllReceivedMs,
    "of which publish ms": r.changePublishMs,
    "of which store ms": r.changeStoreMs,
    "push ms": r.changePushMs,
    "raw push ms": r.changeRawMs,
    "push vs raw": ratio(r.changePushMs, r.changeRawMs),
    "change EDS B/client": r.changeBytesPerClient.eds,
    "change RDS B/client": r.changeBytesPerClient.rds,
    "server RSS MiB": r.serverRssMiB,
    "after GC": r.serverRssAfterGcMiB,
    "raw RSS": r.rawServerRssMiB,
  }));
  console.table(rows);
}

export function parseSizes(argv: string[]): Sizes & { modes: Array<"delta" | "sotw"> } {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: "string" },
      resources: { type: "string" },
      smoke: { type: "boolean", default: false },
      size: { type: "string" },
      modes: { type: "string", default: "delta,sotw" },
    },
  });
  const smoke = values.smoke || values.size === "smoke" || process.env.BENCH_SIZE === "smoke";
  const clients = Number(values.clients ?? (smoke ? 20 : 1000));
  const resources = Number(values.resources ?? (smoke ? 50 : 1000));
  const modes = values.modes.split(",").map((m) => m.trim()) as Array<"delta" | "sotw">;
  for (const mode of modes) if (mode !== "delta" && mode !== "sotw") throw new Error(`unknown mode ${mode}: want delta or sotw`);
  if (!(clients > 0 && resources > 0)) throw new Error("--clients and --resources must be positive numbers");
  const label = smoke && values.clients === undefined && values.resources === undefined ? "smoke" : `${clients}c-${resources}r`;
  return { clients, resources, label, modes };
}

export async function run(argv: string[]): Promise<void> {
  const sizes = parseSizes(argv);
  const results: ModeResult[] = [];
  for (const mode of sizes.modes) {
    console.error(`xds bench: ${mode}, ${sizes.clients} clients, ${sizes.resources} resources per type`);
    const { stormMessages, changeMessages, ...xds } = await runXdsMode(mode, sizes);
    const raw = await runRaw(sizes, stormMessages, changeMessages);
    results.push({ ...xds, stormRawMs: raw.stormMs, changeRawMs: raw.changeMs, rawServerRssMiB: raw.rssMiB, rawServerCpuMs: raw.cpuMs });
  }
  printTable(results);
  const out = writeResultFile("xds", sizes.label, { bench: "xds", date: new Date().toISOString(), runtime: `bun ${process.versions.bun ?? "?"}`, cores: navigator.hardwareConcurrency, results });
  console.error(`wrote ${out}`);
}
