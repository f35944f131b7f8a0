// One change in build mode (pipeline-child.ts build), with the build memo the agent's pipeline holds
// and a live snapshot store, stage by stage:
// - "edited": one object of the fixture changed in the cache, then buildResources as the pipeline
//   runs it (the incremental DAG builder, the memo, the DAG's change and the EndpointSlice changes:
//   the build's fast path) and a publish of the result and its delta into the live store.
// - "reused nodes": what an incremental DAG hands over, the previous DAG with one virtual host
//   replaced and every other node the same object, translated, given load assignments, validated and
//   published with the memo: the cost of translation, validation and encoding for one change.
import { createIncrementalDagBuilder } from "../src/dag/incremental.ts";
import { buildResources, createBuildMemo, type BuildMemo, type BuildOptions } from "../src/pipeline/build.ts";
import type { ObjectCache } from "../src/pipeline/cache.ts";
import type { Dag, VirtualHost } from "../src/dag/types.ts";
import { createSnapshotStore, type SnapshotStore } from "../src/xds/snapshot.ts";
import { validateSnapshot } from "../src/xds/validate-snapshot.ts";
import { benchDagOptions } from "./fixtures.ts";

export interface ChangeRun {
  dagMs: number;
  translateMs: number;
  endpointsMs: number;
  validateMs: number;
  publishMs: number;
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
function withOneHostChanged(dag: Dag, index: number, timeoutMs: number): Dag {
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
  const edited: ChangeRun[] = [];
  for (let i = 0; i < runs; i++) {
    cache.applyAll([edit(i)]);
    Bun.gc(true);
    const checked = { ...memo.validation.checked };
    const cpu = cpuNow();
    const start = performance.now();
    result = buildResources(cache, live);
    const built = performance.now();
    store.publish(result.resources, result.delta);
    const end = performance.now();
    const t = result.timings;
    edited.push({ dagMs: t.dag, translateMs: t.translate, endpointsMs: t.endpoints, validateMs: t.validate, publishMs: end - built, totalMs: end - start, cpuMs: cpuNow() - cpu, ...counts(memo, checked) });
  }
  const reusedNodes: ChangeRun[] = [];
  let dag = result.dag;
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
    store.publish(valid);
    const t4 = performance.now();
    reusedNodes.push({ dagMs: 0, translateMs: t1 - t0, endpointsMs: t2 - t1, validateMs: t3 - t2, publishMs: t4 - t3, totalMs: t4 - t0, cpuMs: cpuNow() - cpu, ...counts(memo, checked) });
  }
  return { edited, reusedNodes };
}
