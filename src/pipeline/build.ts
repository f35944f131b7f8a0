// One full build, as a pure function of the cache: DAG → Envoy resources → load assignments →
// validation. What the validator rejects is left out and becomes a condition on the objects that
// produced it. Used by `agent serve` on every rebuild, by `agent validate`, golden tests and benchmarks.
import { buildDag } from "../dag/builder.ts";
import type { DagInput, DagOptions } from "../dag/processor.ts";
import type { ObjectRef, ObjectStatus, StatusRecorder } from "../dag/status.ts";
import type { Dag } from "../dag/types.ts";
import { loadAssignments, type EndpointOptions, type EndpointPolicy, type EndpointProblem, type EndpointSliceLookup } from "../envoy/endpoint.ts";
import { resourceOwners, type ResourceOwners } from "../envoy/ownership.ts";
import { translate, type TranslateOptions } from "../envoy/translate.ts";
import { createTranslationMemo, type TranslationMemo } from "../envoy/translate-memo.ts";
import { createLoadAssignmentMemo, type LoadAssignmentMemo } from "../envoy/endpoint-memo.ts";
import { createValidationMemo, type ValidationMemo } from "../xds/validate-memo.ts";
import type { ObjectCache } from "./cache.ts";
import { resourceKind, TypeUrls, type ResourceSet } from "../xds/types.ts";
import { validateSnapshot, type RejectedResource, type SnapshotValidation } from "../xds/validate-snapshot.ts";
import type { DagChange } from "../dag/incremental.ts";
import { patchBuild, type LastBuild } from "./build-patch.ts";
import type { ResourceDelta } from "../xds/resource-delta.ts";
import type { ValidationError } from "../xds/validate-scalar.ts";

export interface BuildOptions {
  dag: DagOptions;
  /**
   * What earlier builds translated, computed and validated, by DAG node, EndpointSlice and resource object (createBuildMemo):
   * held by whoever runs the builds, so a rebuild's cost follows what changed. Without it every build
   * translates and validates everything.
   */
  memo?: BuildMemo;
  translate?: TranslateOptions;
  /** Which EndpointSlice addresses are served (default: unicast addresses of other hosts only). */
  endpoints?: EndpointPolicy;
  /**
   * Builds the DAG (default: buildDag, the reference). The live pipeline passes its incremental
   * builder (dag/incremental.ts), which must return what buildDag would.
   */
  buildDag?: (input: DagInput, options: DagOptions) => Dag;
  /**
   * How a DAG that buildDag just gave differs from the one before it (the incremental builder's
   * changeOf), when it knows: with a memo, the later stages then redo only that (build-patch.ts).
   */
  dagChange?: (dag: Dag) => DagChange | undefined;
  /**
   * The Services (`namespace/name`) whose EndpointSlices changed since the last call (ObjectCache's
   * takeEndpointChanges); called once per build with a memo. Without it no build is patched.
   */
  endpointChanges?: () => Iterable<string>;
}

export interface BuildResult {
  dag: Dag;
  /** The validated, consistent set to publish. */
  resources: ResourceSet;
  /** What the validator left out (or pruned), with the reasons. */
  rejected: RejectedResource[];
  owners: ResourceOwners;
  statuses: ObjectStatus[];
  /** EndpointSlice addresses and ports left out (also warnings on their Services' statuses). */
  endpointProblems: EndpointProblem[];
  /**
   * How `resources` differs from the previous build's `resources` (the set `delta.base` is), when this
   * build knows it; the store then looks only at those names.
   */
  delta?: ResourceDelta;
  /**
   * When this build patched the previous one (the fast path): the refKeys whose status the DAG
   * changed, and the previous build's statuses. changedStatuses() reads which statuses differ.
   */
  statusChanges?: { previous: StatusRecorder; dag: ReadonlySet<string> };
  /** Milliseconds per stage. */
  timings: { dag: number; translate: number; endpoints: number; validate: number; total: number };
}

export type BuildInput = Pick<ObjectCache, "ingresses" | "httpProxies" | "tlsCertificateDelegations" | "service" | "secret" | "endpointSlices"> & Partial<Pick<ObjectCache, "gatewayApi">>;

export interface BuildMemo {
  translation: TranslationMemo;
  endpoints: LoadAssignmentMemo;
  validation: ValidationMemo;
  /** The last build that completed, for the next one to patch. */
  last?: LastBuild;
}

export function createBuildMemo(): BuildMemo {
  return { translation: createTranslationMemo(), endpoints: createLoadAssignmentMemo(), validation: createValidationMemo() };
}

