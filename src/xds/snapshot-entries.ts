// How the snapshot store turns one type's input into its next map: each resource encoded once per
// content (an unchanged one keeps its entry, bytes and version), and the type's XOR mix updated by the
// names that changed only. Shared by the whole-set path and the delta path of publish.
import { encodeResource, hash, jsonHashOf, jsonOf } from "./resource-encoding.ts";
import type { ResourceTypeInfo } from "./types.ts";
import { flipVersion, type VersionMix } from "./type-version.ts";
import type { WireEncoder } from "./wire-encode.ts";
import type { CachedResource } from "./cached-resource.ts";
import type { ChangedResources } from "./resource-delta.ts";
import { encodeIndexed, entryIndexable, entryIndexOf, spliceEntries } from "./entry-index.ts";

export interface EntryContext {
  problems: string[];
  encoder: WireEncoder;
}

/** One type's next state, computed before anything is committed. */
export interface TypeUpdate {
  map: Map<string, CachedResource>;
  mix: VersionMix;
  /** The names that differ from the current map (empty and `map` the current one when nothing does). */
  names: string[];
}

/**
 * A type's next state from its current map and mix: the mix updated by the touched and removed names
 * only. When nothing was touched or removed the current map is kept, so every cache keyed on it holds.
 */
export function nextState(
  previous: Map<string, CachedResource>,
  mix: VersionMix,
  change: { map: Map<string, CachedResource>; touched: string[]; removed: string[] },
): TypeUpdate {
  const { map, touched, removed } = change;
  if (touched.length === 0 && removed.length === 0 && map.size === previous.size) return { map: previous, mix, names: [] };
  let next = mix;
  const flip = (resource: CachedResource | undefined) => {
    if (resource) next = flipVersion(next, resource.version);
  };
  for (const name of touched) {
    flip(previous.get(name));
    flip(map.get(name));
  }
  for (const name of removed) flip(previous.get(name));
  return { map, mix: next, names: [...touched, ...removed] };
}

/** The names of `previous` that `map` no longer holds (a pass over `previous` only when some are gone). */
export function removedNames(previous: Map<string, CachedResource>, map: Map<string, CachedResource>, touched: string[]): string[] {
  let added = 0;
  for (const name of touched) if (!previous.has(name)) added++;
  if (map.size - added === previous.size) return [];
  const removed: string[] = [];
  for (const name of previous.keys()) if (!map.has(name)) removed.push(name);
  return removed;
}

/**
 * Encodes the resources of one type, reusing the previous entry when the input is unchanged.
 * `touched`: the names whose entry is not the previous one (new, or changed in any way).
 */
export function buildTypeMap(
  info: ResourceTypeInfo,
  input: object[],
  previous: Map<string, CachedResource>,
  context: EntryContext,
): { map: Map<string, CachedResource>; touched: string[] } {
  return sameNamesChanged(info, input, previous, context) ?? everyEntry(info, input, previous, context);
}

/**
 * The common case of one change: the same names in the same order as the previous map, most of them
 * the very objects it holds. The previous map is copied (natively) and only the other entries are
 * looked at, so the map keeps its order and costs no insertion per unchanged resource. Undefined
 * when the names or their order differ (everyEntry then builds the map).
 */
function sameNamesChanged(
  info: ResourceTypeInfo,
  input: object[],
  previous: Map<string, CachedResource>,
  context: EntryContext,
): { map: Map<string, CachedResource>; touched: string[] } | undefined {
  if (input.length !== previous.size || input.length === 0) return undefined;
  const others: number[] = [];
  let index = 0;
  for (const [name, before] of previous) {
    const json = jsonOf(input[index]!);
    if (json[info.nameField] !== name) return undefined;
    if (before.json !== json) others.push(index);
    index++;
  }
  const map = new Map(previous);
  const touched: string[] = [];
  const problemsBefore = context.problems.length;
  for (const at of others) {
    const json = jsonOf(input[at]!);
    const name = json[info.nameField] as string;
    const entry = entryFor(info, json, name, previous.get(name), context);
    if (!entry) {
      // everyEntry reports it, with the rest.
      context.problems.length = problemsBefore;
      return undefined;
    }
    map.set(name, entry.resource);
    if (entry.touched) touched.push(name);
  }
  return { map, touched };
}

function everyEntry(
  info: ResourceTypeInfo,
  input: object[],
  previous: Map<string, CachedResource>,
  context: EntryContext,
): { map: Map<string, CachedResource>; touched: string[] } {
  const { problems } = context;
  const out = new Map<string, CachedResource>();
  const touched: string[] = [];
  for (const raw of input) {
    const json = jsonOf(raw);
    const name = json[info.nameField];
    if (typeof name !== "string" || name === "") {
      problems.push(`${info.short} resource without a ${info.nameField}`);
      continue;
    }
    if (out.has(name)) {
      problems.push(`${info.short} resource ${name} appears twice`);
      continue;
    }
    const entry = entryFor(info, json, name, previous.get(name), context);
    if (!entry) continue;
    out.set(name, entry.resource);
    if (entry.touched) touched.push(name);
  }
  return { map: out, touched };
}

/**
 * One resource's entry: the previous one when its content is the same, else encoded anew (undefined,
 * with a problem, when it does not encode). `hosts`: for a route configuration (a listener) whose other
 * fields are the previous one's, the hosts (filter chains) that differ (resource-delta.ts): when it is
 * encoded per entry (entry-index.ts), only they are encoded and hashed.
 */
export function entryFor(
  info: ResourceTypeInfo,
  json: Record<string, unknown>,
  name: string,
  before: CachedResource | undefined,
  context: EntryContext,
  hosts?: ChangedResources,
): { resource: CachedResource; touched: boolean } | undefined {
  if (before && before.json === json) return { resource: before, touched: false };
  try {
    const indexed = (hosts && before && spliceEntries(json, before, hosts, context.encoder)) || (entryIndexable(info.typeUrl, json) ? encodeIndexed(info.typeUrl, json, before, context.encoder) : undefined);
    // The same version is the same entries, perhaps in another order (a version does not depend on it):
    // no client is sent it again, but the store holds the new one, so what it serves is the set it took.
    if (indexed) return { resource: indexed, touched: true };
  } catch (error) {
    context.problems.push(`${info.short} resource ${name} does not encode: ${(error as Error).message}`);
    return undefined;
  }
  const wasIndexed = entryIndexOf(before) !== undefined;
  // A large resource is not hashed whole: its entries are found by object (or content) while it is encoded.
  const jsonHash = before && !before.entries && !wasIndexed ? hash(JSON.stringify(json)) : undefined;
  if (before && jsonHash !== undefined && jsonHashOf(before) === jsonHash) return { resource: before, touched: false };
  let encoded: ReturnType<typeof encodeResource>;
  try {
    encoded = encodeResource(info, json, { before, encoder: context.encoder });
  } catch (error) {
    context.problems.push(`${info.short} resource ${name} does not encode: ${(error as Error).message}`);
    return undefined;
  }
  const { bytes, entries } = encoded;
  // The previous bytes given back (every entry in its place, the rest the same): its version, not hashed again.
  const version = !wasIndexed && bytes === before?.bytes ? before.version : hash(bytes);
  // Equal entries given as other objects: the same resource, its next version finds them by content.
  if (before && before.entries && before.version === version) return { resource: before, touched: false };
  // Same bytes from differently written JSON: keep the old entry and its wire fragments.
  return { resource: before && !wasIndexed && before.version === version ? { ...before, jsonHash, json, entries } : { name, version, bytes, json, jsonHash, entries }, touched: true };
}
