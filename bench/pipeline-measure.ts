// The build-mode measurements of pipeline-child.ts: full rebuilds of a generated cluster (DAG,
// translate, endpoints, validate, and the publish that encodes every resource into a fresh snapshot
// store), a rebuild into the live store (unchanged input: hashing, no encoding), and protobuf
// encoding alone of the same resources, the ceiling: encodeStrict, and protobufjs fromObject+encode
// on its own object form. Times in ms, memory in bytes; the first run and the warm runs apart.
import { heapStats } from "bun:jsc";
import protobuf from "protobufjs";
import { buildResources, type BuildResult } from "../src/pipeline/build.ts";
import { createObjectCache, type ObjectCache } from "../src/pipeline/cache.ts";
import { encodeStrict, lookupType } from "../src/xds/registry.ts";
import { createSnapshotStore, type SnapshotStore } from "../src/xds/snapshot.ts";
import { resourceTypes, type ResourceSet } from "../src/xds/types.ts";
import type { ChildSpec } from "./pipeline-child.ts";
import { benchDagOptions, generateCluster } from "./fixtures.ts";
import { measureEdits, type EditRun } from "./incremental-measure.ts";
import { measureChanges, type ChangeMeasurements } from "./change-measure.ts";
import type { SourceEvent } from "../src/sources/types.ts";

export interface RebuildRun {
  dagMs: number;
  translateMs: number;
  endpointsMs: number;
  validateMs: number;
  /** dag + translate + endpoints + validate (+ owners and rejections), as buildResources returns. */
  buildMs: number;
  /** The store's publish: hash, encode and consistency check of every resource. */
  publishMs: number;
  totalMs: number;
  /** CPU time (user + system) of the whole run: on a shared machine, wall time includes waiting for a core. */
  cpuMs: number;
  /** Collecting every object's status (dag.status.all()), timed apart. */
  statusAllMs: number;
  rssDelta: number;
  heapDelta: number;
  /** The process after the run, result still held. */
  rss: number;
}

export interface EncodeRun {
  encodeStrictMs: number;
  fromObjectEncodeMs: number;
  /** CPU time of each, as RebuildRun.cpuMs. */
  encodeStrictCpuMs: number;
  fromObjectEncodeCpuMs: number;
  encodeOnlyMs: number;
  bytes: number;
  resources: number;
  heapDelta: number;
}

export interface BuildMeasurements {
  objects: Record<string, number>;
  resources: Record<string, number>;
  statuses: number;
  notValid: number;
  rejected: number;
  /** After loading the cache, with a full GC. */
  baselineRss: number;
  baselineHeap: number;
  first: RebuildRun;
  warm: RebuildRun[];
  /** Rebuild into the live store with unchanged input (what a rebuild costs once warm). */
  liveRepublish: RebuildRun[];
  /** One change with the build memo into a live store (change-measure.ts). */
  changes: ChangeMeasurements;
  encodeFirst: EncodeRun;
  encodeWarm: EncodeRun[];
  /** Peak RSS of the whole process (getrusage), after the rebuilds (before encoding alone, whose prepared messages the bench holds). */
  maxRssRebuilds: number;
  /** Peak RSS at the end, including the bench's own encoding-alone data. */
  maxRss: number;
  /** With the cache and one snapshot held, after a full GC. */
  steadyRss: number;
  steadyHeap: number;
  /** One object edited at a time: the incremental build against the full one (incremental-measure.ts). */
  edits: EditRun[];
}

/** The JS heap now (process.memoryUsage().heapUsed is only refreshed once per event loop turn in Bun). */
function heap(): number {
  return heapStats().heapSize;
}

/** This process's CPU time so far (user + system), in ms. */
function cpuNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function gc(): void {
  Bun.gc(true);
}

function rebuild(cache: ObjectCache, store: SnapshotStore): { run: RebuildRun; result: BuildResult } {
  gc();
  const before = { rss: process.memoryUsage.rss(), heap: heap() };
  const cpuStart = cpuNow();
  const start = performance.now();
  const result = buildResources(cache, { dag: benchDagOptions });
  const built = performance.now();
  store.publish(result.resources);
  const end = performance.now();
  const cpuMs = cpuNow() - cpuStart;
  const after = { rss: process.memoryUsage.rss(), heap: heap() };
  const statusStart = performance.now();
  result.dag.status.all();
  const statusAllMs = performance.now() - statusStart;
  const t = result.timings;
  return {
    result,
    run: {
      dagMs: t.dag,
      translateMs: t.translate,
      endpointsMs: t.endpoints,
      validateMs: t.validate,
      buildMs: built - start,
      publishMs: end - built,
      totalMs: end - start,
      cpuMs,
      statusAllMs,
      rssDelta: after.rss - before.rss,
      heapDelta: after.heap - before.heap,
      rss: after.rss,
    },
  };
}

