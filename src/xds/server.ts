// The xDS gRPC server: ADS (state-of-the-world and delta) and the per-type LDS/RDS/CDS/EDS/SDS
// services in both variants, all serving one snapshot store. Service definitions are built from the
// embedded descriptor's types; responses are pre-assembled bytes (see server-wire.ts).
import { hostPort } from "../base/address.ts";
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import { createNackLog, type NackLog } from "./nacks.ts";
import { createServerContext, log, type ServerContext, type XdsEvent } from "./server-common.ts";
import { serveDeltaStream } from "./server-delta.ts";
import { serveSotwStream } from "./server-sotw.ts";
import { createRequestDecoder, serializeResponse, type RequestDecoder } from "./server-wire.ts";
import type { SnapshotStore } from "./snapshot.ts";
import { TypeUrls } from "./types.ts";

export interface KeepaliveOptions {
  /** How often the server pings an idle connection (default 30 s). */
  timeMs?: number;
  /** How long it waits for the ping's answer before dropping the client (default 10 s). */
  timeoutMs?: number;
  /** The shortest ping interval a client may use (default 5 s); Envoy pings every 30 s or more. */
  minClientPingIntervalMs?: number;
}

export interface XdsServerOptions {
  store: SnapshotStore;
  address: string;
  port: number;
  /** @grpc/grpc-js server credentials; insecure when absent. */
  credentials?: ServerCredentials;
  keepalive?: KeepaliveOptions;
  /** Where NACKs are recorded; a new log when absent. */
  nacks?: NackLog;
}

export interface XdsServer {
  port: number;
  close(graceMs?: number): Promise<void>;
  nacks: NackLog;
  /** The number of open xDS streams. */
  streams(): number;
  /** Observes requests, ACKs, NACKs and responses (tests, metrics, debug). Returns the stop function. */
  on(listener: (event: XdsEvent) => void): () => void;
}

/** The full gRPC service names and their stream methods, with the type each per-type service fixes. */
const services: { service: string; sotw: string; delta: string; typeUrl?: string }[] = [
  { service: "envoy.service.discovery.v3.AggregatedDiscoveryService", sotw: "StreamAggregatedResources", delta: "DeltaAggregatedResources" },
  { service: "envoy.service.listener.v3.ListenerDiscoveryService", sotw: "StreamListeners", delta: "DeltaListeners", typeUrl: TypeUrls.listener },
  { service: "envoy.service.route.v3.RouteDiscoveryService", sotw: "StreamRoutes", delta: "DeltaRoutes", typeUrl: TypeUrls.route },
  { service: "envoy.service.cluster.v3.ClusterDiscoveryService", sotw: "StreamClusters", delta: "DeltaClusters", typeUrl: TypeUrls.cluster },
  { service: "envoy.service.endpoint.v3.EndpointDiscoveryService", sotw: "StreamEndpoints", delta: "DeltaEndpoints", typeUrl: TypeUrls.endpoint },
  { service: "envoy.service.secret.v3.SecretDiscoveryService", sotw: "StreamSecrets", delta: "DeltaSecrets", typeUrl: TypeUrls.secret },
];

const passBytes = (bytes: Buffer): Buffer => bytes;

function bidiMethod(path: string, deserialize: (bytes: Buffer) => unknown) {
  return {
    path,
    requestStream: true,
    responseStream: true,
    requestSerialize: passBytes,
    requestDeserialize: deserialize,
    responseSerialize: serializeResponse,
    responseDeserialize: passBytes,
  };
}

function addServices(server: Server, context: ServerContext, decoder: RequestDecoder): void {
  for (const { service, sotw, delta, typeUrl } of services) {
    const definition = {
      [sotw]: bidiMethod(`/${service}/${sotw}`, decoder.sotw),
      [delta]: bidiMethod(`/${service}/${delta}`, decoder.delta),
    } as unknown as ServiceDefinition;
    const implementation: UntypedServiceImplementation = {
      [sotw]: (call: Parameters<typeof serveSotwStream>[0]) => serveSotwStream(call, context, typeUrl),
      [delta]: (call: Parameters<typeof serveDeltaStream>[0]) => serveDeltaStream(call, context, typeUrl),
    };
    server.addService(definition, implementation);
  }
}

/** Starts the server on `address:port` (port 0: an ephemeral port) and resolves once it listens. */
export async function startXdsServer(options: XdsServerOptions): Promise<XdsServer> {
  const keepalive = options.keepalive ?? {};
  const server = new Server({
    "grpc.keepalive_time_ms": keepalive.timeMs ?? 30_000,
    "grpc.keepalive_timeout_ms": keepalive.timeoutMs ?? 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": keepalive.minClientPingIntervalMs ?? 5_000,
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.max_send_message_length": -1,
    "grpc.max_concurrent_streams": 4096,
    // Channelz (grpc-js's introspection registry, unused here) traces and tracks every connection and
    // call in ordered maps: a cost per client in a connect storm that buys nothing.
    "grpc.enable_channelz": 0,
  });
  const nacks = options.nacks ?? createNackLog();
  const decoder = createRequestDecoder();
  // With no stream open, nothing is left to share the name lists kept for sharing with: drop them.
  const registry = createServerContext(options.store, nacks, { onIdle: decoder.forget });
  addServices(server, registry.context, decoder);
  const credentials = options.credentials ?? ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(hostPort(options.address, options.port), credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  log.info(`xDS server listening on ${hostPort(options.address, port)}`);
  let closing: Promise<void> | undefined;
  return {
    port,
    nacks,
    streams: registry.streams,
    on: registry.on,
    close(graceMs = 5_000) {
      closing ??= new Promise<void>((resolve) => {
        let force: ReturnType<typeof setTimeout> | undefined;
        const stopped = (message: string) => {
          if (force === undefined) return;
          clearTimeout(force);
          force = undefined;
          log.info(message);
          resolve();
        };
        // xDS streams never end on their own: end them, let the clients go, then force what is left.
        registry.closeAll();
        force = setTimeout(() => {
          cutConnections(server);
          stopped(`xDS server stopped: connections still open after the ${graceMs} ms grace period were cut`);
        }, graceMs);
        server.tryShutdown(() => stopped("xDS server stopped"));
      });
      return closing;
    },
  };
}

/**
 * Ends every connection now. grpc-js's forceShutdown destroys each HTTP/2 session, but a session whose
 * writes wait on a client that stopped reading (its receive window full) keeps its socket open, and
 * then tryShutdown never calls back: the sockets are destroyed too. The sessions are grpc-js's own
 * (`sessions`, @grpc/grpc-js 1.14), read before forceShutdown forgets them.
 */
function cutConnections(server: Server): void {
  const sessions = (server as unknown as { sessions?: Map<{ socket?: { destroy(): void } | null }, unknown> }).sessions;
  const open = sessions ? [...sessions.keys()] : [];
  server.forceShutdown();
  for (const session of open) session.socket?.destroy();
}
