// A large resource whose entries are named and found by matching, never by their place: a route
// configuration's virtual hosts (`ingress_http`: 10k or 100k of them; Envoy picks a host by its
// domains) and a listener's filter chains (picked by their match; Envoy refuses duplicate names,
// domains and matches). Each entry is encoded on its own and kept by name, the rest of the resource
// (its head) apart; the version is a hash of the head and the sum of the entries' hashes, so two
// orders of the same entries are the same version; the bytes are joined only when a client is sent
// the whole (VHDS clients get a shell and the hosts). A resource made anew of mostly the same entry
// objects costs a lookup per entry and the changed entries' encodings; one whose changed virtual hosts
// are known (spliceEntries) costs only those.
import { Buffer } from "node:buffer";
import { hash as oneShotHash } from "node:crypto";
import type protobuf from "protobufjs";
import { encodeStrict, lookupType } from "./registry.ts";
import type { CachedResource } from "./cached-resource.ts";
import { TypeUrls } from "./types.ts";
import type { WireEncoder } from "./wire-encode.ts";
import { fieldsBefore, lengthDelimited } from "./wire-fields.ts";

type Json = Record<string, unknown>;

/** The field of each type whose entries are indexed by name, and where they sit in the type's encoding. */
interface IndexedField {
  readonly typeUrl: string;
  readonly name: string;
  readonly type: protobuf.Type;
  readonly field: protobuf.Field;
}

const indexedFieldNames: Readonly<Record<string, string>> = { [TypeUrls.route]: "virtual_hosts", [TypeUrls.listener]: "filter_chains" };
const indexedFields = new Map<string, IndexedField>();

function indexedField(typeUrl: string): IndexedField | undefined {
  const name = indexedFieldNames[typeUrl];
  if (!name) return undefined;
  let known = indexedFields.get(typeUrl);
  if (!known) {
    const type = lookupType(typeUrl);
    indexedFields.set(typeUrl, (known = { typeUrl, name, type, field: type.fields[name]!.resolve() }));
  }
  return known;
}

/** One entry's encoding (the field's tag and length included) and the two halves of its hash. */
interface EntryEncoding {
  readonly object: object;
  /**
   * Its own buffer, or a view into the joined resource once joined (the same bytes). Undefined for a
   * virtual host never joined yet: a route configuration served per host (VHDS) may never be sent
   * whole, so its 100k host encodings are hashed and dropped, and made again at its first join.
   */
  bytes: Uint8Array | undefined;
  readonly high: number;
  readonly low: number;
}

/**
 * The entry encodings of a line of versions (each made from the one before), by entry name, as they
 * are in `owner`. Shared, so that a version made from the previous one does not copy 100k entries:
 * a version's own changes wait in its `pending` until it becomes the base of the next one.
 */
interface SharedEntries {
  readonly byName: Map<string, EntryEncoding>;
  owner: EntryIndex;
}

export interface EntryIndex {
  readonly field: IndexedField;
  /** The resource without its entries, and the offset where they go. */
  readonly head: Uint8Array;
  readonly at: number;
  /** The sums (mod 2^32) of the entries' hash halves. */
  readonly high: number;
  readonly low: number;
  readonly shared: SharedEntries;
  readonly parent?: EntryIndex;
  /** The entries that differ from `parent`'s (undefined: gone), until this version owns `shared`. */
  readonly pending?: Map<string, EntryEncoding | undefined>;
  /** How many entries this version encoded anew (the others were its base's). */
  readonly encoded: number;
}

/** A resource encoded per entry: `bytes` are joined on first read. */
class IndexedResource implements CachedResource {
  refs?: CachedResource["refs"];
  wire?: CachedResource["wire"];
  jsonHash?: string;
  #bytes: Uint8Array | undefined;
  constructor(
    readonly name: string,
    readonly version: string,
    readonly json: Json,
    readonly index: EntryIndex,
    private readonly encoder: WireEncoder | undefined,
  ) {}

