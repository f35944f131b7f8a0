// Change-to-client latency of the real agent (pipeline-child.ts serve: startAgent, the pipeline with
// its debounce, the snapshot store and the xDS server) to N delta ADS clients in this process, each
// its own TCP connection. One changed object at a time: the time from the child applying it to the
// cache until the last client has the response that carries it, with the child's own breakdown
// (applied → published, published → last client) and what each client received, per type. Clients
// take VHDS as Envoy on delta ADS does (the route configuration's hosts one by one), except the first
// `classicClients`, which keep the classic route configuration: both measured in the same run.
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { connectXds, xdsTypes, type XdsClient, type XdsResponse } from "../src/xds/client.ts";
import { TypeUrls } from "../src/xds/types.ts";
import { startChild } from "./child.ts";
import type { ChangeCommand, ChildSpec } from "./pipeline-child.ts";

const here = import.meta.dirname;
const ownConnection: grpc.ChannelOptions = { "grpc.use_local_subchannel_pool": 1, "grpc.max_receive_message_length": 256 * 1024 * 1024 };
const epochNow = () => performance.timeOrigin + performance.now();

export interface ChangeSample {
  kind: ChangeCommand["kind"];
  /** Applied to the cache → the last client has it. */
  totalMs: number;
  /** totalMs minus the holdoff (DAG changes; endpoint changes do not wait). */
  afterHoldoffMs: number;
  /** Applied → published by the pipeline (holdoff, rebuild, publish; or the endpoint fast path). */
  publishMs: number;
  /** Published → the last client has it. */
  fanOutMs: number;
  /**
   * Where the time went, in order: waiting (applied → rebuild start: the holdoff and timer slack;
   * DAG changes), the rebuild, the store (publish or updateEndpoints until the new state is committed:
   * hashing, encoding, consistency), notify (the xDS streams' synchronous diff and write of every
   * client's response), deliver (until the last client has read it).
   */
  breakdown: { waitMs: number; buildMs: number; storeMs: number; notifyMs: number; deliverMs: number };
  /** The rebuild's stage timings (DAG changes). */
  buildTimings?: Record<string, number>;
  /** The agent process's CPU time (user + system) from the change applied until published, where the agent reports it. */
  cpuMs?: number;
  /** Per client (all clients the same): resources and protobuf bytes received for this change, per type. */
  resourcesPerClient: Record<string, number>;
  bytesPerClient: Record<string, number>;
  /** The same per group of clients: classic route configuration, or VHDS (as Envoy on delta ADS). */
  groups: Partial<Record<ClientGroup, GroupSample>>;
}

export type ClientGroup = "classic" | "vhds";

export interface GroupSample {
  clients: number;
  /** Until the last client of the group has it, minus the holdoff (DAG changes). */
  afterHoldoffMs: number;
  resourcesPerClient: Record<string, number>;
  bytesPerClient: Record<string, number>;
}

export interface LatencyResult {
  clients: number;
  holdoffMs: number;
  firstSnapshotMs: number;
  firstBuildTimings: Record<string, number>;
  counts: Record<string, number>;
  /** From opening the N clients until every one holds the full set. */
  stormMs: number;
  fullSetBytesPerClient: number;
  samples: ChangeSample[];
  serverRss: number;
  serverRssAfterGc: number;
  serverMaxRss: number;
  /** The agent after its first snapshot, before any client connected: RSS and peak RSS. */
  firstSnapshotRss: number;
  firstSnapshotMaxRss: number;
}

export interface LatencyPlan {
  clients: number;
  /** How many of the clients keep the classic route configuration (default 0: all take VHDS). */
  classicClients?: number;
  holdoffMs: number;
  /** The changes, in order; each waits until every client has the previous one. */
  changes: Array<Omit<ChangeCommand, "cmd" | "generation">>;
}

const shortType: Record<string, string> = { [xdsTypes.lds]: "lds", [xdsTypes.rds]: "rds", [xdsTypes.cds]: "cds", [xdsTypes.eds]: "eds", [xdsTypes.sds]: "sds", [TypeUrls.virtualHost]: "vhds" };

