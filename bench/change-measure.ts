// One change in build mode (pipeline-child.ts build), with the build memo the agent's pipeline holds
// and a live snapshot store, stage by stage:
// - "edited": one object of the fixture changed in the cache, then buildResources as the pipeline
//   runs it (the incremental DAG builder, the memo, the DAG's change and the EndpointSlice changes:
//   the build's fast path) and a publish of the result and its delta into the live store.
// - "reused nodes": what an incremental DAG hands over, the previous DAG with one virtual host
//   replaced and every other node the same object, translated, given load assignments, validated and
//   published with the memo: the cost of translation, validation and encoding for one change. The
//   publish passes an exact ResourceDelta (found here by identity from the two sets, as the build
//   knows it), so the store takes its delta path; a second store is given the same sets without one
//   (its whole-set path, the reference) for the side-by-side figure.
import { createIncrementalDagBuilder } from "../src/dag/incremental.ts";
import { buildResources, createBuildMemo, type BuildMemo, type BuildOptions } from "../src/pipeline/build.ts";
import type { ObjectCache } from "../src/pipeline/cache.ts";
import type { Dag, VirtualHost } from "../src/dag/types.ts";
import { createSnapshotStore, type SnapshotStore } from "../src/xds/snapshot.ts";
import type { ChangedResources, ResourceDelta } from "../src/xds/resource-delta.ts";
import { resourceTypes, type ResourceSet } from "../src/xds/types.ts";
import { validateSnapshot } from "../src/xds/validate-snapshot.ts";
import { benchDagOptions } from "./fixtures.ts";

export interface ChangeRun {
  dagMs: number;
  translateMs: number;
  endpointsMs: number;
  validateMs: number;
  publishMs: number;
  /** The same publish without a delta, into a store kept beside (reused nodes only; 0 otherwise). */
  publishWholeMs: number;
  /** 1 when the store took the delta path (reused nodes only). */
  fromDelta: number;
  totalMs: number;
  cpuMs: number;
  /** Virtual hosts translated anew, load assignments computed anew, resources and entries checked anew. */
  virtualHostsTranslated: number;
  loadAssignmentsComputed: number;
  resourcesChecked: number;
  entriesChecked: number;
}

export interface ChangeMeasurements {
  edited: ChangeRun[];
  reusedNodes: ChangeRun[];
}