interface Prepared {
  type: protobuf.Type;
  typeUrl: string;
  json: object;
  plain: Record<string, unknown>;
  message: protobuf.Message;
}

/** Each resource as our JSON form (for encodeStrict) and as protobufjs's own object form and message. */
function prepare(set: ResourceSet, store: SnapshotStore): Prepared[] {
  const prepared: Prepared[] = [];
  for (const info of resourceTypes) {
    const type = lookupType(info.typeUrl);
    const cached = store.resources(info.typeUrl);
    for (const raw of set[info.kind] ?? []) {
      const { "@type": _type, ...json } = raw as Record<string, unknown>;
      const bytes = cached.get(json[info.nameField] as string)!.bytes;
      const message = type.decode(bytes);
      prepared.push({ type, typeUrl: info.typeUrl, json, plain: type.toObject(message, { longs: Number }), message });
    }
  }
  return prepared;
}

function encodeAlone(prepared: Prepared[]): EncodeRun {
  gc();
  const heapBefore = heap();
  let bytes = 0;
  let cpu = cpuNow();
  let start = performance.now();
  for (const p of prepared) bytes += encodeStrict(p.type, p.json).length;
  const encodeStrictMs = performance.now() - start;
  const encodeStrictCpuMs = cpuNow() - cpu;
  cpu = cpuNow();
  start = performance.now();
  for (const p of prepared) p.type.encode(p.type.fromObject(p.plain)).finish();
  const fromObjectEncodeMs = performance.now() - start;
  const fromObjectEncodeCpuMs = cpuNow() - cpu;
  start = performance.now();
  for (const p of prepared) p.type.encode(p.message).finish();
  const encodeOnlyMs = performance.now() - start;
  return { encodeStrictMs, fromObjectEncodeMs, encodeStrictCpuMs, fromObjectEncodeCpuMs, encodeOnlyMs, bytes, resources: prepared.length, heapDelta: heap() - heapBefore };
}

export async function measureBuilds(spec: ChildSpec, edit: (i: number) => SourceEvent): Promise<BuildMeasurements> {
  const runs = spec.runs ?? 5;
  const cache = createObjectCache({ ingressClassNames: [] });
  cache.applyAll(generateCluster(spec.fixture, spec.size).map((object) => ({ type: "upsert" as const, object })));
  gc();
  const baseline = { rss: process.memoryUsage.rss(), heapUsed: heap() };

  const first = rebuild(cache, createSnapshotStore()).run;
  const warm: RebuildRun[] = [];
  let store = createSnapshotStore();
  let last = rebuild(cache, store);
  warm.push(last.run);
  for (let i = 1; i < runs; i++) {
    store = createSnapshotStore();
    last = rebuild(cache, store);
    warm.push(last.run);
  }
  const liveRepublish: RebuildRun[] = [];
  for (let i = 0; i < runs; i++) liveRepublish.push(rebuild(cache, store).run);

  const changes = measureChanges(cache, edit, runs);

  const maxRssRebuilds = process.resourceUsage().maxRSS * 1024;
  const edits = measureEdits(cache, { fixture: spec.fixture, size: spec.size, runs });
  const { result } = last;
  const prepared = prepare(result.resources, store);
  const encodeFirst = encodeAlone(prepared);
  const encodeWarm: EncodeRun[] = [];
  for (let i = 0; i < runs; i++) encodeWarm.push(encodeAlone(prepared));
  prepared.length = 0;
  gc();
  const steady = { rss: process.memoryUsage.rss(), heapUsed: heap() };
  return {
    objects: cache.counts(),
    resources: Object.fromEntries(Object.entries(result.resources).map(([kind, list]) => [kind, (list as object[]).length])),
    statuses: result.statuses.length,
    notValid: result.statuses.filter((s) => s.currentStatus !== "valid").length,
    rejected: result.rejected.length,
    baselineRss: baseline.rss,
    baselineHeap: baseline.heapUsed,
    first,
    warm,
    liveRepublish,
    changes,
    encodeFirst,
    encodeWarm,
    maxRssRebuilds,
    maxRss: process.resourceUsage().maxRSS * 1024,
    steadyRss: steady.rss,
    steadyHeap: steady.heapUsed,
    edits,
  };
}
