// A large route configuration (`ingress_http`: 10k or 100k virtual hosts) as the store holds it: each
// virtual host encoded on its own and kept by name, the rest of the configuration (its head) encoded
// apart, its version derived from the head and the sum of its hosts' hashes, and its bytes joined only
// when a client is sent the whole (classic RDS clients; VHDS clients get a shell and the hosts). One
// changed host then costs one host's encoding and hash (spliceHosts), not a pass over every host.
// Host order is not part of the version: Envoy picks a virtual host by its domains, never by its
// place (and refuses duplicate domains or names), so two orders of the same hosts configure the same.
import { Buffer } from "node:buffer";
import { hash as oneShotHash } from "node:crypto";
import type protobuf from "protobufjs";
import { encodeStrict, lookupType } from "./registry.ts";
import type { CachedResource } from "./cached-resource.ts";
import type { ChangedResources } from "./resource-delta.ts";
import { TypeUrls } from "./types.ts";
import type { WireEncoder } from "./wire-encode.ts";
import { fieldsBefore, lengthDelimited } from "./wire-fields.ts";

type Json = Record<string, unknown>;

/** One host's encoding (the field's tag and length included) and the two halves of its hash. */
interface HostEncoding {
  readonly object: object;
  /** Its own buffer, or a view into the joined configuration once joined (the same bytes). */
  bytes: Uint8Array;
  readonly high: number;
  readonly low: number;
}

/**
 * The host encodings of a line of versions (each made from the one before), by host name, as they
 * are in `owner`. Shared, so that a version made from the previous one does not copy 100k entries:
 * a version's own changes wait in its `pending` until it becomes the base of the next one.
 */
interface SharedHosts {
  readonly byName: Map<string, HostEncoding>;
  owner: HostIndex;
}

export interface HostIndex {
  /** The configuration without its virtual hosts, and the offset where they go. */
  readonly head: Uint8Array;
  readonly at: number;
  /** The sums (mod 2^32) of the hosts' hash halves. */
  readonly high: number;
  readonly low: number;
  readonly shared: SharedHosts;
  readonly parent?: HostIndex;
  /** The hosts that differ from `parent`'s (undefined: gone), until this version owns `shared`. */
  readonly pending?: Map<string, HostEncoding | undefined>;
  /** How many hosts this version encoded anew (the others were its base's). */
  readonly encoded: number;
}

/** A route configuration encoded per host: `bytes` are joined on first read. */
class HostIndexedResource implements CachedResource {
  refs?: CachedResource["refs"];
  wire?: CachedResource["wire"];
  jsonHash?: string;
  #bytes: Uint8Array | undefined;
  constructor(
    readonly name: string,
    readonly version: string,
    readonly json: Json,
    readonly hosts: HostIndex,
    private readonly encoder: WireEncoder | undefined,
  ) {}