function cpuNow(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function counts(memo: BuildMemo, checkedBefore: { resources: number; entries: number }) {
  return {
    virtualHostsTranslated: memo.translation.translated.virtualHosts,
    loadAssignmentsComputed: memo.endpoints.computed,
    resourcesChecked: memo.validation.checked.resources - checkedBefore.resources,
    entriesChecked: memo.validation.checked.entries - checkedBefore.entries,
  };
}

/** The previous DAG with the virtual host at `index` of its first HTTP listener replaced by one whose first route has another timeout. */
export function withOneHostChanged(dag: Dag, index: number, timeoutMs: number): Dag {
  const http = dag.listeners.find((listener) => listener.virtualHosts.length > 0);
  if (!http) return dag;
  const old = http.virtualHosts[index % http.virtualHosts.length]!;
  const changed: VirtualHost = { ...old, routes: old.routes.map((route, i) => (i === 0 ? { ...route, timeout: { ...route.timeout, responseMs: timeoutMs } } : route)) };
  const listener = { ...http, virtualHosts: http.virtualHosts.map((vhost) => (vhost === old ? changed : vhost)) };
  return { ...dag, virtualHosts: new Map(dag.virtualHosts).set(old.name, changed), listeners: dag.listeners.map((l) => (l === http ? listener : l)) };
}

/** `edit(i)` gives the i-th changed object (a new generation of one object of the fixture). */
export function measureChanges(cache: ObjectCache, edit: (i: number) => Parameters<ObjectCache["applyAll"]>[0][number], runs: number): ChangeMeasurements {
  const memo = createBuildMemo();
  const store: SnapshotStore = createSnapshotStore();
  const builder = createIncrementalDagBuilder();
  const live: BuildOptions = {
    dag: benchDagOptions,
    memo,
    buildDag: (input, options) => builder.build(input, options, cache.takeChanges()),
    dagChange: (dag) => builder.changeOf(dag),
    endpointChanges: () => cache.takeEndpointChanges(),
  };
  let result = buildResources(cache, live);
  store.publish(result.resources, result.delta);
  // The same sets without their delta: the store's whole-set path, the reference, side by side.
  const wholeEdited: SnapshotStore = createSnapshotStore();
  wholeEdited.publish(result.resources);
  const edited: ChangeRun[] = [];
  for (let i = 0; i < runs; i++) {
    cache.applyAll([edit(i)]);
    Bun.gc(true);
    const checked = { ...memo.validation.checked };
    const cpu = cpuNow();
    const start = performance.now();
    result = buildResources(cache, live);
    const built = performance.now();
    const { fromDelta } = store.publish(result.resources, result.delta);
    const end = performance.now();
    const cpuEnd = cpuNow();
    wholeEdited.publish(result.resources);
    const publishWholeMs = performance.now() - end;
    const t = result.timings;
    edited.push({ dagMs: t.dag, translateMs: t.translate, endpointsMs: t.endpoints, validateMs: t.validate, publishMs: end - built, publishWholeMs, fromDelta: Number(fromDelta), totalMs: end - start, cpuMs: cpuEnd - cpu, ...counts(memo, checked) });
  }
  const reusedNodes: ChangeRun[] = [];
  let dag = result.dag;
  let published = result.resources;
  const whole: SnapshotStore = createSnapshotStore();
  whole.publish(published);
  const lookup = (namespace: string, name: string) => cache.endpointSlices(namespace, name);
  for (let i = 0; i < runs; i++) {
    dag = withOneHostChanged(dag, i * 7919, 20_000 + i);
    Bun.gc(true);
    const checked = { ...memo.validation.checked };
    const cpu = cpuNow();
    const t0 = performance.now();
    const translation = memo.translation.translate(dag);
    const t1 = performance.now();
    const endpoints = memo.endpoints.loadAssignments(dag.clusters.values(), lookup);
    const t2 = performance.now();
    const { valid } = validateSnapshot({ ...translation, endpoints }, { memo: memo.validation });
    const t3 = performance.now();
    const cpuBuilt = cpuNow();
    const delta = deltaByIdentity(published, valid);
    const cpuDelta = cpuNow();
    const t4 = performance.now();
    const { fromDelta } = store.publish(valid, delta);
    const t5 = performance.now();
    const cpuEnd = cpuNow();
    whole.publish(valid);
    const t6 = performance.now();
    published = valid;
    const publishMs = t5 - t4;
    reusedNodes.push({ dagMs: 0, translateMs: t1 - t0, endpointsMs: t2 - t1, validateMs: t3 - t2, publishMs, publishWholeMs: t6 - t5, fromDelta: Number(fromDelta), totalMs: t3 - t0 + publishMs, cpuMs: cpuBuilt - cpu + (cpuEnd - cpuDelta), ...counts(memo, checked) });
  }
  return { edited, reusedNodes };
}

/**
 * The exact ResourceDelta from `base` to `next`, found by identity (what the build knows without
 * looking; the bench may walk both sets, the store never does): per kind the names whose object
 * differs, and per changed route configuration whose other fields are the same values, its hosts.
 */
export function deltaByIdentity(base: ResourceSet, next: ResourceSet): ResourceDelta {
  const changed: Record<string, Map<string, object | undefined>> = {};
  const virtualHosts = new Map<string, ChangedResources>();
  for (const info of resourceTypes) {
    if (info.kind === "virtualHosts") continue;
    const named = (list: object[] | undefined) => new Map((list ?? []).map((r) => [(r as Record<string, unknown>)[info.nameField] as string, r]));
    const before = named(base[info.kind]);
    const after = named(next[info.kind]);
    const kindChanged = new Map<string, object | undefined>();
    for (const [name, resource] of after) if (before.get(name) !== resource) kindChanged.set(name, resource);
    for (const name of before.keys()) if (!after.has(name)) kindChanged.set(name, undefined);
    const sameList = (base[info.kind] ?? []).length === (next[info.kind] ?? []).length && (next[info.kind] ?? []).every((r, i) => r === base[info.kind]![i]);
    if (!sameList) changed[info.kind] = kindChanged;
    if (info.kind !== "routes") continue;
    for (const [name, resource] of kindChanged) {
      const was = before.get(name) as Record<string, unknown> | undefined;
      const now = resource as Record<string, unknown> | undefined;
      if (!was || !now) continue;
      const keys = new Set([...Object.keys(was), ...Object.keys(now)]);
      keys.delete("virtual_hosts");
      if ([...keys].some((key) => was[key] !== now[key])) continue;
      const hostsOf = (config: Record<string, unknown>) => new Map(((config.virtual_hosts as Array<Record<string, unknown>> | undefined) ?? []).map((h) => [h.name as string, h as object]));
      const oldHosts = hostsOf(was);
      const newHosts = hostsOf(now);
      const hosts = new Map<string, object | undefined>();
      for (const [host, vhost] of newHosts) if (oldHosts.get(host) !== vhost) hosts.set(host, vhost);
      for (const host of oldHosts.keys()) if (!newHosts.has(host)) hosts.set(host, undefined);
      virtualHosts.set(name, hosts);
    }
  }
  return { base, changed, virtualHosts };
}
