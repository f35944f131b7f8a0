// The live pipeline: source events → object cache → (debounce) → build → snapshot store, and
// the endpoint fast path (an EndpointSlice change recomputes only its load assignments, never
// waiting for a rebuild). Nothing is published before every source has synced once; a build that
// fails or is inconsistent is logged and the last good snapshot keeps being served. The DAG stage is
// incremental (dag/incremental.ts): the cache's change set says which units to rebuild.
import { consola, LogLevels } from "consola";
import { createDagCache } from "../dag/cache.ts";
import { createIncrementalDagBuilder, type IncrementalBuildReport } from "../dag/incremental.ts";
import { edsTargetsByService, loadAssignmentFor, type EdsTarget, type EndpointProblem } from "../envoy/endpoint.ts";
import type { ObjectCache } from "./cache.ts";
import { createDebouncer } from "../sources/debounce.ts";
import type { SourceEvent, SourceHandler, SourceProblem } from "../sources/types.ts";
import type { SnapshotStore } from "../xds/snapshot.ts";
import { resourceKind, TypeUrls } from "../xds/types.ts";
import { validateResource } from "../xds/validate.ts";
import { buildResources, createBuildMemo, resultWith, type BuildOptions, type BuildResult } from "./build.ts";

const log = consola.withTag("pipeline");

export interface PipelineOptions extends BuildOptions {
  holdoffMs: number;
  maxDelayMs: number;
  /** The names of the sources that must sync before the first build. */
  sources: string[];
  /** Adjusts each build before it is published (NACK feedback: quarantined resources, their conditions). */
  beforePublish?: (result: BuildResult) => BuildResult;
}

export interface BuildEvent {
  result: BuildResult;
  /** Type URLs whose content changed with this publish (empty when nothing did). */
  changedTypes: Set<string>;
}

export interface EndpointsEvent {
  services: string[];
  changed: number;
}

