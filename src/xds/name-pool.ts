// Subscribed resource names, shared: one immutable set per distinct list, and the comparisons the
// subscription model and the planner make on them.

/**
 * Subscribed name sets shared between clients: the same names in the same order give the same
 * immutable set, so a thousand clients subscribed to a thousand load assignments keep one set. A set
 * is forgotten once no client holds it.
 */
export interface NamePool {
  /** The shared set of `names` (which must not change afterwards; a name listed twice counts once). */
  intern(names: readonly string[]): ReadonlySet<string>;
}

export function createNamePool(): NamePool {
  const pool = new Map<string, WeakRef<ReadonlySet<string>>>();
  const cleanup = new FinalizationRegistry<string>((key) => {
    if (pool.get(key)?.deref() === undefined) pool.delete(key);
  });
  // A list decoded once and shared by many requests (server-wire.ts) finds its set without a key.
  const byList = new WeakMap<readonly string[], ReadonlySet<string>>();
  return {
    intern(names) {
      const listed = byList.get(names);
      if (listed) return listed;
      const unique = new Set(names);
      const set = internByKey(unique.size === names.length ? names : [...unique]);
      byList.set(names, set);
      return set;
    },
  };

  function internByKey(names: readonly string[]): ReadonlySet<string> {
    const key = names.join("\u0000");
    const found = pool.get(key)?.deref();
    if (found && sameOrder(found, names)) return found;
    const set: ReadonlySet<string> = new Set(names);
    if (!found) {
      pool.set(key, new WeakRef(set));
      cleanup.register(set, key);
    }
    return set;
  }
}

/** Whether `set` holds exactly `names`, in that order (a name holding the key's separator could collide). */
export function sameOrder(set: ReadonlySet<string>, names: readonly string[]): boolean {
  if (set.size !== names.length) return false;
  let index = 0;
  for (const name of set) if (name !== names[index++]) return false;
  return true;
}

/** Whether two name sets hold the same names, in any order. */
export function sameNames(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const name of a) if (!b.has(name)) return false;
  return true;
}
