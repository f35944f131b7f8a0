// How one resource becomes bytes: strictly encoded, a large one entry by entry so that its next
// version re-encodes only the entries that changed; and its version, a hash of those bytes.
import { hash as oneShotHash } from "node:crypto";
import { Buffer } from "node:buffer";
import type protobuf from "protobufjs";
import { encodeStrict, lookupType } from "./registry.ts";
import type { CachedResource, EntryEncodings } from "./cached-resource.ts";
import { typeInfo, TypeUrls, type ResourceTypeInfo } from "./types.ts";
import { fieldsBefore, lengthDelimited } from "./wire-fields.ts";
import type { WireEncoder } from "./wire-encode.ts";
import { encodeIndexed, entryIndexable } from "./entry-index.ts";

/**
 * A resource of `typeUrl` built from `json` outside any snapshot (a per-client variant of a served
 * one, see route-holdback.ts), encoded like a published one; `before` lends its entry encodings.
 */
export function encodeVariant(typeUrl: string, json: object, before?: CachedResource): CachedResource {
  const info = typeInfo(typeUrl)!;
  const rest = jsonOf(json);
  if (entryIndexable(typeUrl, rest)) return encodeIndexed(typeUrl, rest, before);
  const { bytes, entries } = encodeResource(info, rest, { before });
  return { name: String(rest[info.nameField]), version: hash(bytes), bytes, json: rest, entries };
}

/**
 * The JSON of a resource as given (with or without the Any's "@type"): the object itself when it has
 * no "@type", so an unchanged translation (the same object) is found by identity; else a copy without it.
 */
export function jsonOf(raw: object): Record<string, unknown> {
  if (!("@type" in raw)) return raw as Record<string, unknown>;
  const { "@type": _type, ...json } = raw as Record<string, unknown>;
  return json;
}

/** The hash of a resource's JSON text, computed once (a fresh store never needs it: nothing to compare with). */
export function jsonHashOf(resource: CachedResource): string {
  return (resource.jsonHash ??= hash(JSON.stringify(resource.json)));
}

export interface EncodeOptions {
  /** The resource's previous version, whose entry encodings are reused. */
  before?: CachedResource;
  /** The fast encoder (wire-encode.ts); what it does not take, and everything without it, goes through encodeStrict. */
  encoder?: WireEncoder;
}

export interface EncodedResource {
  bytes: Uint8Array;
  entries?: EntryEncodings;
  /** How many entries were encoded anew (not reused from `before`). */
  encodedEntries: number;
}

/** A resource with at least this many entries in a repeated message field is encoded entry by entry. */
const entryEncodingMin = 32;

/**
 * Strictly encodes one resource. A large one (a route config of a thousand virtual hosts) is encoded
 * entry by entry of its first repeated message field that long, reusing the previous version's bytes
 * of every entry that is the same JSON object or has the same JSON text: one changed virtual host
 * costs one virtual host's encoding. The bytes are the same as encoding the whole (protobufjs writes
 * fields in number order; an entry nested or alone encodes alike).
 */