export function buildResources(input: BuildInput, options: BuildOptions): BuildResult {
  const { memo } = options;
  const last = memo?.last;
  if (memo) memo.last = undefined;
  const t0 = performance.now();
  const dag = (options.buildDag ?? buildDag)(input, options.dag);
  const t1 = performance.now();
  const endpointServices = memo ? options.endpointChanges?.() : undefined;
  const lookup: EndpointSliceLookup = (namespace, name) => input.endpointSlices(namespace, name);
  const endpointProblems: EndpointProblem[] = [];
  const endpointOptions: EndpointOptions = {
    policy: options.endpoints,
    report: (problem) => {
      endpointProblems.push(problem);
      dag.status.warning({ kind: "Service", ...problem.service }, { type: "EndpointError", reason: problem.reason, message: problem.message });
    },
  };
  const change = memo && last && endpointServices ? options.dagChange?.(dag) : undefined;
  const patched = change && patchBuild(last!, dag, change, { memo: memo!, translate: options.translate, endpointServices: endpointServices!, endpointSlices: lookup, endpointOptions });
  let given: ResourceSet;
  let validation: SnapshotValidation;
  let t2: number;
  let t3: number;
  if (patched) {
    ({ given, validation } = patched);
    ({ translated: t2, assigned: t3 } = patched.marks);
  } else {
    endpointProblems.length = 0;
    const translation = memo ? memo.translation.translate(dag, options.translate) : translate(dag, options.translate);
    t2 = performance.now();
    const endpoints = memo ? memo.endpoints.loadAssignments(dag.clusters.values(), lookup, endpointOptions) : loadAssignments(dag.clusters.values(), lookup, endpointOptions);
    t3 = performance.now();
    given = { ...translation, endpoints };
    validation = validateSnapshot(given, { memo: memo?.validation });
  }
  const t4 = performance.now();
  const { valid, rejected } = validation;
  const owners = resourceOwners(dag);
  recordRejections(dag, owners, rejected);
  if (memo) memo.last = { dag, given, validation, state: patched?.state };
  const statuses = statusesOf(dag.status);
  const result: BuildResult = {
    dag,
    resources: valid,
    rejected,
    owners,
    // Sorted when read (again after a later condition, NACK feedback's): most consumers follow the status changes instead.
    get statuses() {
      return statuses();
    },
    endpointProblems,
    timings: { dag: t1 - t0, translate: t2 - t1, endpoints: t3 - t2, validate: t4 - t3, total: t4 - t0 },
  };
  if (patched) {
    result.delta = patched.delta;
    result.statusChanges = { previous: change!.previous.status, dag: change!.statuses };
  }
  return result;
}

/** A recorder's statuses as all() sorts them, sorted again only when read after a change. */
export function statusesOf(recorder: StatusRecorder): () => ObjectStatus[] {
  let sorted: { revision: number; statuses: ObjectStatus[] } | undefined;
  return () => {
    if (sorted?.revision !== recorder.revision) sorted = { revision: recorder.revision, statuses: recorder.all() };
    return sorted.statuses;
  };
}

/**
 * `result` with `changes` and its statuses read from its DAG's recorder when asked, never sorted
 * here (a spread would read, and so sort, every status).
 */
export function resultWith(result: BuildResult, changes: Partial<Omit<BuildResult, "statuses">>): BuildResult {
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(result)) as BuildResult;
  const statuses = statusesOf(result.dag.status);
  Object.defineProperty(copy, "statuses", { get: statuses, enumerable: true, configurable: true });
  return Object.assign(copy, changes);
}

/**
 * The statuses of `result` that differ from those of the build before it (by refKey; undefined for
 * one gone), read now, so after every later change (NACK feedback's); undefined when the build does
 * not know (a full build): then compare whole lists.
 */
export function changedStatuses(result: Pick<BuildResult, "dag" | "statusChanges">): Map<string, ObjectStatus | undefined> | undefined {
  const changes = result.statusChanges;
  if (!changes) return undefined;
  const out = new Map<string, ObjectStatus | undefined>();
  for (const keys of [changes.dag, changes.previous.written(), result.dag.status.written()]) {
    for (const key of keys) {
      const status = result.dag.status.byKey(key);
      if (status !== changes.previous.byKey(key)) out.set(key, status);
    }
  }
  return out;
}

/** Puts each rejection on the objects behind it: the whole resource's owners, or the left-out virtual host's or filter chain's. */
export function recordRejections(dag: Dag, owners: ResourceOwners, rejected: RejectedResource[]): void {
  for (const rejection of rejected) {
    const kind = resourceKind(rejection.typeUrl);
    const report = (refs: ObjectRef[], errors: ValidationError[]) => {
      for (const error of errors) {
        const message = `Envoy would reject ${kind} ${JSON.stringify(rejection.name)}${rejection.partial ? " (the rest of it is still served)" : ""}: ${error.path}: ${error.message}`;
        for (const ref of refs) dag.status.error(ref, { type: "EnvoyConfigError", reason: "ResourceRejected", message });
      }
    };
    if (!rejection.parts) {
      report(owners.of(rejection.typeUrl, rejection.name), rejection.errors);
      continue;
    }
    for (const part of rejection.parts) {
      const refs = rejection.typeUrl === TypeUrls.route ? owners.ofVirtualHost(rejection.name, part.name) : owners.ofFilterChain(rejection.name, part.name);
      report(refs.length > 0 ? refs : owners.of(rejection.typeUrl, rejection.name), part.errors);
    }
  }
}
