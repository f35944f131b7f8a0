// An xDS client: one state-of-the-world or delta stream (ADS or a per-type service) that subscribes to
// resources, ACKs (or NACKs) every response and hands each one to its caller, still encoded until asked.
// Used by `agent xds`, by tests against our own server, and by the benchmark's simulated clients.
import { Buffer } from "node:buffer";
import { isIP } from "node:net";
import { checkServerIdentity } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { lookupType, typeUrl } from "./registry.ts";
import { decodeToJson } from "./registry-decode.ts";
import { TypeUrls } from "./types.ts";
import { VHDS_METADATA_KEY } from "./vhds.ts";
import { version } from "../base/version.ts";

/** Short names of the resource types, as `agent xds --type` takes them. */
export const xdsTypes = {
  lds: TypeUrls.listener,
  rds: TypeUrls.route,
  cds: TypeUrls.cluster,
  eds: TypeUrls.endpoint,
  sds: TypeUrls.secret,
} as const;

export type XdsTypeName = keyof typeof xdsTypes;

/** The per-type discovery services, by resource type URL: `[service, sotw method, delta method]`. */
const perTypeServices: Record<string, [string, string, string]> = {
  [xdsTypes.lds]: ["envoy.service.listener.v3.ListenerDiscoveryService", "StreamListeners", "DeltaListeners"],
  [xdsTypes.rds]: ["envoy.service.route.v3.RouteDiscoveryService", "StreamRoutes", "DeltaRoutes"],
  [xdsTypes.cds]: ["envoy.service.cluster.v3.ClusterDiscoveryService", "StreamClusters", "DeltaClusters"],
  [xdsTypes.eds]: ["envoy.service.endpoint.v3.EndpointDiscoveryService", "StreamEndpoints", "DeltaEndpoints"],
  [xdsTypes.sds]: ["envoy.service.secret.v3.SecretDiscoveryService", "StreamSecrets", "DeltaSecrets"],
};
const adsService = "envoy.service.discovery.v3.AggregatedDiscoveryService";

const DiscoveryRequest = lookupType("envoy.service.discovery.v3.DiscoveryRequest");
const DiscoveryResponse = lookupType("envoy.service.discovery.v3.DiscoveryResponse");
const DeltaDiscoveryRequest = lookupType("envoy.service.discovery.v3.DeltaDiscoveryRequest");
const DeltaDiscoveryResponse = lookupType("envoy.service.discovery.v3.DeltaDiscoveryResponse");
const resourceWrapperUrl = typeUrl("envoy.service.discovery.v3.Resource");

/** A short type name (`cds`) or a full type URL to the type URL; undefined when it is neither. */
export function resolveTypeUrl(nameOrUrl: string): string | undefined {
  if (nameOrUrl in xdsTypes) return xdsTypes[nameOrUrl as XdsTypeName];
  return Object.values(xdsTypes).find((url) => url === nameOrUrl || url.endsWith(`/${nameOrUrl}`));
}

/** The gRPC method path a stream uses: ADS, or the per-type service of its one type. */
export function methodPath(options: { ads: boolean; delta: boolean; typeUrl?: string }): string {
  if (options.ads) return `/${adsService}/${options.delta ? "DeltaAggregatedResources" : "StreamAggregatedResources"}`;
  const service = options.typeUrl ? perTypeServices[options.typeUrl] : undefined;
  if (!service) throw new Error(`no per-type discovery service for ${options.typeUrl ?? "(no type)"}`);
  return `/${service[0]}/${options.delta ? service[2] : service[1]}`;
}

export interface XdsNode {
  id: string;
  cluster?: string;
  /**
   * Delta ADS: take VHDS as Envoy does (node metadata `isobar.vhds: true`; on the first route
   * configurations received, a VHDS subscription naming nothing, so every host comes up front).
   */
  vhds?: boolean;
}

/** What to subscribe to: a type, and names (none: wildcard, for the types where that means anything). */
export interface XdsSubscription {
  typeUrl: string;
  names?: string[];
  /** Delta only: versions already held (a reconnect), so the server sends only what differs. */
  initialVersions?: Record<string, string>;
}

/** One resource of a response, still encoded. */
export interface XdsResource {
  name: string;
  /** The resource's own version (delta); empty in state-of-the-world. */
  version: string;
  typeUrl: string;
  value: Uint8Array;
}

