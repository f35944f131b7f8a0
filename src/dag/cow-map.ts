// A Map that starts as a view of another and keeps its own changes apart, so the other is never
// changed: the incremental build (incremental.ts) hands each DAG its maps this way, an earlier DAG's
// maps plus what changed, instead of copying every entry of a 100k-host DAG on each build. The
// iteration order is the base's, then the keys added; nothing reads the DAG's maps in order.
const removed = Symbol("removed");

export class CopyOnWriteMap<K, V> extends Map<K, V> {
  /** A plain Map, never changed. */
  readonly #base: ReadonlyMap<K, V>;
  readonly #own: Map<K, V | typeof removed>;
  #size: number;

  /**
   * A map equal to `base` whose changes never reach `base`. A view of a view shares the first's
   * plain base and copies only its changes; once those are many, it starts over from a plain copy
   * (so the copies cost about the square root of the size per build, and a lookup two steps).
   */
  static over<K, V>(base: ReadonlyMap<K, V>): Map<K, V> {
    if (!(base instanceof CopyOnWriteMap)) return new CopyOnWriteMap(base, new Map(), base.size);
    const view = base as CopyOnWriteMap<K, V>;
    if (view.#own.size > 64 + 4 * Math.sqrt(view.#base.size)) return view.#flat();
    return new CopyOnWriteMap(view.#base, new Map(view.#own), view.#size);
  }

  private constructor(base: ReadonlyMap<K, V>, own: Map<K, V | typeof removed>, size: number) {
    super();
    this.#base = base;
    this.#own = own;
    this.#size = size;
  }

  #flat(): Map<K, V> {
    const flat = new Map<K, V>();
    this.forEach((value, key) => flat.set(key, value));
    return flat;
  }

  override get size(): number {
    return this.#size;
  }

  override get(key: K): V | undefined {
    const own = this.#own.get(key);
    if (own === undefined && !this.#own.has(key)) return this.#base.get(key);
    return own === removed ? undefined : own;
  }

  override has(key: K): boolean {
    if (this.#own.has(key)) return this.#own.get(key) !== removed;
    return this.#base.has(key);
  }

  override set(key: K, value: V): this {
    if (!this.has(key)) this.#size++;
    this.#own.set(key, value);
    return this;
  }

  override delete(key: K): boolean {
    if (!this.has(key)) return false;
    this.#size--;
    if (this.#base.has(key)) this.#own.set(key, removed);
    else this.#own.delete(key);
    return true;
  }

  override clear(): void {
    for (const key of [...this.keys()]) this.delete(key);
  }

  override forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    const own = this.#own;
    this.#base.forEach((value, key) => {
      if (!own.has(key)) callback.call(thisArg, value, key, this);
      else {
        const changed = own.get(key)!;
        if (changed !== removed) callback.call(thisArg, changed, key, this);
      }
    });
    own.forEach((value, key) => {
      if (value !== removed && !this.#base.has(key)) callback.call(thisArg, value, key, this);
    });
  }

  /** The entries as an array (iterating an array is much cheaper than a generator). */
  #entries(): Array<[K, V]> {
    const entries: Array<[K, V]> = [];
    this.forEach((value, key) => entries.push([key, value]));
    return entries;
  }

  override entries(): MapIterator<[K, V]> {
    return this.#entries()[Symbol.iterator]() as MapIterator<[K, V]>;
  }

  override keys(): MapIterator<K> {
    const keys: K[] = [];
    this.forEach((_, key) => keys.push(key));
    return keys[Symbol.iterator]() as MapIterator<K>;
  }

  override values(): MapIterator<V> {
    const values: V[] = [];
    this.forEach((value) => values.push(value));
    return values[Symbol.iterator]() as MapIterator<V>;
  }

  override [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}
