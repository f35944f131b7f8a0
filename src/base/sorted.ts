// Arrays kept sorted by name (ordinal, as compareStrings sorts) and changed one name at a time: the
// build's fast path patches the previous build's sorted resource lists this way instead of sorting
// or rebuilding them.

/** Where `name` is, or would go, in `items` sorted by `nameOf`. */
export function sortedIndex<T>(items: readonly T[], name: string, nameOf: (item: T) => string): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (nameOf(items[mid]!) < name) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The item named `name` in `items` sorted by `nameOf`, or undefined. */
export function findSorted<T>(items: readonly T[], name: string, nameOf: (item: T) => string): T | undefined {
  const at = sortedIndex(items, name, nameOf);
  const item = items[at];
  return item !== undefined && nameOf(item) === name ? item : undefined;
}

/** Puts `item` under `name` into `items` (sorted by `nameOf`), or takes `name` out when `item` is undefined; in place. */
export function putSorted<T>(items: T[], name: string, item: T | undefined, nameOf: (item: T) => string): void {
  const at = sortedIndex(items, name, nameOf);
  const present = at < items.length && nameOf(items[at]!) === name;
  if (item === undefined) {
    if (present) items.splice(at, 1);
  } else if (present) items[at] = item;
  else items.splice(at, 0, item);
}
