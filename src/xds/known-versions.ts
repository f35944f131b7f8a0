// What one client holds of one type: the version of each resource, shared with the store's snapshot
// map when the client holds exactly that snapshot.
import type { CachedResource } from "./snapshot.ts";

/** The snapshot a client that holds nothing holds. */
export const emptySnapshot: Map<string, CachedResource> = new Map();

/**
 * The version of each resource of one type that a client holds. A client that holds exactly a type's
 * whole content (every wildcard client, every client subscribed to all names) shares the store's map
 * of that moment instead of keeping a copy: a thousand clients cost one map, not a thousand.
 */
export interface KnownVersions {
  get(name: string): string | undefined;
  set(name: string, version: string): void;
  delete(name: string): void;
  names(): string[];
  clear(): void;
  /** The client now holds exactly `resources` (an immutable snapshot map). */
  rebase(resources: Map<string, CachedResource>): void;
  /** The snapshot map the client holds exactly (`emptySnapshot` when nothing), or undefined when it holds versions of its own. */
  exactBase(): Map<string, CachedResource> | undefined;
  /**
   * Notes that the client now holds exactly what the planner gave it for the snapshot map `all` under
   * `basis` (its subscription and view): the next plan need look only at what changed since `all`.
   * Any other change of what it holds (set, delete, clear, rebase) forgets it.
   */
  markPlanned(all: Map<string, CachedResource>, basis: PlanBasis): void;
  planned(): { all: Map<string, CachedResource>; basis: PlanBasis } | undefined;
}

/** What a plan was made for besides the snapshot map: the subscription's names (interned), wildcard or not, and the view. */
export interface PlanBasis {
  readonly wildcard: boolean;
  readonly names: ReadonlySet<string>;
  readonly view: unknown;
}

export function createKnownVersions(initial: Record<string, string> = {}): KnownVersions {
  let base: Map<string, CachedResource> | undefined;
  // Overrides of `base`: a version, or null for "not held".
  const own = new Map<string, string | null>(Object.entries(initial));
  let planned: { all: Map<string, CachedResource>; basis: PlanBasis } | undefined;
  return {
    get(name) {
      const override = own.get(name);
      return override === undefined ? base?.get(name)?.version : (override ?? undefined);
    },
    set(name, version) {
      planned = undefined;
      own.set(name, version);
    },
    delete(name) {
      planned = undefined;
      if (base?.has(name)) own.set(name, null);
      else own.delete(name);
    },
    names() {
      const names = base ? [...base.keys()].filter((name) => !own.has(name)) : [];
      for (const [name, version] of own) if (version !== null) names.push(name);
      return names;
    },
    clear() {
      planned = undefined;
      base = undefined;
      own.clear();
    },
    rebase(resources) {
      planned = undefined;
      base = resources;
      own.clear();
    },
    exactBase: () => (own.size === 0 ? (base ?? emptySnapshot) : undefined),
    markPlanned(all, basis) {
      planned = { all, basis };
    },
    planned: () => planned,
  };
}