/** One response as received: the envelope decoded, the resources still bytes. */
export interface XdsResponse {
  delta: boolean;
  typeUrl: string;
  nonce: string;
  /** `version_info` (state-of-the-world) or `system_version_info` (delta). */
  version: string;
  /** The resources, still encoded; empty when the client was opened with `envelopeOnly`. */
  resources: XdsResource[];
  /** How many resources the response carried. */
  resourceCount: number;
  /** Delta only: names the server removed. */
  removed: string[];
  /** The message's encoded size: what this response cost on the wire, without gRPC framing. */
  size: number;
  /** The encoded message, for `responseToJson`. */
  message: Uint8Array;
}

export interface XdsClientOptions {
  node: XdsNode;
  subscriptions: XdsSubscription[];
  /** Delta xDS instead of state-of-the-world. */
  delta?: boolean;
  /** The aggregated service (default), or the per-type service of the single subscription. */
  ads?: boolean;
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
  /**
   * Read only the envelope (type, nonce, version, resource count, removed names), not the resources:
   * enough to ACK, and cheap enough for a benchmark's thousand simulated clients in one process.
   */
  envelopeOnly?: boolean;
  /** Decide per response: an error message NACKs it, undefined ACKs it. Default: ACK everything. */
  judge?: (response: XdsResponse) => string | undefined;
  /** Called for every response, after it was ACKed or NACKed. */
  onResponse?: (response: XdsResponse) => void;
  /** Called once when the stream ends with an error (a status other than OK, or a cancel we did not ask for). */
  onError?: (error: Error) => void;
}

export interface XdsClient {
  /** The next response not yet taken; rejects when the stream has ended. */
  next(): Promise<XdsResponse>;
  /** Changes the names of one type: sotw sends the full new list, delta the difference. */
  subscribe(typeUrl: string, names: string[]): void;
  /** Resolves when the channel is connected; rejects after `timeoutMs` (`cannot connect ...`). */
  waitForReady(timeoutMs: number): Promise<void>;
  close(): void;
}

/**
 * Opens one xDS stream to `address` (host:port) and subscribes at once. Every response is ACKed
 * (or NACKed, see `judge`) before it is handed on. The stream is not re-established when it ends.
 */
