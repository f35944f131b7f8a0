// Wire encoding of xDS responses from pre-encoded resources. A DiscoveryResponse or
// DeltaDiscoveryResponse is assembled by concatenating protobuf fields: each resource's Any (and
// delta Resource) fragment is built once from the snapshot's bytes and shared by every client, so
// no resource is encoded per client. Also decodes requests and the client's node.
import { Buffer } from "node:buffer";
import type protobuf from "protobufjs";
import { lookupType } from "./registry.ts";
import { messageToJson } from "./registry-decode.ts";
import type { CachedResource } from "./snapshot.ts";
import type { NodeInfo } from "./types.ts";
import { createFieldReader, type FieldReader, lengthDelimited } from "./wire-fields.ts";
import { rebaseIndexed } from "./entry-index.ts";

export const DiscoveryRequest = lookupType("envoy.service.discovery.v3.DiscoveryRequest");
export const DiscoveryResponse = lookupType("envoy.service.discovery.v3.DiscoveryResponse");
export const DeltaDiscoveryRequest = lookupType("envoy.service.discovery.v3.DeltaDiscoveryRequest");
export const DeltaDiscoveryResponse = lookupType("envoy.service.discovery.v3.DeltaDiscoveryResponse");
const NodeType = lookupType("envoy.config.core.v3.Node");

/** A decoded request, with the fields the server reads (protobufjs keeps proto field names). */
export interface SotwRequest {
  version_info?: string;
  node?: protobuf.Message;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string } | null;
  /** Set by the decoder instead of `resource_names` when the request named more than it may. */
  tooManyNames?: number;
}

export interface DeltaRequest {
  node?: protobuf.Message;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string } | null;
  /** Set by the decoder instead of `resource_names_subscribe` when the request named more than it may. */
  tooManyNames?: number;
}

/** The most names one request may list, and one stream may be subscribed to in one type. */
export const maxSubscribedNames = 100_000;

/** Decodes requests; long name lists decoded recently are shared (see decodeSharingNames). */
export interface RequestDecoder {
  sotw(bytes: Buffer): SotwRequest;
  delta(bytes: Buffer): DeltaRequest;
  /** Drops the name lists kept for sharing (the server calls it when no stream is open). */
  forget(): void;
}

/** Name lists shorter than this (bytes on the wire) are decoded as they come. */
const sharedNamesMinBytes = 1024;

/**
 * A decoder with its own cache of recently decoded long name lists: at most `cacheEntries` lists and
 * `cacheBytes` of their encoding (a list longer than a quarter of that is never kept). A request
 * listing more than `maxNames` names in its name field is not decoded further than counting them:
 * it comes back with no names and `tooManyNames` set (the stream handler refuses it).
 */
export function createRequestDecoder(options: { maxNames?: number; cacheEntries?: number; cacheBytes?: number } = {}): RequestDecoder {
  const maxNames = options.maxNames ?? maxSubscribedNames;
  const cacheEntries = options.cacheEntries ?? 16;
  const cacheBytes = options.cacheBytes ?? 16 * 1024 * 1024;
  /** Recently decoded long name lists, newest first. */
  let recent: { bytes: Buffer; names: string[] }[] = [];
  let recentBytes = 0;
  const reader = createFieldReader();

  /**
   * Decodes a request whose repeated string field `field` may hold a long list of names: a thousand
   * Envoys subscribe to the same thousand load assignments and a sotw ACK repeats them, so a list whose
   * bytes equal a recent one is not decoded again but shares that one's array (and its strings), which
   * the server then recognises as the same subscription at no cost. The array must not be changed.
   */
  function decodeSharingNames(type: protobuf.Type, bytes: Buffer, options: { field: number; key: string }): protobuf.Message {
    const span = repeatedFieldSpan(reader, bytes, options.field);
    if (!span || span.end - span.start < sharedNamesMinBytes) return type.decode(bytes);
    const listed = bytes.subarray(span.start, span.end);
    const rest = () => type.decode(Buffer.concat([bytes.subarray(0, span.start), bytes.subarray(span.end)]));
    const count = span.count;
    if (count > maxNames) {
      const message = rest() as unknown as Record<string, unknown>;
      message[options.key] = [];
      message.tooManyNames = count;
      return message as unknown as protobuf.Message;
    }
    let entry = recent.find((candidate) => candidate.bytes.length === listed.length && candidate.bytes.equals(listed));
    if (!entry) {
      entry = { bytes: Buffer.from(listed), names: decodeStrings(reader, listed) };
      if (listed.length <= cacheBytes / 4) {
        recent.unshift(entry);
        recentBytes += listed.length;
        while (recent.length > cacheEntries || recentBytes > cacheBytes) recentBytes -= recent.pop()!.bytes.length;
      }
    }
    const message = rest();
    (message as unknown as Record<string, unknown>)[options.key] = entry.names;
    return message;
  }

  return {
    sotw: (bytes) => decodeSharingNames(DiscoveryRequest, bytes, { field: 3, key: "resource_names" }) as unknown as SotwRequest,
    delta: (bytes) => decodeSharingNames(DeltaDiscoveryRequest, bytes, { field: 3, key: "resource_names_subscribe" }) as unknown as DeltaRequest,
    forget() {
      recent = [];
      recentBytes = 0;
    },
  };
}

