// A type's resources after a few changes, without copying the 100k names of the map before: a
// read-only Map made of a flat base and the names changed since (set or gone). Each next version copies
// only those changes; once they grow past a share of the base, the next version is flat again, so a
// change costs the store O(changed) amortised while every reader still sees a plain Map (in the base's
// order, changed names in their place, new ones at the end; the order of a type's resources means nothing).
type Change<V> = { value: V } | undefined;

const isLayered = <V>(map: Map<string, V>): map is LayeredMap<V> => map instanceof LayeredMap;

class LayeredMap<V> extends Map<string, V> {
  readonly #size: number;
  constructor(
    readonly base: Map<string, V>,
    // Per name: its value now, or undefined when the base has it and this map does not.
    readonly changes: Map<string, Change<V>>,
  ) {
    super();
    let size = base.size;
    for (const [name, change] of changes) size += Number(change !== undefined) - Number(base.has(name));
    this.#size = size;
  }

  override get size(): number {
    return this.#size;
  }

  override get(name: string): V | undefined {
    const change = this.changes.get(name);
    if (change !== undefined) return change.value;
    return this.changes.has(name) ? undefined : this.base.get(name);
  }

  override has(name: string): boolean {
    const change = this.changes.get(name);
    if (change !== undefined) return true;
    return !this.changes.has(name) && this.base.has(name);
  }

  override *entries(): MapIterator<[string, V]> {
    for (const [name, value] of this.base) {
      if (!this.changes.has(name)) yield [name, value];
      else {
        const change = this.changes.get(name);
        if (change !== undefined) yield [name, change.value];
      }
    }
    for (const [name, change] of this.changes) if (change !== undefined && !this.base.has(name)) yield [name, change.value];
  }

  override [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  override *keys(): MapIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  override *values(): MapIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  override forEach(visit: (value: V, name: string, map: Map<string, V>) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) visit.call(thisArg, value, name, this);
  }

  override set(): this {
    throw new TypeError("a snapshot map is never changed");
  }

  override delete(): boolean {
    throw new TypeError("a snapshot map is never changed");
  }

  override clear(): void {
    throw new TypeError("a snapshot map is never changed");
  }
}

/**
 * `previous` with `set` (name → value) and `gone` applied, as a new read-only map; `previous` is not
 * changed. O(changes since the last flat version), flat again once those pass 1/64 of it (at least 256).
 */
export function mapWith<V>(previous: Map<string, V>, set: ReadonlyMap<string, V>, gone: readonly string[]): Map<string, V> {
  const base = isLayered(previous) ? previous.base : previous;
  const changes = new Map<string, Change<V>>(isLayered(previous) ? previous.changes : undefined);
  for (const name of gone) {
    if (base.has(name)) changes.set(name, undefined);
    else changes.delete(name);
  }
  for (const [name, value] of set) changes.set(name, { value });
  if (changes.size > Math.max(256, base.size >> 6)) return new Map(new LayeredMap(base, changes));
  return new LayeredMap(base, changes);
}
