// What the sotw and delta stream handlers share: the server context (store, NACK log, response
// cache, events), the stream registry that makes vanished clients disappear without a trace, and the
// choice of the resources one client is sent.
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { consola } from "consola";
import { setImmediate } from "node:timers";
import type { NackLog, NackRecord } from "./nacks.ts";
import type { CachedResource, SnapshotStore } from "./snapshot.ts";
import { nodeIdentity, peerIdentity } from "./peer.ts";
import { createVariantCache, type VariantCache } from "./route-holdback.ts";
import type { KnownVersions } from "./known-versions.ts";
import { createNamePool, createPlanner, type NamePool, type Planner } from "./server-plan.ts";
import { createBodyCache, maxSubscribedNames, nodeInfo, type OutgoingResponse } from "./server-wire.ts";
import { referencesOfResource } from "./cached-resource.ts";
import { resourceTypes, TypeUrls, typeInfo, type NodeInfo, type ResourceTypeInfo } from "./types.ts";
import { createVhdsViews, type VhdsViews } from "./vhds.ts";

export { createKnownVersions, type KnownVersions } from "./known-versions.ts";

export const log = consola.withTag("xds");

/** What happens on the server, for tests, metrics and debug views. */
export interface XdsEvent {
  kind: "open" | "close" | "request" | "ack" | "nack" | "stale" | "response";
  stream: number;
  delta: boolean;
  typeUrl?: string;
  nodeId?: string;
  nonce?: string;
  version?: string;
  resourceNames?: string[];
  removed?: string[];
  /** On "response": the bytes written (metrics). */
  bytes?: number;
}

export interface ServerContext {
  store: SnapshotStore;
  nacks: NackLog;
  cache: ReturnType<typeof createBodyCache>;
  /** Selections and snapshot differences shared by clients in the same state (server-plan.ts). */
  planner: Planner;
  /** Subscribed name sets shared by clients that subscribe to the same names. */
  names: NamePool;
  /** Route configurations with virtual hosts held back from the clients that rejected them (route-holdback.ts). */
  variants: VariantCache;
  /** Route configuration shells and VHDS subscriptions, as VHDS clients are served (vhds.ts). */
  vhds: VhdsViews;
  emit(event: XdsEvent): void;
  /** Registers an open stream; returns its id and the function that forgets it. */
  register(close: () => void): { id: number; forget: () => void };
}