/**
 * Where the entries of a length-delimited field lie in a message's top level, when they are one
 * contiguous run (as every encoder writes a repeated field); undefined otherwise or when unsure.
 */
function repeatedFieldSpan(reader: FieldReader, bytes: Uint8Array, field: number): { start: number; end: number; count: number } | undefined {
  let offset = 0;
  let start = -1;
  let end = -1;
  let count = 0;
  while (offset < bytes.length) {
    const next = reader.read(bytes, offset);
    if (!next) return undefined;
    if (next.field === field && next.wireType === 2) {
      if (start === -1) start = offset;
      else if (end !== offset) return undefined;
      end = next.end;
      count++;
    }
    offset = next.end;
  }
  return start === -1 ? undefined : { start, end, count };
}

/** The strings of a run of length-delimited entries of one field (as found by repeatedFieldSpan). */
function decodeStrings(reader: FieldReader, run: Buffer): string[] {
  const names: string[] = [];
  let offset = 0;
  while (offset < run.length) {
    const entry = reader.read(run, offset)!;
    names.push(run.toString("utf8", entry.payload, entry.end));
    offset = entry.end;
  }
  return names;
}

export function nodeInfo(node: protobuf.Message | undefined | null): NodeInfo | undefined {
  if (!node) return undefined;
  const json = messageToJson(NodeType, node) as { id?: string; cluster?: string; metadata?: Record<string, unknown>; user_agent_name?: string };
  return { id: json.id ?? "", cluster: json.cluster ?? "", metadata: json.metadata, userAgentName: json.user_agent_name };
}

function stringField(field: number, text: string): Buffer {
  return text === "" ? Buffer.alloc(0) : lengthDelimited(field, Buffer.from(text, "utf8"));
}

function anyBytes(typeUrl: string, resource: CachedResource): Buffer {
  return Buffer.concat([stringField(1, typeUrl), lengthDelimited(2, resource.bytes)]);
}

/** DiscoveryResponse.resources entry (field 2, an Any), built once per resource version. */
function sotwFragment(typeUrl: string, resource: CachedResource): Uint8Array {
  const wire = (resource.wire ??= {});
  if (!wire.sotw) {
    wire.sotw = lengthDelimited(2, anyBytes(typeUrl, resource));
    if (!wire.delta) viewBytesIn(resource, wire.sotw, wire.sotw.length);
  }
  return wire.sotw;
}

/** DeltaDiscoveryResponse.resources entry (field 2, a Resource{version, resource, name}). */
function deltaFragment(typeUrl: string, resource: CachedResource): Uint8Array {
  const wire = (resource.wire ??= {});
  if (!wire.delta) {
    const name = stringField(3, resource.name);
    wire.delta = lengthDelimited(2, Buffer.concat([stringField(1, resource.version), lengthDelimited(2, anyBytes(typeUrl, resource)), name]));
    if (!wire.sotw) viewBytesIn(resource, wire.delta, wire.delta.length - name.length);
  }
  return wire.delta;
}

/**
 * Makes a resource's bytes a view into the first wire fragment built from them, which ends with them
 * at `end` (the Any's value is its last field): the fragment is kept for as long as the resource
 * version is served, so its bytes are held once instead of twice (100k hosts, clusters and load
 * assignments sent to delta clients; a listener of 50k filter chains, its joined bytes and its
 * entries' views into them, entry-index.ts).
 */
