// The build's fast path after an incremental DAG build (dag/incremental.ts reports what changed):
// translation, load assignments and validation each start from the last build's outcome and redo
// only what the change names (translate-memo.ts patch, endpoint-memo.ts patch, validate-patch.ts),
// and the change of the published set comes out as a ResourceDelta for the snapshot store. The full
// path (build.ts) is the reference: the property test in test/build-patch.property.test.ts holds the
// two equal, resource by resource and status by status.
import { findSorted } from "../base/sorted.ts";
import type { DagChange } from "../dag/incremental.ts";
import { HTTP_ROUTE_CONFIG, HTTPS_LISTENER } from "../dag/names.ts";
import type { Dag } from "../dag/types.ts";
import type { JsonObject } from "../envoy/common.ts";
import type { EndpointOptions, EndpointSliceLookup } from "../envoy/endpoint.ts";
import type { TranslateOptions } from "../envoy/translate.ts";
import type { ResourceDelta, ChangedResources } from "../xds/resource-delta.ts";
import type { ResourceSet } from "../xds/types.ts";
import { patchValidation, validationState, type ValidationState } from "../xds/validate-patch.ts";
import type { SnapshotValidation } from "../xds/validate-snapshot.ts";
import type { LoadAssignmentMemo } from "../envoy/endpoint-memo.ts";
import type { TranslationMemo } from "../envoy/translate-memo.ts";
import type { EntryChange, ValidationMemo } from "../xds/validate-memo.ts";

/** The memos of build.ts's BuildMemo that the patch moves on. */
interface StageMemos {
  translation: TranslationMemo;
  endpoints: LoadAssignmentMemo;
  validation: ValidationMemo;
}

/** What the last build left for the next one to patch: its DAG, the set it validated, the outcome. */
export interface LastBuild {
  dag: Dag;
  given: ResourceSet;
  validation: SnapshotValidation;
  /** Made from the outcome at the first patch (undefined until then); null when the set cannot be patched. */
  state?: ValidationState | null;
}

export interface PatchedBuild {
  given: ResourceSet;
  validation: SnapshotValidation;
  delta: ResourceDelta;
  state: ValidationState;
  /** Milliseconds at the end of translation and of load assignments. */
  marks: { translated: number; assigned: number };
}

/**
 * The build of `dag` from `last` (the build of `change.previous`), or undefined when a stage cannot
 * patch (other options, a list not sorted by unique names): then the caller builds the full way.
 */
