// Load assignments remembered from one build to the next, held by whoever runs the builds (the
// pipeline): an EDS target whose Service port is the same and whose EndpointSlices are the same
// objects (the object cache replaces an object when it changes, never edits it) under the same
// policy gives back the assignment it gave before, the same JSON object, which validation and
// encoding then find by identity; the problems it reported are reported again. Gives exactly what
// loadAssignments gives (endpoint.ts).
import { putSorted } from "../base/sorted.ts";
import { sameItems } from "../base/values.ts";
import type { Cluster } from "../dag/types.ts";
import type { KubeObject } from "../sources/types.ts";
import type { JsonObject } from "./common.ts";
import { edsTargets, loadAssignmentFor, type EdsTarget, type EndpointOptions, type EndpointProblem, type EndpointSliceLookup } from "./endpoint.ts";

interface Remembered {
  /** The target's Service port and health port: the same objects, or the same as text (targetText, made only to compare). */
  service: EdsTarget["service"];
  healthPort: EdsTarget["healthPort"];
  slices: readonly KubeObject[];
  /** The policy, as text. */
  policy: string;
  problems: EndpointProblem[];
  assignment: JsonObject;
}

/** What the last call left: each EDS target's entry, how many clusters name it, the targets per Service, the assignments. */
interface LastCall {
  policy: string;
  entries: Map<string, Remembered>;
  /** How many clusters name each target, for those more than one names (a target with an entry and none here has one). */
  users: Map<string, number>;
  /** The targets of each Service (`namespace/name`): most have one, kept without a collection around it. */
  byService: Map<string, string | Set<string>>;
  /** The targets whose entry has problems (reported again on every call). */
  withProblems: Set<string>;
  assignments: JsonObject[];
}

export interface LoadAssignmentMemo {
  /** loadAssignments(clusters, endpointSlices, options), reusing what is unchanged since the last call. */
  loadAssignments(clusters: Iterable<Cluster>, endpointSlices: EndpointSliceLookup, options?: EndpointOptions): JsonObject[];
  /**
   * The assignments of the clusters `clusters` after a change, from the last call's: `changed` names the
   * clusters that are new, other objects than in `before`, or gone; `services` (`namespace/name`)
   * those whose EndpointSlices changed. Gives what loadAssignments would, with the load assignment
   * names (cluster_name) whose object changed; undefined when it cannot (no last call, another policy).
   */
  patch(change: { before: ReadonlyMap<string, Cluster>; clusters: ReadonlyMap<string, Cluster>; changed: Iterable<string>; services: Iterable<string> }, endpointSlices: EndpointSliceLookup, options?: EndpointOptions): { assignments: JsonObject[]; changed: Set<string> } | undefined;
  /** The EDS targets of one Service (`namespace/name`) at the last call. */
  targetsOf(service: string): EdsTarget[];
  /** How many assignments the last call computed anew. */
  readonly computed: number;
}

// Most assignments report no problem: one shared frozen list, not an empty array each (100k at 100k Services).
const noProblems: EndpointProblem[] = Object.freeze([]) as unknown as EndpointProblem[];

