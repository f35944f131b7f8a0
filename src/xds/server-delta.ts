// Delta (incremental) xDS streams, ADS and per-type. Per type a stream knows the version of every
// resource the client holds (from `initial_resource_versions` on reconnect, then from what it was
// sent), so a response carries only what changed and names what was removed. Each response is
// acknowledged by its own nonce; a NACKed resource version is not sent again (to that stream: a NACK
// changes nothing another stream is sent). The client keeps the version it held before; a route
// config NACK naming virtual hosts holds back those virtual hosts only (route-holdback.ts).
import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import { badResources, type RejectedResource } from "./nacks.ts";
import { createRouteHoldback } from "./route-holdback.ts";
import { contentKey, createKnownVersions, forgetEndpointsOf, nackRecord, openStream, subscriptionLimit, type KnownVersions, type ServerContext } from "./server-common.ts";
import type { NamePool, Selection } from "./server-plan.ts";
import { deltaBody, maxSubscribedNames, responseWithNonce, type DeltaRequest, type OutgoingResponse } from "./server-wire.ts";
import type { CachedResource } from "./snapshot.ts";
import { TypeUrls, type ResourceTypeInfo } from "./types.ts";

interface DeltaTypeState {
  info: ResourceTypeInfo;
  wildcard: boolean;
  /** Subscribed names (interned: shared with clients subscribed to the same names; replaced, never changed). */
  names: ReadonlySet<string>;
  /** The version of each resource the client holds. */
  known: KnownVersions;
  /** Responses not yet acknowledged, by nonce: their version, the names they carried and the resources updated. */
  pending: Map<string, { version: string; names: string[]; updates: readonly CachedResource[] }>;
}

const maxPending = 32;
const noNames: ReadonlySet<string> = new Set();

/** Serves one delta stream; `fixedTypeUrl` for the per-type services, absent on ADS. */
export function serveDeltaStream(call: ServerDuplexStream<DeltaRequest, OutgoingResponse>, context: ServerContext, fixedTypeUrl?: string): void {
  const { store } = context;
  const states = new Map<string, DeltaTypeState>();
  // Virtual hosts this client rejected, replaced in what it is sent (it alone).
  const routes = createRouteHoldback(context.variants);

  const session = openStream(call, context, {
    fixedTypeUrl,
    delta: true,
    onRequest(request, info) {
      const subscribe = request.resource_names_subscribe ?? [];
      const unsubscribe = request.resource_names_unsubscribe ?? [];
      const nonce = request.response_nonce ?? "";
      let state = states.get(info.typeUrl);
      const first = !state;
      if (!state) {
        // LDS/CDS: a first request naming nothing is a (legacy) wildcard subscription.
        const wildcard = (info.wildcard && subscribe.length === 0) || subscribe.includes("*");
        const known = createKnownVersions(request.initial_resource_versions ?? {});
        state = { info, wildcard, names: noNames, known, pending: new Map() };
        states.set(info.typeUrl, state);
      }
      context.emit({ kind: "request", stream, delta: true, typeUrl: info.typeUrl, nodeId: session.node.id, nonce, resourceNames: subscribe, removed: unsubscribe });
      if (nonce !== "") judgeResponse(state, nonce, request);
      const subscribed = updateSubscription(state, { subscribe, unsubscribe, first }, context.names);
      // Subscriptions add up over a delta stream: the limit holds for the sum too.
      if (state.names.size > maxSubscribedNames) return session.refuse(subscriptionLimit(info, state.names.size));
      if (first || subscribed) respond(state, first);
    },
    onPush(typeUrl) {
      const state = states.get(typeUrl);
      if (state) respond(state, false);
    },
  });
  const stream = session.id;

  function judgeResponse(state: DeltaTypeState, nonce: string, request: DeltaRequest) {
    const typeUrl = state.info.typeUrl;
    const response = state.pending.get(nonce);
    if (!response) {
      context.emit({ kind: "stale", stream, delta: true, typeUrl, nodeId: session.node.id, nonce });
      return;
    }
    // Nonces are increasing numbers: answering one answers every older one too.
    for (const pendingNonce of state.pending.keys()) if (Number(pendingNonce) <= Number(nonce)) state.pending.delete(pendingNonce);
    const event = { stream, delta: true, typeUrl, nodeId: session.node.id, nonce, version: response.version, resourceNames: response.names };
    if (request.error_detail) {
      const message = request.error_detail.message ?? "";
      let rejected: RejectedResource[] = badResources(response.updates.map((r) => ({ name: r.name, version: r.version })), message);
      // A route config's bad virtual hosts are held back from this client (route-holdback.ts); the record names them.
      if (typeUrl === TypeUrls.route) rejected = routes.nacked(nonce, rejected, message);
      context.nacks.record(nackRecord(session, { typeUrl, version: response.version, resourceNames: response.names, rejected, error: request.error_detail, delta: true }));
      context.emit({ kind: "nack", ...event });
      // Held virtual hosts: the route config without them is sent at once.
      if (rejected.some((resource) => resource.virtualHosts)) respond(state, false);
    } else {
      if (typeUrl === TypeUrls.route) routes.acked(nonce, true);
      context.emit({ kind: "ack", ...event });
    }
  }

  function respond(state: DeltaTypeState, initial: boolean) {
    if (!store.published) return;
    const { info, known } = state;
    const typeUrl = info.typeUrl;
    const version = store.version(typeUrl);
    const selection = context.planner.select(session.node, info, state);
    // A client holding exactly a snapshot and subscribed to all of it is sent what every such client is.
    const holding = typeUrl === TypeUrls.route && routes.active;
    const base = selection.whole && !holding ? known.exactBase() : undefined;
    let response: { updates: readonly CachedResource[]; updateNames: string[]; removed: string[]; names: string[]; body: Buffer };
    if (base) {
      const diff = context.planner.diff(typeUrl, base);
      if (diff.updates.length === 0 && diff.removed.length === 0 && !(initial && state.wildcard)) return;
      known.rebase(diff.to);
      response = { ...diff, body: (diff.deltaBody ??= deltaBody(typeUrl, version, diff.updates, diff.removed)) };
    } else {
      const own = ownResponse(state, holding ? { resources: selection.resources.map(routes.view), whole: selection.whole, held: true } : selection, initial);
      if (!own) return;
      response = own;
    }
    const nonce = session.nextNonce();
    state.pending.set(nonce, { version, names: response.names, updates: response.updates });
    if (typeUrl === TypeUrls.route) routes.sent(nonce, response.updates);
    if (state.pending.size > maxPending) state.pending.delete(state.pending.keys().next().value!);
    const message = responseWithNonce(response.body, nonce);
    call.write(message);
    const { updateNames: resourceNames, removed } = response;
    context.emit({ kind: "response", stream, delta: true, typeUrl, nodeId: session.node.id, nonce, version, resourceNames, removed, bytes: message.byteLength });
    // Envoy warms the clusters an update sent only on an EDS response naming their assignments.
    const eds = typeUrl === TypeUrls.cluster && !initial && !fixedTypeUrl ? states.get(TypeUrls.endpoint) : undefined;
    if (eds && forgetEndpointsOf(response.updates, eds.known)) respond(eds, false);
  }

  /** The general path: what this one client is missing and holds in excess, diffed on its own. */
  function ownResponse(state: DeltaTypeState, selection: Selection & { held?: boolean }, initial: boolean) {
    const { info, known } = state;
    const typeUrl = info.typeUrl;
    const version = store.version(typeUrl);
    const { resources, whole } = selection;
    const updates = resources.filter((r) => known.get(r.name) !== r.version);
    const all = store.resources(typeUrl);
    const visible = whole ? undefined : new Set(resources.map((r) => r.name));
    const removed: string[] = [];
    for (const name of known.names()) if (!(visible ? visible.has(name) : all.has(name))) removed.push(name);
    // A wildcard client is answered at once even when there is nothing, so it can finish starting.
    if (updates.length === 0 && removed.length === 0 && !(initial && state.wildcard)) return undefined;
    if (!selection.held && !store.viewScopes(typeUrl) && resources.length === all.size) known.rebase(all);
    else {
      for (const r of updates) known.set(r.name, r.version);
      for (const name of removed) known.delete(name);
    }
    const key = `d:${whole && !selection.held && updates.length === resources.length ? "*" : contentKey(updates)}\u0001${removed.join("\n")}`;
    const body = context.cache.get(typeUrl, version, key, () => deltaBody(typeUrl, version, updates, removed));
    const updateNames = updates.map((r) => r.name);
    return { updates, updateNames, removed, names: [...updateNames, ...removed], body };
  }
}

