// A raw xDS test client: opens sotw or delta streams (ADS or a per-type service) over a real socket,
// sends requests exactly as a test writes them (nonces, versions, error details are the test's to
// choose: nothing is ACKed automatically) and hands back every response, decoded, in order.
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import { lookupType } from "../../src/xds/registry.ts";
import { decodeToJson } from "../../src/xds/registry-decode.ts";

const DiscoveryRequest = lookupType("envoy.service.discovery.v3.DiscoveryRequest");
const DiscoveryResponse = lookupType("envoy.service.discovery.v3.DiscoveryResponse");
const DeltaDiscoveryRequest = lookupType("envoy.service.discovery.v3.DeltaDiscoveryRequest");
const DeltaDiscoveryResponse = lookupType("envoy.service.discovery.v3.DeltaDiscoveryResponse");

export const adsPaths = {
  sotw: "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
  delta: "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources",
};

/** Per-type service paths by short name: `[sotw, delta]`. */
export const perTypePaths = {
  lds: ["/envoy.service.listener.v3.ListenerDiscoveryService/StreamListeners", "/envoy.service.listener.v3.ListenerDiscoveryService/DeltaListeners"],
  rds: ["/envoy.service.route.v3.RouteDiscoveryService/StreamRoutes", "/envoy.service.route.v3.RouteDiscoveryService/DeltaRoutes"],
  cds: ["/envoy.service.cluster.v3.ClusterDiscoveryService/StreamClusters", "/envoy.service.cluster.v3.ClusterDiscoveryService/DeltaClusters"],
  eds: ["/envoy.service.endpoint.v3.EndpointDiscoveryService/StreamEndpoints", "/envoy.service.endpoint.v3.EndpointDiscoveryService/DeltaEndpoints"],
  sds: ["/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets", "/envoy.service.secret.v3.SecretDiscoveryService/DeltaSecrets"],
} as const;

export interface SotwRequestInit {
  node?: { id: string; cluster?: string };
  type_url?: string;
  resource_names?: string[];
  version_info?: string;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
}

export interface DeltaRequestInit {
  node?: { id: string; cluster?: string; user_agent_name?: string };
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
}

export interface SotwResponse {
  version_info: string;
  nonce: string;
  type_url: string;
  /** Names of the resources, in response order. */
  names: string[];
  resources: Record<string, unknown>[];
  /** The encoded size of the response. */
  bytes: number;
}

export interface DeltaResponse {
  system_version_info: string;
  nonce: string;
  type_url: string;
  resources: { name: string; version: string; resource: Record<string, unknown> }[];
  names: string[];
  removed_resources: string[];
  bytes: number;
}

export interface RawStream<Request, Response> {
  send(request: Request): void;
  /** The next response not yet taken; rejects if the stream ends first. */
  next(): Promise<Response>;
  /** Responses received and not yet taken by next(). */
  readonly buffered: number;
  /** Resolves with the stream's status when it ends. */
  readonly ended: Promise<grpc.StatusObject>;
  close(): void;
}

/** A gRPC client for one server; streams from it share one HTTP/2 connection. */
export function connectRaw(port: number, options: { address?: string; credentials?: grpc.ChannelCredentials; channelOptions?: grpc.ChannelOptions } = {}) {
  const client = new grpc.Client(`${options.address ?? "127.0.0.1"}:${port}`, options.credentials ?? grpc.credentials.createInsecure(), options.channelOptions);
  const open = new Set<grpc.ClientDuplexStream<unknown, unknown>>();

  function openStream<Request, Response>(path: string, encode: (r: Request) => Buffer, decode: (b: Buffer) => Response): RawStream<Request, Response> {
    const call = client.makeBidiStreamRequest(path, encode, decode);
    open.add(call as grpc.ClientDuplexStream<unknown, unknown>);
    const queue: Response[] = [];
    const waiters: { resolve: (r: Response) => void; reject: (e: Error) => void }[] = [];
    let endError: Error | undefined;
    const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    call.on("data", (response: Response) => {
      const waiter = waiters.shift();
      if (waiter) waiter.resolve(response);
      else queue.push(response);
    });
    const fail = (error: Error) => {
      endError ??= error;
      for (const waiter of waiters.splice(0)) waiter.reject(endError);
    };
    call.on("error", (error: Error) => fail(error));
    call.on("end", () => fail(new Error("stream ended")));
    return {
      send: (request) => void call.write(request),
      next() {
        const response = queue.shift();
        if (response) return Promise.resolve(response);
        if (endError) return Promise.reject(endError);
        return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
      },
      get buffered() {
        return queue.length;
      },
      ended,
      close() {
        open.delete(call as grpc.ClientDuplexStream<unknown, unknown>);
        call.cancel();
      },
    };
  }

  return {
    sotw(path: string = adsPaths.sotw): RawStream<SotwRequestInit, SotwResponse> {
      return openStream(path, encodeSotwRequest, decodeSotwResponse);
    },
    delta(path: string = adsPaths.delta): RawStream<DeltaRequestInit, DeltaResponse> {
      return openStream(path, encodeDeltaRequest, decodeDeltaResponse);
    },
    close() {
      for (const call of open) call.cancel();
      client.close();
    },
  };
}

export type RawClient = ReturnType<typeof connectRaw>;

export function encodeSotwRequest(request: SotwRequestInit): Buffer {
  return Buffer.from(DiscoveryRequest.encode(DiscoveryRequest.fromObject(request)).finish());
}

export function encodeDeltaRequest(request: DeltaRequestInit): Buffer {
  return Buffer.from(DeltaDiscoveryRequest.encode(DeltaDiscoveryRequest.fromObject(request)).finish());
}

export function decodeSotwResponse(bytes: Buffer): SotwResponse {
  const message = DiscoveryResponse.decode(bytes) as unknown as {
    version_info: string;
    nonce: string;
    type_url: string;
    resources: { type_url: string; value: Uint8Array }[];
  };
  const resources = message.resources.map((any) => ({ ...decodeToJson(any.type_url, any.value) }));
  return {
    version_info: message.version_info,
    nonce: message.nonce,
    type_url: message.type_url,
    names: resources.map(resourceName),
    resources,
    bytes: bytes.length,
  };
}

export function decodeDeltaResponse(bytes: Buffer): DeltaResponse {
  const message = DeltaDiscoveryResponse.decode(bytes) as unknown as {
    system_version_info: string;
    nonce: string;
    type_url: string;
    resources: { name: string; version: string; resource: { type_url: string; value: Uint8Array } }[];
    removed_resources: string[];
  };
  const resources = message.resources.map((r) => ({ name: r.name, version: r.version, resource: decodeToJson(r.resource.type_url, r.resource.value) }));
  return {
    system_version_info: message.system_version_info,
    nonce: message.nonce,
    type_url: message.type_url,
    resources,
    names: resources.map((r) => r.name),
    removed_resources: message.removed_resources,
    bytes: bytes.length,
  };
}

function resourceName(resource: Record<string, unknown>): string {
  return String(resource.name ?? resource.cluster_name ?? "");
}
