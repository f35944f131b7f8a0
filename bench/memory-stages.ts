// `bun bench/memory-stages.ts <apps>`: where the agent's JS heap goes at the kube bench's dataset
// (test/fake-apiserver/dataset.ts), stage by stage, in one process: the object cache, the
// incremental DAG builder's first (full) build and what it keeps, the reference DAG for comparison,
// translate + endpoints + validate, and the snapshot store's publish. Each figure is the heap after
// a full GC with everything before it still held; objects are parsed from JSON one by one, as the
// Kubernetes source receives them. Prints one JSON line; `--types` adds the largest object types.
import { heapStats } from "bun:jsc";
import { buildDag } from "../src/dag/builder.ts";
import { createDagCache } from "../src/dag/cache.ts";
import { createIncrementalDagBuilder } from "../src/dag/incremental.ts";
import type { DagOptions } from "../src/dag/processor.ts";
import { buildResources, createBuildMemo } from "../src/pipeline/build.ts";
import { createObjectCache } from "../src/pipeline/cache.ts";
import { createSnapshotStore } from "../src/xds/snapshot.ts";
import { generateDataset, namespaceOf } from "../test/fake-apiserver/dataset.ts";
import { createStringPool, slimObject } from "../src/sources/kube-transform.ts";
import type { KubeObject } from "../src/sources/types.ts";

const apps = Number(process.argv[2] ?? 10_000);
const showTypes = process.argv.includes("--types");
const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const cpu = () => {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
};

const stages: Record<string, { heapMiB: number; deltaMiB: number; cpuMs?: number }> = {};
let lastHeap = 0;
let lastCounts: Record<string, number> = {};
const typeDeltas: Record<string, Array<[string, number]>> = {};
function mark(stage: string, cpuMs?: number): void {
  Bun.gc(true);
  const heap = process.memoryUsage().heapUsed;
  stages[stage] = { heapMiB: mib(heap), deltaMiB: mib(heap - lastHeap), ...(cpuMs === undefined ? {} : { cpuMs: Math.round(cpuMs) }) };
  lastHeap = heap;
  if (!showTypes) return;
  const counts = heapStats().objectTypeCounts;
  typeDeltas[stage] = Object.entries(counts)
    .map(([type, n]): [string, number] => [type, n - (lastCounts[type] ?? 0)])
    .filter(([, n]) => n > apps / 2)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12);
  lastCounts = counts;
}

mark("baseline");
const cache = createObjectCache({ ingressClassNames: [] });
{
  // Parsed and slimmed as the Kubernetes source does, kind by kind so each kind's share shows.
  const dataset = { apps, tlsSecrets: apps / 2, unrelatedSecrets: Math.min(apps / 2, 5000), unrelatedKiB: 16, helmReleases: 0 };
  const byKind = new Map<string, string[]>();
  const pool = createStringPool();
  // Stamped as the API server stamps what it stores (test/fake-apiserver/store.ts): the agent holds these fields too.
  let resourceVersion = 1000;
  const created = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  await generateDataset(dataset, (object) => {
    const metadata = object.metadata as KubeObject["metadata"] & Record<string, unknown>;
    metadata.uid = `uid-${resourceVersion}`;
    metadata.creationTimestamp = created;
    metadata.resourceVersion = String(++resourceVersion);
    if (object.kind === "Ingress" || object.kind === "EndpointSlice") metadata.generation = 1;
    metadata.managedFields = [{ manager: "kubectl", operation: "Update", apiVersion: object.apiVersion, time: created, fieldsType: "FieldsV1", fieldsV1: { "f:metadata": {} } }];
    const list = byKind.get(object.kind) ?? byKind.set(object.kind, []).get(object.kind)!;
    list.push(JSON.stringify(object));
  });
  mark("dataset JSON (dropped kind by kind)");
  for (const [kind, texts] of byKind) {
    const t0 = cpu();
    const size = texts.reduce((sum, text) => sum + text.length, 0);
    for (let i = 0; i < texts.length; i++) {
      const parsed = JSON.parse(texts[i]!) as KubeObject;
      texts[i] = "";
      const object = slimObject(parsed, parsed.apiVersion, parsed.kind, pool);
      if (object) cache.apply({ type: "upsert", object });
    }
    byKind.set(kind, []);
    lastHeap -= size; // the JSON text dropped (one byte per character)
    mark(`object cache: ${kind}`, cpu() - t0);
  }
  cache.takeChanges();
}
const options: DagOptions = { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => new Date(), cache: createDagCache() };
const builder = createIncrementalDagBuilder();
let t0 = cpu();
const dag = builder.build(cache, options);
mark("incremental builder: first build (DAG + state)", cpu() - t0);
t0 = cpu();
let reference: unknown = buildDag(cache, { ...options, cache: createDagCache() });
mark("reference DAG (for comparison)", cpu() - t0);
reference = undefined;
mark("reference DAG dropped");
void reference;
t0 = cpu();
// With the build memo, as the pipeline builds (pipeline/run.ts): what it remembers is held too.
const memo = createBuildMemo();
const result = buildResources(cache, { dag: options, memo, buildDag: () => dag });
mark("translate + endpoints + validate (+ statuses, owners)", cpu() - t0);
const store = createSnapshotStore();
t0 = cpu();
store.publish(result.resources);
mark("snapshot store publish", cpu() - t0);
// One Ingress edited at a time (a path added), each followed by the incremental DAG build: the
// median CPU of 21 (cache apply, change set, DAG build).
const editCpus: number[] = [];
for (let i = 0; i < 21; i++) {
  const index = (i * 7919 + 11) % apps;
  const name = `app-${index}`;
  const edited = cache.ingress!(namespaceOf(index, 100), name)!;
  t0 = cpu();
  const spec = structuredClone(edited.spec) as { rules: Array<{ http: { paths: unknown[] } }> };
  spec.rules[0]!.http.paths.push({ path: `/edit-${i}`, pathType: "Prefix", backend: { service: { name, port: { number: 80 } } } });
  cache.apply({ type: "upsert", object: { ...edited, metadata: { ...edited.metadata, resourceVersion: `edited-${i}` }, spec } });
  builder.build(cache, options, cache.takeChanges());
  editCpus.push(cpu() - t0);
  if (builder.last?.mode !== "incremental") throw new Error(`memory-stages: edit ${i} was built ${builder.last?.mode}`);
}
const editCpu = editCpus.sort((a, b) => a - b)[10]!;
console.log(JSON.stringify({ apps, stages, editDagCpuMs: Math.round(editCpu * 10) / 10, ...endMemory(), ...(showTypes ? { typeDeltas } : {}) }, null, showTypes ? 1 : 0));
/** The process at the end: RSS, and of the JS heap what is used, what it holds from the system, and what lives outside its cells (string contents, buffers). */
function endMemory() {
  Bun.gc(true);
  const stats = heapStats();
  return { rssMiB: mib(process.memoryUsage().rss), heapUsedMiB: mib(stats.heapSize), heapCapacityMiB: mib(stats.heapCapacity), extraMemoryMiB: mib(stats.extraMemorySize) };
}
void result;
void store;
void memo;