export function createLoadAssignmentMemo(): LoadAssignmentMemo {
  let last: LastCall | undefined;
  let computed = 0;

  /** The entry of `target`: the remembered one when its target, policy and slices are the same. */
  function entryOf(target: EdsTarget, remembered: Remembered | undefined, endpointSlices: EndpointSliceLookup, options: EndpointOptions, policy: string): Remembered {
    const slices = endpointSlices(target.service.namespace, target.service.name);
    const same = remembered !== undefined && ((remembered.service === target.service && remembered.healthPort === target.healthPort) || targetText(remembered) === targetText(target));
    if (remembered && same && remembered.policy === policy && sameItems(remembered.slices, slices)) return remembered;
    const problems: EndpointProblem[] = [];
    const assignment = loadAssignmentFor(target, () => slices, { policy: options.policy, report: (problem) => problems.push(problem) });
    computed++;
    return { service: target.service, healthPort: target.healthPort, slices, policy, problems: problems.length === 0 ? noProblems : problems, assignment };
  }

  const serviceKey = (target: Pick<EdsTarget, "service">) => `${target.service.namespace}/${target.service.name}`;
  const targetOf = (edsServiceName: string, entry: Remembered): EdsTarget => (entry.healthPort ? { edsServiceName, service: entry.service, healthPort: entry.healthPort } : { edsServiceName, service: entry.service });

  return {
    loadAssignments(clusters, endpointSlices, options = {}) {
      const policy = JSON.stringify(options.policy ?? {});
      const next: LastCall = { policy, entries: new Map(), users: new Map(), byService: new Map(), withProblems: new Set(), assignments: [] };
      computed = 0;
      const all = [...clusters];
      for (const cluster of all) if (!cluster.externalName) next.users.set(cluster.edsServiceName, (next.users.get(cluster.edsServiceName) ?? 0) + 1);
      for (const [edsServiceName, users] of next.users) if (users === 1) next.users.delete(edsServiceName);
      next.assignments = edsTargets(all).map((target) => {
        const entry = entryOf(target, last?.entries.get(target.edsServiceName), endpointSlices, options, policy);
        for (const problem of entry.problems) options.report?.(problem);
        if (entry.problems.length > 0) next.withProblems.add(target.edsServiceName);
        next.entries.set(target.edsServiceName, entry);
        const service = serviceKey(target);
        addTarget(next.byService, service, target.edsServiceName);
        return entry.assignment;
      });
      last = next;
      return next.assignments;
    },
    patch(change, endpointSlices, options = {}) {
      const policy = JSON.stringify(options.policy ?? {});
      if (!last || last.policy !== policy) return undefined;
      const state = last;
      computed = 0;
      // The targets to look at again, with the cluster that names each (when one of the changed does).
      const affected = new Map<string, Cluster | undefined>();
      // How many clusters name each affected target after the change.
      const users = new Map<string, number>();
      const count = (edsServiceName: string, delta: number) => {
        const known = users.get(edsServiceName) ?? state.users.get(edsServiceName) ?? (state.entries.has(edsServiceName) ? 1 : 0);
        users.set(edsServiceName, known + delta);
      };
      for (const name of change.changed) {
        const before = change.before.get(name);
        const after = change.clusters.get(name);
        if (before && !before.externalName) {
          count(before.edsServiceName, -1);
          if (!affected.has(before.edsServiceName)) affected.set(before.edsServiceName, undefined);
        }
        if (after && !after.externalName) {
          count(after.edsServiceName, 1);
          affected.set(after.edsServiceName, after);
        }
      }
      for (const [edsServiceName, count] of users) {
        if (count > 1) state.users.set(edsServiceName, count);
        else state.users.delete(edsServiceName);
      }
      for (const service of change.services) for (const edsServiceName of targetsIn(state.byService.get(service))) if (!affected.has(edsServiceName)) affected.set(edsServiceName, undefined);
      const assignments = state.assignments.slice();
      const changed = new Set<string>();
      for (const [edsServiceName, cluster] of affected) {
        const before = state.entries.get(edsServiceName);
        let entry: Remembered | undefined;
        if ((users.get(edsServiceName) ?? 1) > 0) {
          const target = cluster ? edsTargets([cluster])[0]! : targetOf(edsServiceName, before!);
          entry = entryOf(target, before, endpointSlices, options, policy);
        }
        if (before && (!entry || serviceKey(before) !== serviceKey(entry))) removeTarget(state.byService, serviceKey(before), edsServiceName);
        if (entry) {
          state.entries.set(edsServiceName, entry);
          addTarget(state.byService, serviceKey(entry), edsServiceName);
          if (entry.problems.length > 0) state.withProblems.add(edsServiceName);
          else state.withProblems.delete(edsServiceName);
        } else {
          state.entries.delete(edsServiceName);
          state.withProblems.delete(edsServiceName);
        }
        if (before?.assignment === entry?.assignment) continue;
        putSorted(assignments, edsServiceName, entry?.assignment, (assignment) => assignment.cluster_name as string);
        changed.add(edsServiceName);
      }
      for (const edsServiceName of [...state.withProblems].sort()) for (const problem of state.entries.get(edsServiceName)!.problems) options.report?.(problem);
      if (changed.size > 0) state.assignments = assignments;
      return { assignments: state.assignments, changed };
    },
    targetsOf(service) {
      return [...targetsIn(last?.byService.get(service))].sort().map((edsServiceName) => targetOf(edsServiceName, last!.entries.get(edsServiceName)!));
    },
    get computed() {
      return computed;
    },
  };
}

function targetsIn(targets: string | Set<string> | undefined): Iterable<string> {
  return targets === undefined ? [] : typeof targets === "string" ? [targets] : targets;
}

function addTarget(byService: Map<string, string | Set<string>>, service: string, edsServiceName: string): void {
  const targets = byService.get(service);
  if (targets === undefined) byService.set(service, edsServiceName);
  else if (typeof targets !== "string") targets.add(edsServiceName);
  else if (targets !== edsServiceName) byService.set(service, new Set([targets, edsServiceName]));
}

function removeTarget(byService: Map<string, string | Set<string>>, service: string, edsServiceName: string): void {
  const targets = byService.get(service);
  if (targets === edsServiceName) byService.delete(service);
  else if (targets !== undefined && typeof targets !== "string") {
    targets.delete(edsServiceName);
    if (targets.size === 1) byService.set(service, targets.values().next().value!);
  }
}

function targetText(target: Pick<EdsTarget, "service" | "healthPort">): string {
  return JSON.stringify([target.service, target.healthPort ?? null]);
}
