// The snapshot store's reverse index of required references: how many served listeners and clusters
// name each route configuration, load assignment and secret (the kinds a consistent snapshot must hold,
// references.ts). Removing a resource is then checked against what still names it with one lookup,
// instead of a pass over every listener and cluster. Only the counts are kept (no referrer names): a
// removal that something still names is refused, and the store's whole check says by whom.
import { referencesOfResource, type CachedResource } from "./cached-resource.ts";
import { namesRequired, referencedType, type References } from "./references.ts";
import { TypeUrls } from "./types.ts";

/** Per referenced type URL, per name: how many resources (more) name it. */
export type CountChange = Map<string, Map<string, number>>;

/** The fields of References that must exist, with the type they name. */
const required: ReadonlyArray<readonly [keyof References, string]> = [
  ["routes", referencedType.routeConfig],
  ["endpoints", referencedType.endpoint],
  ["secrets", referencedType.secret],
];

export interface ReferenceCounts {
  /** Adds to `change` what replacing `before` by `after` (a resource of `typeUrl`; either absent) does to the counts. */
  note(change: CountChange, typeUrl: string, before: CachedResource | undefined, after: CachedResource | undefined): void;
  /** Whether some served resource names `name` of `typeUrl` once `change` is applied. */
  named(typeUrl: string, name: string, change: CountChange): boolean;
  /** Applies a change (once the snapshot it describes is committed). */
  apply(change: CountChange): void;
}

/** The counts of the listeners and clusters of `maps` (a type URL's resources by name). */
export function countReferences(resources: (typeUrl: string) => Map<string, CachedResource>): ReferenceCounts {
  const counts: CountChange = new Map();
  const add = (change: CountChange, typeUrl: string, resource: CachedResource, by: number) => {
    if (!namesRequired(typeUrl)) return;
    const refs = referencesOfResource(typeUrl, resource);
    for (const [field, target] of required) {
      const names = refs[field];
      if (names.length === 0) continue;
      let byName = change.get(target);
      if (!byName) change.set(target, (byName = new Map()));
      for (const name of names) byName.set(name, (byName.get(name) ?? 0) + by);
    }
  };
  for (const typeUrl of [TypeUrls.listener, TypeUrls.cluster]) for (const resource of resources(typeUrl).values()) add(counts, typeUrl, resource, 1);
  return {
    note(change, typeUrl, before, after) {
      if (before === after) return;
      if (before) add(change, typeUrl, before, -1);
      if (after) add(change, typeUrl, after, 1);
    },
    named: (typeUrl, name, change) => (counts.get(typeUrl)?.get(name) ?? 0) + (change.get(typeUrl)?.get(name) ?? 0) > 0,
    apply(change) {
      for (const [typeUrl, byName] of change) {
        let into = counts.get(typeUrl);
        if (!into) counts.set(typeUrl, (into = new Map()));
        for (const [name, by] of byName) {
          const next = (into.get(name) ?? 0) + by;
          if (next === 0) into.delete(name);
          else into.set(name, next);
        }
      }
    },
  };
}