export interface Pipeline {
  /** The handler one source feeds; `name` is one of options.sources. */
  handlerFor(name: string): SourceHandler;
  /** Every source synced and the first snapshot published. */
  readonly ready: boolean;
  /** The sources that have not synced yet (readiness reasons). */
  unsynced(): string[];
  readonly lastBuild: BuildResult | undefined;
  /** How the last build made its DAG: incremental, or full and why. */
  readonly lastDagBuild: IncrementalBuildReport | undefined;
  /** The last 100 source problems (a file that does not parse, a watch that failed), newest last. */
  problems(): SourceProblem[];
  onBuild(listener: (event: BuildEvent) => void): () => void;
  onEndpoints(listener: (event: EndpointsEvent) => void): () => void;
  /** Schedules a rebuild (debounced) though no source changed: what may be served did (NACK feedback). */
  rebuild(): void;
  /** Changes build options (an edited ContourConfiguration's global settings) and schedules a rebuild with them. */
  reconfigure(change: { dag?: Partial<BuildOptions["dag"]>; translate?: Partial<NonNullable<BuildOptions["translate"]>> }): void;
  /** Runs a pending rebuild now; resolves when it is done. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export function createPipeline(store: SnapshotStore, cache: ObjectCache, options: PipelineOptions): Pipeline {
  const unsynced = new Set(options.sources);
  const buildListeners = new Set<(event: BuildEvent) => void>();
  const endpointListeners = new Set<(event: EndpointsEvent) => void>();
  const problems: SourceProblem[] = [];
  let lastBuild: BuildResult | undefined;
  // The EDS targets of a Service in the published build: the load-assignment memo's, which follows
  // the build's clusters change by change, while the memo's last build is the one published.
  let targetsOf: (service: string) => EdsTarget[] = () => [];
  // Services whose slices had addresses or ports left out at the last build: a slice change there
  // also rebuilds, so their status warnings follow the slices.
  let servicesWithEndpointProblems = new Set<string>();
  let ready = false;
  let previousRejected: readonly object[] = [];
  // The DAG stage's memory of unchanged objects, and the translation and validation memo, live as
  // long as the pipeline; reconfigure() replaces the options the next builds use.
  const dagBuilder = createIncrementalDagBuilder();
  let buildOptions: BuildOptions = {
    ...options,
    dag: { ...options.dag, cache: options.dag.cache ?? createDagCache() },
    memo: options.memo ?? createBuildMemo(),
    buildDag: (input, dagOptions) => dagBuilder.build(input, dagOptions, cache.takeChanges()),
    dagChange: (dag) => dagBuilder.changeOf(dag),
    endpointChanges: () => cache.takeEndpointChanges(),
  };

  const rebuild = () => {
    if (unsynced.size > 0) return;
    let result: BuildResult;
    try {
      const built = buildResources(cache, buildOptions);
      result = options.beforePublish ? options.beforePublish(built) : built;
      // The delta describes the built set: one that beforePublish replaced is compared whole.
      if (result.resources !== built.resources && result.delta) result = resultWith(result, { delta: undefined });
    } catch (error) {
      log.error(`build failed, still serving the last good snapshot: ${(error as Error).message}`);
      return;
    }
    let changedTypes = new Set<string>();
    try {
      changedTypes = store.publish(result.resources, result.delta).changedTypes;
    } catch (error) {
      log.error(`snapshot not published, still serving the last good one: ${(error as Error).message}`);
      return;
    }
    lastBuild = result;
    targetsOf = targetsFrom(result);
    servicesWithEndpointProblems = new Set(result.endpointProblems.map((p) => `${p.service.namespace}/${p.service.name}`));
    for (const problem of result.endpointProblems) log.warn(`Service ${problem.service.namespace}/${problem.service.name}: ${problem.message}`);
    if (!ready) log.info(`first snapshot published: ${summary(result)}`);
    else if (changedTypes.size > 0 && log.level >= LogLevels.debug) log.debug(`snapshot published: ${summary(result)}; DAG ${describeDagBuild(dagBuilder.last)}`);
    ready = true;
    // A rejection a patched build kept as it was (the same object) was logged when it came.
    const loggedBefore = new Set(result.delta ? previousRejected : []);
    for (const rejected of result.rejected) if (!loggedBefore.has(rejected)) log.warn(`left out ${resourceKind(rejected.typeUrl)} ${rejected.name}: ${rejected.errors[0]?.message ?? "invalid"}`);
    previousRejected = result.rejected;
    for (const listener of buildListeners) listener({ result, changedTypes });
  };

  const targetsFrom = (result: BuildResult): ((service: string) => EdsTarget[]) => {
    const memo = buildOptions.memo!;
    let byService: Map<string, EdsTarget[]> | undefined;
    return (service) => {
      if (memo.last?.dag === result.dag) return memo.endpoints.targetsOf(service);
      byService ??= edsTargetsByService(result.dag.clusters.values());
      return byService.get(service) ?? [];
    };
  };

  const debouncer = createDebouncer({ holdoffMs: options.holdoffMs, maxDelayMs: options.maxDelayMs, run: rebuild });

  const updateEndpoints = (services: string[]) => {
    if (!ready) return;
    const changed: object[] = [];
    let statusChanged = false;
    for (const service of services) {
      let problems = 0;
      const report = (problem: EndpointProblem) => {
        problems++;
        log.warn(`Service ${service}: ${problem.message}`);
      };
      for (const target of targetsOf(service)) {
        const assignment = loadAssignmentFor(target, (namespace, name) => cache.endpointSlices(namespace, name), { policy: options.endpoints, report });
        const errors = validateResource(TypeUrls.endpoint, assignment);
        if (errors.length > 0) log.warn(`load assignment ${target.edsServiceName} left unchanged: ${errors[0]!.path}: ${errors[0]!.message}`);
        else changed.push(assignment);
      }
      if (problems > 0 || servicesWithEndpointProblems.has(service)) statusChanged = true;
    }
    if (statusChanged) debouncer.trigger();
    if (changed.length === 0) return;
    store.updateEndpoints(changed);
    for (const listener of endpointListeners) listener({ services, changed: changed.length });
  };

  const onEvents = (events: SourceEvent[]) => {
    const result = cache.applyAll(events);
    if (result.affectsDag) debouncer.trigger();
    else if (result.affectsEndpoints && result.endpointServices) updateEndpoints(result.endpointServices);
  };

  return {
    handlerFor(name) {
      return {
        onEvents,
        onSynced() {
          if (!unsynced.delete(name)) return;
          log.debug(`source ${name} synced`);
          if (unsynced.size === 0) void debouncer.flush().then(() => (ready ? undefined : rebuild()));
        },
        onProblem(problem) {
          problems.push(problem);
          if (problems.length > 100) problems.shift();
          log.warn(problem.message);
        },
      };
    },
    get ready() {
      return ready;
    },
    unsynced: () => [...unsynced],
    get lastBuild() {
      return lastBuild;
    },
    get lastDagBuild() {
      return dagBuilder.last;
    },
    problems: () => [...problems],
    onBuild(listener) {
      buildListeners.add(listener);
      return () => buildListeners.delete(listener);
    },
    onEndpoints(listener) {
      endpointListeners.add(listener);
      return () => endpointListeners.delete(listener);
    },
    rebuild: () => debouncer.trigger(),
    reconfigure(change) {
      buildOptions = { ...buildOptions, dag: { ...buildOptions.dag, ...change.dag }, translate: { ...buildOptions.translate, ...change.translate } };
      debouncer.trigger();
    },
    flush: () => debouncer.flush(),
    stop: () => debouncer.stop(),
  };
}

function summary(result: BuildResult): string {
  const r = result.resources;
  const invalid = result.statuses.filter((s) => s.currentStatus !== "valid").length;
  return `${r.listeners.length} listeners, ${r.routes.length} route configs, ${r.clusters.length} clusters, ${r.endpoints.length} load assignments, ${r.secrets.length} secrets; ${result.statuses.length} objects (${invalid} not valid) in ${result.timings.total.toFixed(0)} ms`;
}

function describeDagBuild(report: IncrementalBuildReport | undefined): string {
  if (!report) return "not built";
  return report.mode === "incremental" ? `incremental (${report.rebuilt} units rebuilt)` : `${report.mode} build (${report.reason ?? ""})`;
}