export function connectXds(address: string, options: XdsClientOptions): XdsClient {
  const delta = options.delta ?? false;
  const ads = options.ads ?? true;
  if (!ads && options.subscriptions.length !== 1) throw new Error("a per-type stream carries exactly one resource type");
  const client = new grpc.Client(address, options.credentials ?? grpc.credentials.createInsecure(), options.channelOptions);
  const path = methodPath({ ads, delta, typeUrl: options.subscriptions[0]?.typeUrl });
  const requestType = delta ? DeltaDiscoveryRequest : DiscoveryRequest;
  const call = client.makeBidiStreamRequest(
    path,
    (request: protobuf.Message) => Buffer.from(requestType.encode(request).finish()),
    (bytes: Buffer) => bytes,
  );

  const names = new Map<string, string[]>(); // sotw: the current list per type, for ACKs
  const versions = new Map<string, string>(); // sotw: the last ACKed version per type
  const nonces = new Map<string, string>(); // the last nonce received per type
  const queue: XdsResponse[] = [];
  const waiters: Array<{ resolve: (r: XdsResponse) => void; reject: (e: Error) => void }> = [];
  let ended: Error | undefined;
  let closing = false;
  let nodeSent = false;

  function send(fields: Record<string, unknown>): void {
    if (ended) return;
    const withNode = nodeSent ? fields : { ...fields, node: nodeMessage(options.node) };
    nodeSent = true;
    call.write(requestType.fromObject(withNode));
  }

  function request(typeUrl: string, extra: Record<string, unknown>): void {
    if (delta) send({ type_url: typeUrl, ...extra });
    else send({ type_url: typeUrl, resource_names: names.get(typeUrl) ?? [], version_info: versions.get(typeUrl) ?? "", ...extra });
  }

  for (const subscription of options.subscriptions) {
    names.set(subscription.typeUrl, subscription.names ?? []);
    const initial = subscription.initialVersions ? { initial_resource_versions: subscription.initialVersions } : {};
    if (delta) request(subscription.typeUrl, { resource_names_subscribe: subscription.names ?? [], ...initial });
    else request(subscription.typeUrl, {});
  }

  // VHDS: the shells of the route configurations are followed by their hosts, as Envoy subscribes to them.
  let vhdsSubscribed = !(delta && ads && options.node.vhds);
  const followRoutes = (response: XdsResponse) => {
    if (vhdsSubscribed || response.typeUrl !== TypeUrls.route || response.resourceCount === 0) return;
    vhdsSubscribed = true;
    names.set(TypeUrls.virtualHost, []);
    request(TypeUrls.virtualHost, { resource_names_subscribe: [] });
  };

  call.on("data", (bytes: Buffer) => {
    const response = options.envelopeOnly ? readEnvelope(bytes, delta) : delta ? readDeltaResponse(bytes) : readResponse(bytes);
    nonces.set(response.typeUrl, response.nonce);
    const error = options.judge?.(response);
    if (error === undefined) {
      if (!delta) versions.set(response.typeUrl, response.version);
      request(response.typeUrl, { response_nonce: response.nonce });
    } else {
      request(response.typeUrl, { response_nonce: response.nonce, error_detail: { code: grpc.status.INVALID_ARGUMENT, message: error } });
    }
    if (error === undefined) followRoutes(response);
    options.onResponse?.(response);
    const waiter = waiters.shift();
    if (waiter) waiter.resolve(response);
    else if (!options.onResponse) queue.push(response);
  });
  call.on("error", (error: grpc.ServiceError) => {
    if (closing && error.code === grpc.status.CANCELLED) return finish(new Error("stream closed"));
    const failure = new Error(`xDS stream to ${address} failed: ${error.details || error.message}`);
    options.onError?.(failure);
    finish(failure);
  });
  call.on("end", () => finish(new Error("stream ended by the server")));

  function finish(error: Error): void {
    if (ended) return;
    ended = error;
    for (const waiter of waiters.splice(0)) waiter.reject(error);
    client.close();
  }

  return {
    next() {
      const response = queue.shift();
      if (response) return Promise.resolve(response);
      if (ended) return Promise.reject(ended);
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    subscribe(typeUrl, newNames) {
      const old = names.get(typeUrl) ?? [];
      names.set(typeUrl, newNames);
      if (!delta) return request(typeUrl, { response_nonce: nonces.get(typeUrl) ?? "" });
      const subscribe = newNames.filter((n) => !old.includes(n));
      const unsubscribe = old.filter((n) => !newNames.includes(n));
      request(typeUrl, { resource_names_subscribe: subscribe, resource_names_unsubscribe: unsubscribe });
    },
    waitForReady(timeoutMs) {
      return new Promise((resolve, reject) => {
        client.waitForReady(Date.now() + timeoutMs, (error) => {
          if (error) reject(new Error(`cannot connect to ${address} within ${timeoutMs / 1000}s`));
          else resolve();
        });
      });
    },
    close() {
      closing = true;
      call.cancel();
      finish(new Error("stream closed"));
    },
  };
}

export interface TlsMaterial {
  ca: Uint8Array;
  certificate: Uint8Array;
  privateKey: Uint8Array;
}

/**
 * Credentials and channel options for a TLS connection with a client certificate. The server's name
 * is checked against `serverName`, or the address's host. Bun's tls.connect refuses an IP address as
 * SNI (Node only warns), which grpc-js sends for an IP target: there the IP is checked against the
 * certificate's IP SANs by our own identity check, and SNI carries a placeholder name instead.
 */
export function tlsChannel(address: string, material: TlsMaterial, options: { serverName?: string } = {}): { credentials: grpc.ChannelCredentials; channelOptions: grpc.ChannelOptions } {
  const ca = Buffer.from(material.ca);
  const key = Buffer.from(material.privateKey);
  const certificate = Buffer.from(material.certificate);
  if (options.serverName) {
    return { credentials: grpc.credentials.createSsl(ca, key, certificate), channelOptions: { "grpc.ssl_target_name_override": options.serverName } };
  }
  const host = hostOf(address);
  if (isIP(host) === 0 || !("bun" in process.versions)) return { credentials: grpc.credentials.createSsl(ca, key, certificate), channelOptions: {} };
  const credentials = grpc.credentials.createSsl(ca, key, certificate, { checkServerIdentity: (_placeholder, peer) => checkServerIdentity(host, peer) });
  return { credentials, channelOptions: { "grpc.ssl_target_name_override": "xds.invalid" } };
}

function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1]!;
  const colon = address.lastIndexOf(":");
  return colon > 0 && address.indexOf(":") === colon ? address.slice(0, colon) : address;
}