  get bytes(): Uint8Array {
    return (this.#bytes ??= joinHosts(this.json, this.hosts, this.encoder));
  }
}

/** A route configuration at least this large is encoded per host (as resource-encoding.ts does entry by entry). */
const hostIndexMin = 32;

const routeType = (): protobuf.Type => lookupType(TypeUrls.route);
const hostsField = (): protobuf.Field => routeType().fields.virtual_hosts!.resolve();

/** Whether a resource is encoded per host: a route configuration of many virtual hosts with distinct names. */
export function hostIndexable(typeUrl: string, json: Json): boolean {
  if (typeUrl !== TypeUrls.route) return false;
  const hosts = json.virtual_hosts;
  if (!Array.isArray(hosts) || hosts.length < hostIndexMin) return false;
  const names = new Set<string>();
  for (const host of hosts as Json[]) {
    if (host === null || typeof host !== "object" || typeof host.name !== "string" || names.has(host.name)) return false;
    names.add(host.name);
  }
  return true;
}

/** Whether a served resource is encoded per host, with the index spliceHosts needs. */
export const hostIndexOf = (resource: CachedResource | undefined): HostIndex | undefined => (resource instanceof HostIndexedResource ? resource.hosts : undefined);

/** Encodes a host-indexable route configuration (hostIndexable) whole, reusing `before`'s encodings of the same host objects. */
export function encodeHosts(json: Json, before: CachedResource | undefined, encoder?: WireEncoder): CachedResource {
  const { virtual_hosts: hosts, ...rest } = json;
  const head = encodeHead(rest, encoder);
  const previous = hostIndexOf(before);
  if (previous) settle(previous);
  const list = hosts as Json[];
  const known = list.map((host) => previous && lookup(previous, host.name as string));
  // Hosts given as other objects are compared by content only when many are (a rebuilt DAG): a few
  // are new content, cheaper to encode than to write out as JSON twice.
  let misses = 0;
  list.forEach((host, i) => void (known[i]?.object === host || misses++));
  const byContent = misses * 4 > list.length;
  const byName = new Map<string, HostEncoding>();
  let high = 0;
  let low = 0;
  let encoded = 0;
  list.forEach((host, i) => {
    const was = known[i];
    let encoding = was?.object === host ? was : undefined;
    if (!encoding && was && byContent && JSON.stringify(was.object) === JSON.stringify(host)) encoding = { ...was, object: host };
    if (!encoding) {
      encoding = encodeHost(host, encoder);
      encoded++;
    }
    byName.set(host.name as string, encoding);
    high = (high + encoding.high) >>> 0;
    low = (low + encoding.low) >>> 0;
  });
  const shared = { byName } as SharedHosts;
  const index: HostIndex = { head, at: fieldsBefore(head, hostsField().id), high, low, shared, encoded };
  shared.owner = index;
  return new HostIndexedResource(json.name as string, versionOf(index), json, index, encoder);
}

/**
 * `before` with the hosts in `changed` replaced, added or removed (resource-delta.ts): their
 * encodings and hashes only. Undefined when it cannot say exactly (the configuration's other fields
 * differ, a host is not named as listed, it would no longer be encoded per host): encode it whole.
 */
export function spliceHosts(json: Json, before: CachedResource, changed: ChangedResources, encoder?: WireEncoder): CachedResource | undefined {
  const previous = hostIndexOf(before);
  const hosts = json.virtual_hosts;
  if (!previous || !Array.isArray(hosts) || hosts.length < hostIndexMin || !settle(previous)) return undefined;
  const old = before.json as Json;
  for (const key of new Set([...Object.keys(old), ...Object.keys(json)])) if (key !== "virtual_hosts" && old[key] !== json[key]) return undefined;
  let { high, low } = previous;
  const pending = new Map<string, HostEncoding | undefined>();
  for (const [name, host] of changed) {
    const was = previous.shared.byName.get(name);
    if (was) {
      high = (high - was.high) >>> 0;
      low = (low - was.low) >>> 0;
    }
    if (host === undefined) {
      pending.set(name, undefined);
      continue;
    }
    if ((host as Json).name !== name) return undefined;
    const encoding = encodeHost(host as Json, encoder);
    pending.set(name, encoding);
    high = (high + encoding.high) >>> 0;
    low = (low + encoding.low) >>> 0;
  }
  let encoded = 0;
  for (const encoding of pending.values()) if (encoding) encoded++;
  const index: HostIndex = { head: previous.head, at: previous.at, high, low, shared: previous.shared, parent: previous, pending, encoded };
  return new HostIndexedResource(json.name as string, versionOf(index), json, index, encoder);
}

/** Makes `index` the owner of its shared encodings (its parent's, with its pending changes applied); false when another line took them. */
function settle(index: HostIndex): boolean {
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

/** A host's encoding in version `index` (undefined when unknown there; the caller checks the object). */
function lookup(index: HostIndex, name: string): HostEncoding | undefined {
  const { shared } = index;
  if (shared.owner === index) return shared.byName.get(name);
  if (index.pending?.has(name)) return index.pending.get(name);
  return index.parent && shared.owner === index.parent ? shared.byName.get(name) : undefined;
}

/** The configuration's bytes: its head with every host in its place; each host's encoding then becomes a view into them. */
function joinHosts(json: Json, index: HostIndex, encoder: WireEncoder | undefined): Uint8Array {
  const encodings = (json.virtual_hosts as Json[]).map((host) => {
    const known = lookup(index, host.name as string);
    return known?.object === host ? known : encodeHost(host, encoder);
  });
  const { head, at } = index;
  const bytes = Buffer.concat([head.subarray(0, at), ...encodings.map((e) => e.bytes), head.subarray(at)]);
  let offset = at;
  for (const encoding of encodings) encoding.bytes = bytes.subarray(offset, (offset += encoding.bytes.length));
  return bytes;
}

function encodeHead(rest: Json, encoder: WireEncoder | undefined): Uint8Array {
  return encoder?.encode(routeType(), rest) ?? encodeStrict(routeType(), rest);
}

function encodeHost(host: Json, encoder: WireEncoder | undefined): HostEncoding {
  const field = hostsField();
  const entryType = field.resolvedType as protobuf.Type;
  const bytes = encoder?.encodeField(field.id, entryType, host) ?? lengthDelimited(field.id, encodeStrict(entryType, host));
  const digest = oneShotHash("sha256", bytes, "buffer") as unknown as Buffer;
  return { object: host, bytes, high: digest.readUInt32BE(0), low: digest.readUInt32BE(4) };
}

/** The version: a hash of the head and the hosts' hash sums (16 hex digits, like every resource's). */
function versionOf(index: HostIndex): string {
  const sums = Buffer.alloc(8);
  sums.writeUInt32BE(index.high, 0);
  sums.writeUInt32BE(index.low, 4);
  return oneShotHash("sha256", Buffer.concat([index.head, sums]), "hex").slice(0, 16);
}