  get bytes(): Uint8Array {
    return (this.#bytes ??= joinEntries(this.json, this.index, this.encoder));
  }

  /** Takes `view` (the same bytes, in a wire fragment) as its bytes, its entries' encodings views into it. */
  rebase(view: Uint8Array): void {
    const joined = this.#bytes;
    if (!joined || view.length !== joined.length) return;
    for (const entry of entriesOf(this.json, this.index.field)) {
      const known = lookup(this.index, entry.name as string);
      const bytes = known?.object === entry ? known.bytes : undefined;
      if (!bytes || bytes.buffer !== joined.buffer) continue;
      const at = bytes.byteOffset - joined.byteOffset;
      known!.bytes = view.subarray(at, at + bytes.length);
    }
    this.#bytes = view;
  }
}

/**
 * Makes a resource encoded per entry hold `view` (its joined bytes, copied into a wire fragment that
 * is kept as long as it is served) instead of its own joined copy. False for any other resource.
 */
export function rebaseIndexed(resource: CachedResource, view: Uint8Array): boolean {
  if (!(resource instanceof IndexedResource)) return false;
  resource.rebase(view);
  return true;
}

/** A resource with at least this many entries is encoded per entry (as resource-encoding.ts encodes others entry by entry). */
const entryIndexMin = 32;

const entriesOf = (json: Json, field: IndexedField): Json[] => json[field.name] as Json[];

/** Whether a resource is encoded per entry: a route configuration or listener of many entries with distinct names. */
export function entryIndexable(typeUrl: string, json: Json): boolean {
  const field = indexedField(typeUrl);
  const entries = field && json[field.name];
  if (!Array.isArray(entries) || entries.length < entryIndexMin) return false;
  const names = new Set<string>();
  for (const entry of entries as Json[]) {
    if (entry === null || typeof entry !== "object" || typeof entry.name !== "string" || entry.name === "" || names.has(entry.name)) return false;
    names.add(entry.name);
  }
  return true;
}

/** A served resource's entry index, when it is encoded per entry. */
export const entryIndexOf = (resource: CachedResource | undefined): EntryIndex | undefined => (resource instanceof IndexedResource ? resource.index : undefined);

/** Encodes an indexable resource (entryIndexable) whole, reusing `before`'s encodings of the same entry objects. */
export function encodeIndexed(typeUrl: string, json: Json, before: CachedResource | undefined, encoder?: WireEncoder): CachedResource {
  const field = indexedField(typeUrl)!;
  const { [field.name]: entries, ...rest } = json;
  const head = encoder?.encode(field.type, rest) ?? encodeStrict(field.type, rest);
  const previous = entryIndexOf(before);
  const from = previous && previous.field === field && settle(previous) ? previous : undefined;
  const list = entries as Json[];
  const known = list.map((entry) => from && lookup(from, entry.name as string));
  // Entries given as other objects are compared by content only when many are (a rebuilt DAG): a few
  // are new content, cheaper to encode than to write out as JSON twice.
  let misses = 0;
  list.forEach((entry, i) => void (known[i]?.object === entry || misses++));
  const byContent = misses * 4 > list.length;
  const byName = new Map<string, EntryEncoding>();
  let high = 0;
  let low = 0;
  let encoded = 0;
  list.forEach((entry, i) => {
    const was = known[i];
    let encoding = was?.object === entry ? was : undefined;
    if (!encoding && was && byContent && JSON.stringify(was.object) === JSON.stringify(entry)) encoding = { ...was, object: entry };
    if (!encoding) {
      encoding = encodeEntry(field, entry, encoder);
      encoded++;
    }
    byName.set(entry.name as string, encoding);
    high = (high + encoding.high) >>> 0;
    low = (low + encoding.low) >>> 0;
  });
  const shared = { byName } as SharedEntries;
  const index: EntryIndex = { field, head, at: fieldsBefore(head, field.field.id), high, low, shared, encoded };
  shared.owner = index;
  return new IndexedResource(json.name as string, versionOf(index), json, index, encoder);
}

/**
 * `before` with the entries in `changed` replaced, added or removed (a route configuration's changed
 * virtual hosts, resource-delta.ts): their encodings and hashes only. Undefined when it cannot say
 * exactly (the other fields differ, an entry is not named as listed, it would no longer be encoded
 * per entry): encode it whole.
 */
export function spliceEntries(json: Json, before: CachedResource, changed: ReadonlyMap<string, object | undefined>, encoder?: WireEncoder): CachedResource | undefined {
  const previous = entryIndexOf(before);
  if (!previous) return undefined;
  const { field } = previous;
  const entries = json[field.name];
  if (!Array.isArray(entries) || entries.length < entryIndexMin || !settle(previous)) return undefined;
  const old = before.json as Json;
  for (const key of new Set([...Object.keys(old), ...Object.keys(json)])) if (key !== field.name && old[key] !== json[key]) return undefined;
  let { high, low } = previous;
  const pending = new Map<string, EntryEncoding | undefined>();
  let encoded = 0;
  for (const [name, entry] of changed) {
    const was = previous.shared.byName.get(name);
    if (was) {
      high = (high - was.high) >>> 0;
      low = (low - was.low) >>> 0;
    }
    if (entry === undefined) {
      pending.set(name, undefined);
      continue;
    }
    if ((entry as Json).name !== name) return undefined;
    const encoding = encodeEntry(field, entry as Json, encoder);
    encoded++;
    pending.set(name, encoding);
    high = (high + encoding.high) >>> 0;
    low = (low + encoding.low) >>> 0;
  }
  const index: EntryIndex = { field, head: previous.head, at: previous.at, high, low, shared: previous.shared, parent: previous, pending, encoded };
  return new IndexedResource(json.name as string, versionOf(index), json, index, encoder);
}

/** Makes `index` the owner of its shared encodings (its parent's, with its pending changes applied); false when another line took them. */
function settle(index: EntryIndex): boolean {
  const { shared } = index;
  if (shared.owner === index) return true;
  if (!index.parent || shared.owner !== index.parent) return false;
  for (const [name, encoding] of index.pending!) {
    if (encoding) shared.byName.set(name, encoding);
    else shared.byName.delete(name);
  }
  shared.owner = index;
  return true;
}

/** An entry's encoding in version `index` (undefined when unknown there; the caller checks the object). */
function lookup(index: EntryIndex, name: string): EntryEncoding | undefined {
  const { shared } = index;
  if (shared.owner === index) return shared.byName.get(name);
  if (index.pending?.has(name)) return index.pending.get(name);
  return index.parent && shared.owner === index.parent ? shared.byName.get(name) : undefined;
}

/** The resource's bytes: its head with every entry in its place; each entry's encoding then becomes a view into them. */
function joinEntries(json: Json, index: EntryIndex, encoder: WireEncoder | undefined): Uint8Array {
  const parts = entriesOf(json, index.field).map((entry): [EntryEncoding | undefined, Uint8Array] => {
    const known = lookup(index, entry.name as string);
    if (known?.object !== entry) return [undefined, encodeEntry(index.field, entry, encoder, true).bytes!];
    return [known, known.bytes ?? entryBytes(index.field, entry, encoder)];
  });
  const { head, at } = index;
  const bytes = Buffer.concat([head.subarray(0, at), ...parts.map(([, part]) => part), head.subarray(at)]);
  let offset = at;
  for (const [encoding, part] of parts) {
    const view = bytes.subarray(offset, (offset += part.length));
    if (encoding) encoding.bytes = view;
  }
  return bytes;
}

/** Encodes an entry; a virtual host's bytes are kept only when asked (`keep`: it is being joined). */
function encodeEntry(field: IndexedField, entry: Json, encoder: WireEncoder | undefined, keep = false): EntryEncoding {
  const bytes = entryBytes(field, entry, encoder);
  const digest = oneShotHash("sha256", bytes, "buffer") as unknown as Buffer;
  // A route configuration's host: its VHDS resource, encoded next in the same publish, is spliced from
  // these bytes (resource-encoding.ts), which takes them out of the encoder's map. Not when joining:
  // the hosts' VHDS resources were made then already.
  if (field.typeUrl === TypeUrls.route && !keep) encoder?.hostEntries.set(entry, { bytes });
  return { object: entry, bytes: keep || field.typeUrl !== TypeUrls.route ? bytes : undefined, high: digest.readUInt32BE(0), low: digest.readUInt32BE(4) };
}

function entryBytes(field: IndexedField, entry: Json, encoder: WireEncoder | undefined): Uint8Array {
  const entryType = field.field.resolvedType as protobuf.Type;
  return encoder?.encodeField(field.field.id, entryType, entry) ?? lengthDelimited(field.field.id, encodeStrict(entryType, entry));
}

/** The version: a hash of the head and the entries' hash sums (16 hex digits, like every resource's). */
function versionOf(index: EntryIndex): string {
  const sums = Buffer.alloc(8);
  sums.writeUInt32BE(index.high, 0);
  sums.writeUInt32BE(index.low, 4);
  return oneShotHash("sha256", Buffer.concat([index.head, sums]), "hex").slice(0, 16);
}
