// Wire encoding of xDS responses from pre-encoded resources. A DiscoveryResponse or
// DeltaDiscoveryResponse is assembled by concatenating protobuf fields: each resource's Any (and
// delta Resource) fragment is built once from the snapshot's bytes and shared by every client, so
// no resource is encoded per client. Also decodes requests and the client's node.
import { Buffer } from "node:buffer";
import type protobuf from "protobufjs";
import { lookupType, messageToJson } from "./registry.ts";
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
}

export interface DeltaRequest {
  node?: protobuf.Message;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string } | null;
}

export function decodeSotwRequest(bytes: Buffer): SotwRequest {
  return DiscoveryRequest.decode(bytes) as unknown as SotwRequest;
}

export function decodeDeltaRequest(bytes: Buffer): DeltaRequest {
  return DeltaDiscoveryRequest.decode(bytes) as unknown as DeltaRequest;
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
function lengthDelimited(field: number, payload: Uint8Array): Buffer {
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