export function patchBuild(
  last: LastBuild,
  dag: Dag,
  change: DagChange,
  stages: { memo: StageMemos; translate?: TranslateOptions; endpointServices: Iterable<string>; endpointSlices: EndpointSliceLookup; endpointOptions: EndpointOptions },
): PatchedBuild | undefined {
  if (last.dag !== change.previous) return undefined;
  if (last.state === undefined) last.state = validationState(last.given, last.validation) ?? null;
  if (last.state === null) return undefined;
  const { memo } = stages;
  const translated = memo.translation.patch(dag, change, stages.translate);
  if (!translated) return undefined;
  const translatedAt = performance.now();
  const endpoints = memo.endpoints.patch({ before: change.previous.clusters, clusters: dag.clusters, changed: change.clusters, services: stages.endpointServices }, stages.endpointSlices, stages.endpointOptions);
  if (!endpoints) return undefined;
  const assignedAt = performance.now();
  const given: ResourceSet = { ...translated.translation, endpoints: endpoints.assignments };
  const { changed } = translated;
  // The large route configuration changed in a few virtual hosts: those are all validation must look at.
  const routeEntries = new Map<string, EntryChange>();
  const httpBefore = changed.httpVirtualHosts && findSorted(last.given.routes, HTTP_ROUTE_CONFIG, byName);
  const httpAfter = httpBefore && findSorted(given.routes, HTTP_ROUTE_CONFIG, byName);
  if (httpBefore && httpAfter) {
    const hosts = (httpAfter as JsonObject).virtual_hosts as JsonObject[];
    const entries = [...changed.httpVirtualHosts!].flatMap((name): JsonObject[] => {
      const host = findSorted(hosts, name, byName);
      return host ? [host] : [];
    });
    routeEntries.set(HTTP_ROUTE_CONFIG, { previous: httpBefore, entries });
  }
  const entryChanges = { routes: routeEntries, listeners: new Map(changed.tlsChains ? [[HTTPS_LISTENER, changed.tlsChains]] : []) };
  const patched = patchValidation(last.state, given, { listeners: changed.listeners, routes: changed.routes, clusters: changed.clusters, secrets: changed.secrets, endpoints: endpoints.changed }, { memo: memo.validation, entryChanges });
  const base = last.validation.valid;
  const next = patched.validation.valid;
  const delta: { base: ResourceSet; changed: ResourceDelta["changed"]; virtualHosts?: Map<string, ChangedResources>; filterChains?: Map<string, ChangedResources> } = { base, changed: {} };
  for (const [kind, names] of Object.entries(patched.changed) as Array<[keyof typeof patched.changed, Set<string>]>) {
    if (names.size === 0) continue;
    const nameField = kind === "endpoints" ? "cluster_name" : "name";
    const of = (resource: object) => (resource as JsonObject)[nameField] as string;
    delta.changed[kind] = new Map([...names].map((name) => [name, findSorted(next[kind], name, of)]));
  }
  const rejected = [...patched.validation.rejected, ...last.validation.rejected];
  const hosts = changed.httpVirtualHosts && patched.changed.routes.has(HTTP_ROUTE_CONFIG) ? changedEntries({ base, next }, { kind: "routes", name: HTTP_ROUTE_CONFIG, field: "virtual_hosts", find: hostIn }, changed.httpVirtualHosts, rejected) : undefined;
  if (hosts) delta.virtualHosts = new Map([[HTTP_ROUTE_CONFIG, hosts]]);
  const chains = changed.tlsChains && patched.changed.listeners.has(HTTPS_LISTENER) ? changedEntries({ base, next }, { kind: "listeners", name: HTTPS_LISTENER, field: "filter_chains", find: chainIn }, changed.tlsChains.names, rejected) : undefined;
  if (chains) delta.filterChains = new Map([[HTTPS_LISTENER, chains]]);
  return { given, validation: patched.validation, delta, state: patched.state, marks: { translated: translatedAt, assigned: assignedAt } };
}

const byName = (resource: object) => (resource as JsonObject).name as string;

/** A route configuration's virtual host by name (they are sorted by name). */
const hostIn = (hosts: JsonObject[], name: string) => findSorted(hosts, name, byName);

/** A listener's filter chain by name: sorted by name but for the fallback certificate's, which comes last. */
function chainIn(chains: JsonObject[], name: string): JsonObject | undefined {
  const last = chains[chains.length - 1];
  if (last && last.name === name) return last;
  return findSorted(chains, name, byName, chains.length - 1);
}

/**
 * The entries of one large resource (`ingress_http`'s virtual hosts, `ingress_https`'s filter chains)
 * that differ between the two published sets, when nothing else of it does: those the translation put
 * (made anew or gone), and those left out (pruned) in either set.
 */
function changedEntries(
  sets: { base: ResourceSet; next: ResourceSet },
  of: { kind: "routes" | "listeners"; name: string; field: "virtual_hosts" | "filter_chains"; find: (entries: JsonObject[], name: string) => JsonObject | undefined },
  translated: ReadonlySet<string>,
  rejected: SnapshotValidation["rejected"],
): ChangedResources | undefined {
  const before = findSorted(sets.base[of.kind], of.name, byName) as JsonObject | undefined;
  const after = findSorted(sets.next[of.kind], of.name, byName) as JsonObject | undefined;
  if (!before || !after) return undefined;
  const keys = Object.keys(after);
  if (keys.length !== Object.keys(before).length || keys.some((key) => key !== of.field && after[key] !== before[key])) return undefined;
  const names = new Set(translated);
  for (const rejection of rejected) if (rejection.name === of.name) for (const part of rejection.parts ?? []) names.add(part.name);
  const changed = new Map<string, object | undefined>();
  for (const name of names) {
    const entry = of.find(after[of.field] as JsonObject[], name);
    if (entry !== of.find(before[of.field] as JsonObject[], name)) changed.set(name, entry);
  }
  return changed;
}
