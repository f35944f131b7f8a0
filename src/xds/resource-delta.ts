// What one resource set changed against the set it was derived from. The build gives it with its
// result (pipeline/build.ts) so that later stages (the snapshot store, VHDS, the xDS streams) look
// only at what changed instead of comparing every resource again. The whole set stays the truth: a
// delta is an index into it, and `deltaProblems` checks one against the two sets it claims to relate.
import { jsonOf } from "./resource-encoding.ts";
import { resourceTypes, type ResourceKind, type ResourceSet } from "./types.ts";

/** Per name, the resource in the new set, or undefined when the new set no longer has that name. */
export type ChangedResources = ReadonlyMap<string, object | undefined>;

export interface ResourceDelta {
  /**
   * The set the new one was derived from, by identity. A consumer takes the delta only when `base`
   * is the set it last took in (the store: the set it last published); otherwise it compares whole sets.
   */
  readonly base: ResourceSet;
  /**
   * Per kind, every name whose resource is new, a different object than in `base`, or gone. A kind
   * left out has exactly the same objects, in the same order, as in `base`. VHDS resources
   * (`virtualHosts`) are derived by the store and never listed here.
   */
  readonly changed: Partial<Record<Exclude<ResourceKind, "virtualHosts">, ChangedResources>>;
  /**
   * For route configurations listed in `changed.routes` whose other fields are unchanged: per route
   * configuration name, its virtual hosts (by `name`) that are new, different objects or gone, as
   * for `changed`. A changed route configuration not listed here may differ in any way.
   */
  readonly virtualHosts?: ReadonlyMap<string, ChangedResources>;
}

const nameOf = (kind: ResourceKind, resource: object): string => jsonOf(resource)[resourceTypes.find((t) => t.kind === kind)!.nameField] as string;

/**
 * Where `delta` misdescribes `next` against `delta.base` (empty when it describes it exactly): a
 * changed resource left out, an unchanged one listed, a wrong object given. O(size of both sets):
 * for tests and debug checks, never on the hot path.
 */
export function deltaProblems(next: ResourceSet, delta: ResourceDelta): string[] {
  const problems: string[] = [];
  for (const { kind } of resourceTypes) {
    if (kind === "virtualHosts") continue;
    const before = new Map((delta.base[kind] ?? []).map((r) => [nameOf(kind, r), r]));
    const after = new Map((next[kind] ?? []).map((r) => [nameOf(kind, r), r]));
    const listed = delta.changed[kind];
    if (!listed) {
      const same = (next[kind] ?? []).length === (delta.base[kind] ?? []).length && (next[kind] ?? []).every((r, i) => r === delta.base[kind]![i]);
      if (!same) problems.push(`${kind}: changed but not listed`);
      continue;
    }
    for (const [name, resource] of after) {
      const differs = before.get(name) !== resource;
      if (differs && listed.get(name) !== resource) problems.push(`${kind} ${name}: ${listed.has(name) ? "listed with another object" : "changed but not listed"}`);
      if (!differs && listed.has(name)) problems.push(`${kind} ${name}: listed but unchanged`);
    }
    for (const name of before.keys()) if (!after.has(name) && (!listed.has(name) || listed.get(name) !== undefined)) problems.push(`${kind} ${name}: gone but not listed as gone`);
    for (const name of listed.keys()) if (!before.has(name) && !after.has(name)) problems.push(`${kind} ${name}: listed but in neither set`);
  }
  for (const [config, hosts] of delta.virtualHosts ?? []) {
    if (!delta.changed.routes?.has(config)) {
      problems.push(`route configuration ${config}: virtual hosts listed but the configuration is not`);
      continue;
    }
    const hostsOf = (set: ResourceSet) => {
      const route = (set.routes ?? []).find((r) => nameOf("routes", r) === config);
      return new Map(((jsonOf(route ?? {}).virtual_hosts as object[] | undefined) ?? []).map((h) => [jsonOf(h).name as string, h]));
    };
    const before = hostsOf(delta.base);
    const after = hostsOf(next);
    const fields = (set: ResourceSet) => Object.entries(jsonOf((set.routes ?? []).find((r) => nameOf("routes", r) === config) ?? {})).filter(([key]) => key !== "virtual_hosts");
    const nextFields = new Map(fields(next));
    for (const [key, value] of fields(delta.base)) if (nextFields.has(key) && nextFields.get(key) !== value) problems.push(`route configuration ${config}: hosts listed but its field ${key} changed`);
    for (const [name, host] of after) {
      const differs = before.get(name) !== host;
      if (differs && hosts.get(name) !== host) problems.push(`route configuration ${config} host ${name}: changed but not listed`);
      if (!differs && hosts.has(name)) problems.push(`route configuration ${config} host ${name}: listed but unchanged`);
    }
    for (const name of before.keys()) if (!after.has(name) && (!hosts.has(name) || hosts.get(name) !== undefined)) problems.push(`route configuration ${config} host ${name}: gone but not listed as gone`);
  }
  return problems;
}