export function createServerContext(store: SnapshotStore, nacks: NackLog, options: { onIdle?: () => void } = {}) {
  const listeners = new Set<(event: XdsEvent) => void>();
  const open = new Map<number, () => void>();
  let nextId = 1;
  const names = createNamePool();
  const planner = createPlanner(store);
  const vhds = createVhdsViews(names);
  planner.pureView(vhds.shell);
  const context: ServerContext = {
    store,
    nacks,
    cache: createBodyCache(),
    planner,
    names,
    variants: createVariantCache(),
    vhds,
    emit(event) {
      for (const listener of listeners) listener(event);
    },
    register(close) {
      const id = nextId++;
      open.set(id, close);
      return {
        id,
        forget() {
          if (open.delete(id) && open.size === 0) options.onIdle?.();
        },
      };
    },
  };
  return {
    context,
    streams: () => open.size,
    /** Ends every open stream (server shutdown). */
    closeAll: () => [...open.values()].forEach((close) => close()),
    on(listener: (event: XdsEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** One open stream as its handler sees it: its id, the client's node, a source of nonces. */
export interface StreamSession {
  readonly id: number;
  readonly node: NodeInfo;
  nextNonce(): string;
  /** Ends the stream with RESOURCE_EXHAUSTED and `details`. */
  refuse(details: string): void;
}

/**
 * Wires a gRPC stream's lifecycle: notes the client's node (sent on the first request only), hands
 * each request for a served type to `onRequest`, each changed type to `onPush` in push order (CDS,
 * EDS, LDS, RDS, SDS), and whatever way the stream ends (client end, cancel, error, keepalive,
 * server close) drops its subscription to the store.
 */
export function openStream<Request extends { node?: unknown; type_url?: string; tooManyNames?: number }>(
  call: ServerDuplexStream<Request, OutgoingResponse>,
  context: ServerContext,
  handlers: {
    delta: boolean;
    fixedTypeUrl?: string;
    onRequest(request: Request, info: ResourceTypeInfo): void;
    onPush(typeUrl: string): void;
    /** Every type waiting for a push has been pushed (the end of one change, for this stream). */
    afterPush?(): void;
    /** Whether this client's push of a type is large (a whole shared route configuration): it waits until the small pushes of the same change are written. */
    heavy?(typeUrl: string): boolean;
  },
): StreamSession {
  let done = false;
  let node: NodeInfo | undefined;
  let nonce = 0;
  const { id, forget } = context.register(() => finish(true));
  // Split mode: the client certificate says who the node is, whatever node id it claims.
  const identity = peerIdentity(call);
  // Pushes wait while the client does not read (its write buffer is full); once it drains, each
  // waiting type is pushed once, from the state of that moment, instead of queueing every version.
  const waiting = new Set<string>();
  // `untilHeavy`: stop before the first large push (that type and the ones after it, in push order, wait).
  const push = (untilHeavy = false) => {
    for (const typeUrl of pushOrder) {
      if (done || call.writableNeedDrain) return;
      if (untilHeavy && waiting.has(typeUrl) && handlers.heavy?.(typeUrl)) return () => void setImmediate(push);
      if (waiting.delete(typeUrl)) handlers.onPush(typeUrl);
    }
    if (!done) handlers.afterPush?.();
    return undefined;
  };
  call.on("drain", () => push());
  const unsubscribe = context.store.subscribe((changed) => {
    // A node view may change what a client sees in a type that did not change itself (secrets of a
    // changed listener): then every type it scopes is re-diffed when a type the view depends on changed
    // (SDS scoping: not on an EDS-only change), and only real differences are sent.
    for (const typeUrl of pushOrder) if (changed.has(typeUrl) || context.store.viewAffected(typeUrl, changed)) waiting.add(typeUrl);
    // A large push is the rest of the work: it waits for the next turn of the event loop, so every
    // other client's small one is written and on its way first (writes leave once the commit returns).
    return push(true);
  });
  function finish(endCall: boolean) {
    if (done) return;
    done = true;
    unsubscribe();
    forget();
    context.emit({ kind: "close", stream: id, delta: handlers.delta });
    if (endCall && !call.cancelled) call.end();
  }
  call.on("data", (request: Request) => {
    if (done) return;
    try {
      node ??= withIdentity(nodeInfo(request.node as Parameters<typeof nodeInfo>[0]), identity);
      const info = requestType(call, request.type_url, handlers.fixedTypeUrl);
      const tooMany = info && tooManyNames(request, info);
      if (tooMany) refuse(tooMany);
      else if (info) handlers.onRequest(request, info);
    } catch (error) {
      log.error(`xDS stream ${id}: ${(error as Error).message}`);
      finish(false);
      call.emit("error", { code: status.INTERNAL, details: "internal error" });
    }
  });
  /** Ends the stream with RESOURCE_EXHAUSTED: the client asked for more than one stream may hold. */
  function refuse(details: string) {
    log.warn(`xDS stream ${id} (node ${(node?.id ?? "").slice(0, 200) || "(no id)"}): ${details}`);
    finish(false);
    call.emit("error", { code: status.RESOURCE_EXHAUSTED, details });
  }
  call.on("end", () => finish(true));
  call.on("cancelled", () => finish(false));
  call.on("error", () => finish(false));
  call.on("close", () => finish(false));
  // A per-type service's stream names its type on open (metrics tell ADS from per-type by it).
  context.emit({ kind: "open", stream: id, delta: handlers.delta, typeUrl: handlers.fixedTypeUrl });
  return {
    id,
    refuse,
    get node() {
      return node ?? withIdentity(anonymousNode, identity);
    },
    nextNonce: () => String(++nonce),
  };
}

/**
 * A NACK as recorded: on an mTLS stream the node is who its certificate says, whatever id it claims
 * (the claim is kept beside it for the logs).
 */
export function nackRecord(
  session: StreamSession,
  fields: Pick<NackRecord, "typeUrl" | "version" | "resourceNames" | "rejected" | "delta"> & { error: { code?: number; message?: string } },
): NackRecord {
  const { node } = session;
  const nodeId = nodeIdentity(node);
  return {
    time: new Date(),
    stream: session.id,
    nodeId,
    ...(nodeId === node.id ? {} : { claimedNodeId: node.id }),
    cluster: node.cluster,
    typeUrl: fields.typeUrl,
    version: fields.version,
    resourceNames: fields.resourceNames,
    rejected: fields.rejected,
    errorDetail: { code: fields.error.code ?? 0, message: fields.error.message ?? "" },
    delta: fields.delta,
  };
}

/** Why a request names more than a stream may subscribe to (maxSubscribedNames), or undefined. */
function tooManyNames(request: Record<string, unknown>, info: ResourceTypeInfo): string | undefined {
  const lists = [request.resource_names, request.resource_names_subscribe, request.resource_names_unsubscribe] as Array<unknown[] | undefined>;
  const initial = request.initial_resource_versions as Record<string, string> | undefined;
  const count = Math.max((request.tooManyNames as number | undefined) ?? 0, ...lists.map((list) => list?.length ?? 0), initial ? Object.keys(initial).length : 0);
  return count > maxSubscribedNames ? subscriptionLimit(info, count) : undefined;
}

/** The message a client over the subscription limit is refused with. */
export function subscriptionLimit(info: ResourceTypeInfo, count: number): string {
  return `too many ${info.short} resource names: ${count}; one stream may subscribe to at most ${maxSubscribedNames} names of a type`;
}

/** Resolves a request's type_url against the service it arrived on; undefined for a type not served. */
function requestType(
  call: ServerDuplexStream<unknown, OutgoingResponse>,
  typeUrl: string | undefined,
  fixedTypeUrl: string | undefined,
): ResourceTypeInfo | undefined {
  const url = typeUrl || fixedTypeUrl || "";
  if (fixedTypeUrl && url !== fixedTypeUrl) {
    call.emit("error", { code: status.INVALID_ARGUMENT, details: `this service serves ${fixedTypeUrl}, not ${url}` });
    return undefined;
  }
  const info = typeInfo(url);
  if (!info) log.debug(`ignoring a request for ${url || "(no type)"}, a type the agent does not serve`);
  return info;
}

/** A key identifying exactly which resource versions a response carries (for the body cache). */
export function contentKey(resources: readonly CachedResource[]): string {
  return resources.map((r) => `${r.name}@${r.version}`).join("\n");
}

const pushOrder: readonly string[] = resourceTypes.map((info) => info.typeUrl);

const anonymousNode: NodeInfo = { id: "", cluster: "" };

function withIdentity<T extends NodeInfo | undefined>(node: T, identity: string | undefined): T {
  return node === undefined || identity === undefined ? node : { ...node, identity };
}

/**
 * Envoy warms a new or changed EDS cluster only on an EDS response naming its load assignment, even
 * one it already holds for another cluster; else it waits out initial_fetch_timeout (15 s) before
 * using it. After a CDS response on an ADS stream, the stream forgets that the client holds the
 * assignments of `clusters`, so its next EDS response carries them again. Returns whether any was held.
 */
export function forgetEndpointsOf(clusters: Iterable<CachedResource>, held: KnownVersions): boolean {
  let forgot = false;
  for (const cluster of clusters) {
    for (const name of referencesOfResource(TypeUrls.cluster, cluster).endpoints) {
      if (held.get(name) === undefined) continue;
      held.delete(name);
      forgot = true;
    }
  }
  return forgot;
}