/**
 * Applies subscribe/unsubscribe; "*" turns wildcard on or off. The name set is replaced, never changed
 * in place (it may be shared with other clients). Returns whether names were added.
 */
function updateSubscription(state: DeltaTypeState, change: { subscribe: string[]; unsubscribe: string[]; first: boolean }, pool: NamePool): boolean {
  const { subscribe, unsubscribe, first } = change;
  // The common start: names subscribed to nothing yet, often a long list shared with other clients.
  if (state.names.size === 0 && unsubscribe.length === 0 && subscribe.length > 0 && !subscribe.includes("*")) {
    state.names = pool.intern(subscribe);
    if (!first) for (const name of state.names) state.known.delete(name);
    return true;
  }
  let added = false;
  let fresh: Set<string> | undefined;
  for (const name of subscribe) {
    if (name === "*") {
      added ||= !state.wildcard;
      state.wildcard = true;
    } else if (!state.names.has(name) && !fresh?.has(name)) {
      (fresh ??= new Set()).add(name);
      // A name subscribed after the start is sent even if the client says it had it before.
      if (!first) state.known.delete(name);
      added = true;
    }
  }
  let dropped: Set<string> | undefined;
  for (const name of unsubscribe) {
    if (name === "*") state.wildcard = false;
    else if (state.names.has(name) || fresh?.has(name)) (dropped ??= new Set()).add(name);
  }
  if (fresh || dropped) {
    const next = fresh ? [...state.names, ...fresh] : [...state.names];
    state.names = pool.intern(dropped ? next.filter((name) => !dropped.has(name)) : next);
  }
  // The client forgets what it unsubscribed from: it is sent again if subscribed again.
  if (unsubscribe.length > 0) {
    for (const name of state.known.names()) {
      if (!state.wildcard && !state.names.has(name)) state.known.delete(name);
    }
  }
  return added;
}