export function encodeResource(info: ResourceTypeInfo, json: Record<string, unknown>, options: EncodeOptions = {}): EncodedResource {
  const { before, encoder } = options;
  const encode = (messageType: protobuf.Type, value: object) => encoder?.encode(messageType, value) ?? encodeStrict(messageType, value);
  const type = lookupType(info.typeUrl);
  const field = entryFieldsOf(type).find((candidate) => {
    const list = json[candidate.name];
    return Array.isArray(list) && list.length >= entryEncodingMin;
  });
  if (!field) return { bytes: (encoder && renamedHostBytes(info, json, encoder)) || encode(type, json), encodedEntries: 0 };
  const { [field.name]: list, ...rest } = json;
  const head = encode(type, rest);
  const entryType = field.resolvedType as protobuf.Type;
  const items = list as object[];
  const previous = before?.entries;
  const parts: Array<Uint8Array | undefined> = items.map((entry) => previous?.byObject.get(entry));
  // Entries the previous version does not hold as the same object are looked up by content only
  // when many are new objects (a rebuilt DAG): a few are new content, cheaper to encode than to
  // hash the previous version's every entry for.
  let misses = 0;
  for (const part of parts) if (!part) misses++;
  const byContent = previous !== undefined && misses * 4 > items.length;
  const keys: Array<string | undefined> = [];
  let keyed = 0;
  let encodedEntries = 0;
  items.forEach((entry, i) => {
    if (parts[i]) return;
    if (byContent) {
      const key = (keys[i] = entryKey(entry));
      keyed++;
      parts[i] = contentIndex(previous!).get(key);
    }
    if (parts[i]) return;
    parts[i] = encoder?.encodeField(field.id, entryType, entry) ?? lengthDelimited(field.id, encodeStrict(entryType, entry));
    encodedEntries++;
  });
  const at = fieldsBefore(head, field.id);
  // Every entry the previous version's, in its place, and the rest the same: the previous bytes and entries, not joined again.
  if (encodedEntries === 0 && before?.entries && laidOutAsBefore(before.bytes, head, at, parts as Uint8Array[])) return { bytes: before.bytes, entries: before.entries, encodedEntries: 0 };
  const bytes = Buffer.concat([head.subarray(0, at), ...(parts as Uint8Array[]), head.subarray(at)]);
  // Each entry's bytes as a view into the whole, so no earlier buffer stays alive through them.
  const entries: EntryEncodings = { byObject: new Map() };
  const byKey = keyed === items.length ? new Map<string, Uint8Array>() : undefined;
  let offset = at;
  const hostEntries = info.typeUrl === TypeUrls.route && field.name === "virtual_hosts" ? encoder?.hostEntries : undefined;
  items.forEach((entry, i) => {
    const view = bytes.subarray(offset, (offset += parts[i]!.length));
    entries.byObject.set(entry, view);
    byKey?.set(keys[i]!, view);
    hostEntries?.set(entry, { bytes: view });
  });
  entries.byKey = byKey;
  return { bytes, entries, encodedEntries };
}

/**
 * Whether `previous` is exactly `head` with `parts` at `at`: each part is the view of `previous` at
 * its place (an entry's bytes are views into the bytes they were joined into), and the fields around
 * them are the same bytes.
 */
function laidOutAsBefore(previous: Uint8Array, head: Uint8Array, at: number, parts: Uint8Array[]): boolean {
  let offset = previous.byteOffset + at;
  for (const part of parts) {
    if (part.buffer !== previous.buffer || part.byteOffset !== offset) return false;
    offset += part.length;
  }
  const end = offset - previous.byteOffset;
  if (previous.length !== end + (head.length - at)) return false;
  return Buffer.compare(head.subarray(0, at), previous.subarray(0, at)) === 0 && Buffer.compare(head.subarray(at), previous.subarray(end)) === 0;
}

/** The entries by the hash of their JSON text, hashed on the first call. */
function contentIndex(entries: EntryEncodings): Map<string, Uint8Array> {
  if (!entries.byKey) {
    entries.byKey = new Map();
    for (const [entry, bytes] of entries.byObject) entries.byKey.set(entryKey(entry), bytes);
  }
  return entries.byKey;
}

/**
 * An entry's key in `byKey`: the SHA-256 of its JSON text (44 characters), not the text itself,
 * which the map would keep for every virtual host or filter chain of the resource (hundreds of
 * bytes each; at 100k hosts, tens of MB).
 */
function entryKey(entry: object): string {
  return oneShotHash("sha256", JSON.stringify(entry), "base64");
}

function isMessageType(resolved: protobuf.ReflectionObject | null): boolean {
  return resolved !== null && "fieldsArray" in resolved;
}

/** The repeated message fields of a type, the ones a large resource is encoded entry by entry of (once per type: every resource asks). */
const entryFields = new WeakMap<protobuf.Type, protobuf.Field[]>();

