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

  /**
   * Decodes a request whose repeated string field `field` may hold a long list of names: a thousand
   * Envoys subscribe to the same thousand load assignments and a sotw ACK repeats them, so a list whose
   * bytes equal a recent one is not decoded again but shares that one's array (and its strings), which
   * the server then recognises as the same subscription at no cost. The array must not be changed.
   */
  function decodeSharingNames(type: protobuf.Type, bytes: Buffer, options: { field: number; key: string }): protobuf.Message {
    const span = repeatedFieldSpan(bytes, options.field);
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
      entry = { bytes: Buffer.from(listed), names: decodeStrings(listed) };
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
function repeatedFieldSpan(bytes: Uint8Array, field: number): { start: number; end: number; count: number } | undefined {
  let offset = 0;
  let start = -1;
  let end = -1;
  let count = 0;
  while (offset < bytes.length) {
    const next = readField(bytes, offset);
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

/** What readField read: one object reused by every call, so a scan of a thousand fields allocates nothing. */
const fieldRead = { field: 0, wireType: 0, payload: 0, end: 0 };

/**
 * Reads the top-level field that starts at `offset`: its number, wire type, where its payload starts
 * and where it ends; undefined when malformed or a group. The answer is the same object on every call:
 * read it before the next.
 */
export function readField(bytes: Uint8Array, offset: number): Readonly<typeof fieldRead> | undefined {
  const next = readVarint(bytes, offset);
  if (next < 0) return undefined;
  const tag = varintValue;
  const wireType = tag % 8;
  let payload = next;
  let end: number;
  if (wireType === 0) end = readVarint(bytes, next);
  else if (wireType === 1) end = next + 8;
  else if (wireType === 5) end = next + 4;
  else if (wireType === 2) {
    payload = readVarint(bytes, next);
    end = payload < 0 ? -1 : payload + varintValue;
  } else return undefined;
  if (end < 0 || end > bytes.length) return undefined;
  fieldRead.field = Math.floor(tag / 8);
  fieldRead.wireType = wireType;
  fieldRead.payload = payload;
  fieldRead.end = end;
  return fieldRead;
}

/** The value of the varint readVarint read last. */
let varintValue = 0;

/** Reads the varint at `offset` into varintValue; returns the offset after it, or -1 when malformed. */
function readVarint(bytes: Uint8Array, offset: number): number {
  let value = 0;
  let scale = 1;
  for (let index = offset; index < bytes.length && index < offset + 8; index++) {
    const byte = bytes[index]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      varintValue = value;
      return index + 1;
    }
    scale *= 128;
  }
  return -1;
}

/** The strings of a run of length-delimited entries of one field (as found by repeatedFieldSpan). */
function decodeStrings(run: Buffer): string[] {
  const names: string[] = [];
  let offset = 0;
  while (offset < run.length) {
    const entry = readField(run, offset)!;
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

function varint(value: number): Uint8Array {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Uint8Array.from(out);
}

/** A length-delimited field (wire type 2): tag, length, payload. */
export function lengthDelimited(field: number, payload: Uint8Array): Buffer {
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
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
  return (wire.sotw ??= lengthDelimited(2, anyBytes(typeUrl, resource)));
}

/** DeltaDiscoveryResponse.resources entry (field 2, a Resource{version, resource, name}). */
function deltaFragment(typeUrl: string, resource: CachedResource): Uint8Array {
  const wire = (resource.wire ??= {});
  return (wire.delta ??= lengthDelimited(
    2,
    Buffer.concat([stringField(1, resource.version), lengthDelimited(2, anyBytes(typeUrl, resource)), stringField(3, resource.name)]),
  ));
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
 * Response bodies shared by clients that are sent the same resources at the same type version
 * (every wildcard client, every client subscribed to the same names). Emptied when the version moves.
 */
export function createBodyCache(limit = 64): { get(typeUrl: string, version: string, key: string, build: () => Buffer): Buffer } {
  const perType = new Map<string, { version: string; bodies: Map<string, Buffer> }>();
  return {
    get(typeUrl, version, key, build) {
      let entry = perType.get(typeUrl);
      if (!entry || entry.version !== version) {
        entry = { version, bodies: new Map() };
        perType.set(typeUrl, entry);
      }
      let body = entry.bodies.get(key);
      if (!body) {
        body = build();
        if (entry.bodies.size >= limit) entry.bodies.delete(entry.bodies.keys().next().value!);
        entry.bodies.set(key, body);
      }
      return body;
    },
  };
}