function nodeMessage(node: XdsNode): Record<string, unknown> {
  const metadata = node.vhds ? { metadata: { fields: { [VHDS_METADATA_KEY]: { boolValue: true } } } } : {};
  return { id: node.id, cluster: node.cluster ?? "", user_agent_name: "isobar-agent-xds", user_agent_version: version, ...metadata };
}

interface AnyMessage {
  type_url: string;
  value: Uint8Array;
}

function readResponse(bytes: Buffer): XdsResponse {
  const message = DiscoveryResponse.decode(bytes) as unknown as { version_info: string; resources: AnyMessage[]; type_url: string; nonce: string };
  const resources = message.resources.map((any) => unwrapResource(any, ""));
  return {
    delta: false,
    typeUrl: message.type_url,
    nonce: message.nonce,
    version: message.version_info,
    resources,
    resourceCount: resources.length,
    removed: [],
    size: bytes.length,
    message: bytes,
  };
}

function readDeltaResponse(bytes: Buffer): XdsResponse {
  const message = DeltaDiscoveryResponse.decode(bytes) as unknown as {
    system_version_info: string;
    resources: Array<{ name: string; version: string; resource?: AnyMessage }>;
    type_url: string;
    removed_resources: string[];
    nonce: string;
  };
  const resources = message.resources.map((r) => ({
    name: r.name,
    version: r.version,
    typeUrl: r.resource?.type_url ?? message.type_url,
    value: r.resource?.value ?? new Uint8Array(),
  }));
  return {
    delta: true,
    typeUrl: message.type_url,
    nonce: message.nonce,
    version: message.system_version_info,
    resources,
    resourceCount: resources.length,
    removed: message.removed_resources,
    size: bytes.length,
    message: bytes,
  };
}

/**
 * Reads a DiscoveryResponse or DeltaDiscoveryResponse's top-level fields without decoding a resource.
 * Both put version in field 1, resources in 2, type_url in 4 and nonce in 5; delta's removed names are 6.
 */
function readEnvelope(bytes: Buffer, delta: boolean): XdsResponse {
  const reader = protobuf.Reader.create(bytes);
  const response: XdsResponse = { delta, typeUrl: "", nonce: "", version: "", resources: [], resourceCount: 0, removed: [], size: bytes.length, message: bytes };
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === 2) response.version = reader.string();
    else if (field === 4 && (tag & 7) === 2) response.typeUrl = reader.string();
    else if (field === 5 && (tag & 7) === 2) response.nonce = reader.string();
    else if (field === 6 && delta && (tag & 7) === 2) response.removed.push(reader.string());
    else {
      if (field === 2) response.resourceCount++;
      reader.skipType(tag & 7);
    }
  }
  return response;
}

/** A sotw resource Any: either the resource itself or an `envoy.service.discovery.v3.Resource` wrapping it. */
function unwrapResource(any: AnyMessage, version: string): XdsResource {
  if (any.type_url === resourceWrapperUrl) {
    const wrapper = lookupType(resourceWrapperUrl).decode(any.value) as unknown as { name: string; version: string; resource?: AnyMessage };
    return { name: wrapper.name, version: wrapper.version, typeUrl: wrapper.resource?.type_url ?? "", value: wrapper.resource?.value ?? new Uint8Array() };
  }
  return { name: resourceName(any.value), version, typeUrl: any.type_url, value: any.value };
}

/**
 * The name of an encoded Listener, RouteConfiguration, Cluster, ClusterLoadAssignment or Secret: field 1
 * in all five, read without decoding the rest (the benchmark's clients read thousands per second).
 */
export function resourceName(value: Uint8Array): string {
  const reader = protobuf.Reader.create(value);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag === ((1 << 3) | 2)) return reader.string();
    reader.skipType(tag & 7);
  }
  return "";
}

/** A response in our JSON form (proto field names, Anys expanded), as `agent xds` prints it. */
export function responseToJson(response: XdsResponse): Record<string, unknown> {
  return decodeToJson(response.delta ? DeltaDiscoveryResponse : DiscoveryResponse, response.message);
}