function entryFieldsOf(type: protobuf.Type): protobuf.Field[] {
  let fields = entryFields.get(type);
  if (!fields) {
    fields = type.fieldsArray.filter((candidate) => candidate.repeated && isMessageType(candidate.resolve().resolvedType));
    entryFields.set(type, fields);
  }
  return fields;
}

/** VHDS hosts (vhds.ts) and the route configuration's virtual host each is, under another name. */
const renamedHosts = new WeakMap<object, object>();

/** Records that `resource` is `host`, a route configuration's virtual host, with only its name changed. */
export function recordRenamedHost(resource: object, host: object): void {
  renamedHosts.set(resource, host);
}

/**
 * A VHDS host's bytes from its route configuration's encoding of the same host: the host's fields
 * come in number order, its name (field 1) first, so the rest of them are the same bytes behind
 * another name. Undefined (the resource is encoded) when that encoding is not at hand or not of that form.
 */
function renamedHostBytes(info: ResourceTypeInfo, json: Record<string, unknown>, encoder: WireEncoder): Uint8Array | undefined {
  const host = renamedHosts.get(json);
  const entry = host && encoder.hostEntries.get(host)?.bytes;
  // Taken once: the host's VHDS resource is encoded once, and the bytes are not kept for it after.
  if (host) encoder.hostEntries.delete(host);
  const name = json[info.nameField];
  if (!entry || typeof name !== "string" || info.typeUrl !== TypeUrls.virtualHost) return undefined;
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) >= 0x80) return undefined;
  // The entry: its tag (one byte: virtual_hosts is field 2), its length, then the host's name field (tag 0x0a, length, bytes).
  const lengthEnd = varintEnd(entry, 1);
  if (entry[0] !== 0x12 || lengthEnd < 0 || readVarint(entry, 1) !== entry.length - lengthEnd || entry[lengthEnd] !== 0x0a) return undefined;
  const nameLengthEnd = varintEnd(entry, lengthEnd + 1);
  if (nameLengthEnd < 0) return undefined;
  const restAt = nameLengthEnd + readVarint(entry, lengthEnd + 1);
  if (restAt > entry.length) return undefined;
  let lengthBytes = 1;
  for (let rest = name.length >>> 7; rest > 0; rest >>>= 7) lengthBytes++;
  const bytes = Buffer.allocUnsafe(1 + lengthBytes + name.length + entry.length - restAt);
  bytes[0] = 0x0a;
  let at = 1;
  let length = name.length;
  for (; length > 0x7f; length >>>= 7) bytes[at++] = (length & 0x7f) | 0x80;
  bytes[at++] = length;
  for (let i = 0; i < name.length; i++) bytes[at++] = name.charCodeAt(i);
  bytes.set(entry.subarray(restAt), at);
  return bytes;
}

/** The offset after the varint at `offset`, or -1 when there is none (or it is longer than 4 bytes). */
function varintEnd(bytes: Uint8Array, offset: number): number {
  for (let i = offset; i < bytes.length && i < offset + 4; i++) if (bytes[i]! < 0x80) return i + 1;
  return -1;
}

/** The value of the varint at `offset` (at most 4 bytes: varintEnd found its end). */
function readVarint(bytes: Uint8Array, offset: number): number {
  let value = 0;
  let scale = 1;
  for (let i = offset; ; i++) {
    const byte = bytes[i]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 128;
  }
}

// The one-shot hash is about twice as fast as createHash for the many small inputs of a publish.
// The 16 hex digits are made from the digest's first 8 bytes, not sliced from the 64-digit text: a
// slice keeps its whole parent string alive (120 bytes per version instead of 40, at 100k Ingresses
// over half a million versions).
export function hash(content: string | Uint8Array): string {
  return (oneShotHash("sha256", content, "buffer") as unknown as Buffer).toString("hex", 0, 8);
}