/**
 * `agent` names another agent process speaking the same protocol as pipeline-child.ts serve (its
 * ready event: port, edsNames, routeNames, counts; `change`, `memory`, `exit`), e.g. kube.ts's agent
 * fed by the fake API server; its whole ready event is returned as `agentReady`.
 */
export async function measureLatency(spec: ChildSpec, plan: LatencyPlan, agent?: { script: string; args: string[] }): Promise<LatencyResult & { agentReady: Record<string, unknown> }> {
  process.env.CONSOLA_LEVEL ??= "1";
  const child = agent ? startChild(agent.script, agent.args) : startChild(join(here, "pipeline-child.ts"), ["serve", JSON.stringify({ ...spec, holdoffMs: plan.holdoffMs })]);
  const ready = await child.ready;
  const address = `127.0.0.1:${ready.port as number}`;
  const edsNames = ready.edsNames as string[];
  const routeNames = ready.routeNames as string[];
  const counts = ready.counts as Record<string, number>;
  const full = { cds: counts.Cluster ?? 0, eds: edsNames.length, lds: counts.Listener ?? 0, rds: routeNames.length, vhds: counts.VirtualHost ?? 0 };
  const classicClients = Math.min(plan.clients, plan.classicClients ?? 0);
  const groupOf = (index: number): ClientGroup => (index < classicClients ? "classic" : "vhds");
  const groupSizes: Record<ClientGroup, number> = { classic: classicClients, vhds: plan.clients - classicClients };

  let phase: "storm" | "change" = "storm";
  let changeKind: ChangeCommand["kind"] = "ingress";
  let remaining = plan.clients;
  let lastAt = 0;
  const lastAtOf: Record<ClientGroup, number> = { classic: 0, vhds: 0 };
  let wake = () => {};
  const received = { resources: {} as Record<string, number>, bytes: {} as Record<string, number> };
  const receivedBy: Record<ClientGroup, typeof received> = { classic: { resources: {}, bytes: {} }, vhds: { resources: {}, bytes: {} } };
  let fullSetBytes = 0;
  const clients: XdsClient[] = [];
  const resetters: Array<() => void> = [];
  const stormStart = performance.now();
  for (let index = 0; index < plan.clients; index++) {
    const have = { cds: 0, eds: 0, lds: 0, rds: 0, sds: 0, vhds: 0 } as Record<string, number>;
    const group = groupOf(index);
    // A changed Ingress reaches a classic client as the route configuration; a VHDS client as its host,
    // or as a route configuration where that is not served per host (a per-SNI one): the first of them.
    const waitingFor = (type: string) => (changeKind === "slice" ? type === "eds" : type === "rds" || (group === "vhds" && type === "vhds"));
    let done = false;
    const onResponse = (response: XdsResponse) => {
      const type = shortType[response.typeUrl] ?? "other";
      if (phase === "storm") {
        fullSetBytes += response.size;
        have[type] = (have[type] ?? 0) + response.resourceCount;
        const hosts = group === "classic" || have.vhds! >= full.vhds;
        if (!done && hosts && have.cds! >= full.cds && have.eds! >= full.eds && have.lds! >= full.lds && have.rds! >= full.rds) {
          done = true;
          if (--remaining === 0) wake();
        }
        return;
      }
      for (const into of [received, receivedBy[group]]) {
        into.resources[type] = (into.resources[type] ?? 0) + response.resourceCount;
        into.bytes[type] = (into.bytes[type] ?? 0) + response.size;
      }
      if (waitingFor(type) && response.resourceCount > 0 && !done) {
        done = true;
        lastAt = lastAtOf[group] = epochNow();
        if (--remaining === 0) wake();
      }
    };
    resetters.push(() => (done = false));
    clients.push(
      connectXds(address, {
        node: { id: `bench-${index}`, cluster: "bench", vhds: group === "vhds" },
        delta: true,
        envelopeOnly: true,
        channelOptions: ownConnection,
        subscriptions: [
          { typeUrl: xdsTypes.cds },
          { typeUrl: xdsTypes.eds, names: edsNames },
          { typeUrl: xdsTypes.lds },
          { typeUrl: xdsTypes.rds, names: routeNames },
        ],
        onResponse,
        onError: (error) => console.error(`client ${index}: ${error.message}`),
      }),
    );
  }
  // At 100k objects each client's full set is tens of MB: give the storm time in proportion.
  const limitMs = 120_000 + plan.clients * 200 + full.eds * 5;
  await until(limitMs, "connect storm", (resolve) => (wake = resolve));
  const stormMs = performance.now() - stormStart;
  const memory = await child.request({ cmd: "memory" });

  const samples: ChangeSample[] = [];
  phase = "change";
  let generation = 0;
  for (const change of plan.changes) {
    generation++;
    for (const reset of resetters) reset();
    for (const into of [received, receivedBy.classic, receivedBy.vhds]) {
      into.resources = {};
      into.bytes = {};
    }
    remaining = plan.clients;
    changeKind = change.kind;
    const all = until(limitMs, `${change.kind} change`, (resolve) => (wake = resolve));
    const answer = await child.request({ cmd: "change", ...change, generation });
    await all;
    // Let anything else the change caused arrive before counting it (and before the next change).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const appliedAt = answer.appliedAt as number;
    const publishedAt = answer.publishedAt as number;
    const totalMs = lastAt - appliedAt;
    const [startAt, committedAt, endAt] = [answer.startAt, answer.committedAt, answer.endAt] as number[];
    const buildMs = (answer.timings as { total?: number } | undefined)?.total ?? 0;
    samples.push({
      kind: change.kind,
      totalMs,
      afterHoldoffMs: change.kind === "slice" ? totalMs : totalMs - plan.holdoffMs,
      publishMs: publishedAt - appliedAt,
      fanOutMs: lastAt - publishedAt,
      breakdown: { waitMs: startAt! - buildMs - appliedAt, buildMs, storeMs: committedAt! - startAt!, notifyMs: endAt! - committedAt!, deliverMs: lastAt - endAt! },
      buildTimings: answer.timings as Record<string, number> | undefined,
      ...(typeof answer.cpuMs === "number" ? { cpuMs: answer.cpuMs } : {}),
      resourcesPerClient: perClient(received.resources, plan.clients),
      bytesPerClient: perClient(received.bytes, plan.clients),
      groups: Object.fromEntries(
        (["classic", "vhds"] as const)
          .filter((group) => groupSizes[group] > 0)
          .map((group) => {
            const total = lastAtOf[group] - appliedAt;
            const sample: GroupSample = {
              clients: groupSizes[group],
              afterHoldoffMs: change.kind === "slice" ? total : total - plan.holdoffMs,
              resourcesPerClient: perClient(receivedBy[group].resources, groupSizes[group]),
              bytesPerClient: perClient(receivedBy[group].bytes, groupSizes[group]),
            };
            return [group, sample];
          }),
      ),
    });
  }
  for (const client of clients) client.close();
  await child.stop();
  return {
    agentReady: ready,
    clients: plan.clients,
    holdoffMs: plan.holdoffMs,
    firstSnapshotMs: ready.firstSnapshotMs as number,
    firstBuildTimings: ready.buildTimings as Record<string, number>,
    counts,
    stormMs,
    fullSetBytesPerClient: Math.round(fullSetBytes / plan.clients),
    samples,
    serverRss: memory.rss as number,
    serverRssAfterGc: memory.rssAfterGc as number,
    serverMaxRss: memory.maxRss as number,
    firstSnapshotRss: ready.rss as number,
    firstSnapshotMaxRss: ready.maxRss as number,
  };
}

function perClient(totals: Record<string, number>, clients: number): Record<string, number> {
  return Object.fromEntries(Object.entries(totals).map(([type, total]) => [type, Math.round((total / clients) * 10) / 10]));
}

/** A promise `arm` resolves, rejected after `limitMs`. */
function until(limitMs: number, what: string, arm: (resolve: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not every client within ${limitMs / 1000}s`)), limitMs);
    arm(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