function viewBytesIn(resource: CachedResource, fragment: Uint8Array, end: number): void {
  const view = fragment.subarray(end - resource.bytes.length, end);
  if (rebaseIndexed(resource, view)) return;
  if (Object.getOwnPropertyDescriptor(resource, "bytes")?.writable) (resource as { bytes: Uint8Array }).bytes = view;
}

/** A DiscoveryResponse without its nonce (appended per client by `withNonce`). */
export function sotwBody(typeUrl: string, version: string, resources: readonly CachedResource[]): Buffer {
  return Buffer.concat([stringField(1, version), ...resources.map((r) => sotwFragment(typeUrl, r)), stringField(4, typeUrl)]);
}

/** A DeltaDiscoveryResponse without its nonce. */
export function deltaBody(typeUrl: string, systemVersion: string, resources: readonly CachedResource[], removed: readonly string[]): Buffer {
  return Buffer.concat([
    stringField(1, systemVersion),
    ...resources.map((r) => deltaFragment(typeUrl, r)),
    stringField(4, typeUrl),
    ...removed.map((name) => stringField(6, name)),
  ]);
}

/** Appends the nonce field (5 in both response messages); field order does not matter on the wire. */
export function withNonce(body: Buffer, nonce: string): Buffer {
  return Buffer.concat([body, stringField(5, nonce)]);
}

/**
 * A response as handed to `call.write`: a body shared by many clients and this client's nonce, never
 * joined into one buffer. grpc-js frames a message by reading `byteLength` of what the method's
 * serializer returns and calling its `copy(frame, 5)` (server-interceptors `serializeMessage`, the
 * pinned 1.14); this object writes the body and the nonce straight into that frame, so the body is
 * copied once per client, by the framing every message pays, instead of once more for the nonce.
 */
export interface OutgoingResponse {
  readonly byteLength: number;
  readonly length: number;
  copy(target: Uint8Array, targetStart?: number): number;
}

export function responseWithNonce(body: Uint8Array, nonce: string): OutgoingResponse {
  const nonceField = stringField(5, nonce);
  const byteLength = body.byteLength + nonceField.byteLength;
  return {
    byteLength,
    length: byteLength,
    copy(target, targetStart = 0) {
      target.set(body, targetStart);
      target.set(nonceField, targetStart + body.byteLength);
      return byteLength;
    },
  };
}

/** The response serializer of every xDS method: a built Buffer passes through, an OutgoingResponse as itself. */
export function serializeResponse(response: Buffer | OutgoingResponse): Buffer {
  return response as Buffer;
}

/**
 * A body shared through `holder[key]` while it is alive: held weakly, so that it lasts as long as a
 * response in flight (or a client being sent it) holds it, and is built again for a later client
 * once collected. A whole snapshot's body is a second copy of every resource's fragment (at 100k
 * hosts, clusters, load assignments and secrets some 200 MB), not worth keeping once sent.
 */
export function sharedBody<K extends string>(holder: { [key in K]?: WeakRef<Buffer> }, key: K, build: () => Buffer): Buffer {
  let body = holder[key]?.deref();
  if (!body) {
    body = build();
    holder[key] = new WeakRef(body) as (typeof holder)[K];
  }
  return body;
}

/**
 * Response bodies shared by clients that are sent the same resources at the same type version
 * (every wildcard client, every client subscribed to the same names), held weakly (sharedBody).
 * Emptied when the version moves.
 */
export function createBodyCache(limit = 64): { get(typeUrl: string, version: string, key: string, build: () => Buffer): Buffer } {
  const perType = new Map<string, { version: string; bodies: Map<string, WeakRef<Buffer>> }>();
  return {
    get(typeUrl, version, key, build) {
      let entry = perType.get(typeUrl);
      if (!entry || entry.version !== version) {
        entry = { version, bodies: new Map() };
        perType.set(typeUrl, entry);
      }
      let body = entry.bodies.get(key)?.deref();
      if (!body) {
        body = build();
        entry.bodies.delete(key);
        if (entry.bodies.size >= limit) entry.bodies.delete(entry.bodies.keys().next().value!);
        entry.bodies.set(key, new WeakRef(body));
      }
      return body;
    },
  };
}
