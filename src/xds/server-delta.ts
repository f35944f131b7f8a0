// Delta (incremental) xDS streams, ADS and per-type. Per type a stream knows the version of every
// resource the client holds (from `initial_resource_versions` on reconnect, then from what it was
// sent), so a response carries only what changed and names what was removed. Each response is
// acknowledged by its own nonce; a NACKed resource version is not sent again (to that stream: a NACK
// changes nothing another stream is sent). The client keeps the version it held before; a route
// config NACK naming virtual hosts holds back those virtual hosts only (route-holdback.ts), as a VHDS
// NACK does its bad hosts. An Envoy on delta ADS is sent shared route configs as VHDS shells and their
// hosts one by one (vhds.ts).
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { createClusterWarming, pointingTypes } from "./cluster-warming.ts";
import { badResources, type RejectedResource } from "./nacks.ts";
import { createRouteHoldback } from "./route-holdback.ts";
import { contentKey, createKnownVersions, forgetEndpointsOf, nackRecord, openStream, subscriptionLimit, type KnownVersions, type ServerContext } from "./server-common.ts";
import { deltaBody, maxSubscribedNames, responseWithNonce, sharedBody, type DeltaRequest, type OutgoingResponse } from "./server-wire.ts";
import type { CachedResource } from "./snapshot.ts";
import { changeNames, emptySubscription, type Subscription } from "./subscription.ts";
import { TypeUrls, type ResourceTypeInfo } from "./types.ts";
import { inNamespace, isShell, takesVhds } from "./vhds.ts";

/** One type on one stream: the client's subscription (subscription.ts) and what it holds. */
interface DeltaTypeState extends Subscription {
  info: ResourceTypeInfo;
  /** The version of each resource the client holds. */
  known: KnownVersions;
  /** Responses not yet acknowledged, by nonce: their version, the names they carried and the resources updated. */
  pending: Map<string, { version: string; names: string[]; updates: readonly CachedResource[] }>;
}

const maxPending = 32;

/** Serves one delta stream; `fixedTypeUrl` for the per-type services, absent on ADS. */
export function serveDeltaStream(call: ServerDuplexStream<DeltaRequest, OutgoingResponse>, context: ServerContext, fixedTypeUrl?: string): void {
  const { store } = context;
  const states = new Map<string, DeltaTypeState>();
  // Virtual hosts this client rejected, replaced in what it is sent (it alone).
  const routes = createRouteHoldback(context.variants);
  // Whether this client is served VHDS, decided once its node is known (its first request).
  let vhds: boolean | undefined;
  const servedVhds = (): boolean => (vhds ??= takesVhds(session.node, { delta: true, ads: fixedTypeUrl === undefined }));
  // The route configs this client was sent as VHDS shells.
  const shells = new Set<string>();
  // On ADS: listeners and routes wait for the endpoints of the new clusters they may point at, and
  // clusters and load assignments are removed after them (cluster-warming.ts).
  const warming = fixedTypeUrl === undefined ? createClusterWarming(call, { push: (typeUrl) => void (states.get(typeUrl) && respond(states.get(typeUrl)!, false)), remove: writeRemovals }) : undefined;
  // Whether the response being made is a push of a change (not an answer to a request).
  let pushing = false;

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
        const known = createKnownVersions(request.initial_resource_versions ?? {});
        state = { info, ...emptySubscription(), known, pending: new Map() };
        states.set(info.typeUrl, state);
      }
      context.emit({ kind: "request", stream, delta: true, typeUrl: info.typeUrl, nodeId: session.node.id, nonce, resourceNames: subscribe, removed: unsubscribe });
      if (nonce !== "") judgeResponse(state, nonce, request);
      const subscribed = changeNames(state, info, { subscribe, unsubscribe, first }, context.names, state.known);
      // Subscriptions add up over a delta stream: the limit holds for the sum too.
      if (state.names.size > maxSubscribedNames) return session.refuse(subscriptionLimit(info, state.names.size));
      // A VHDS namespace newly subscribed is answered even when empty: Envoy's route config waits for it.
      if (first || subscribed) respond(state, first || (subscribed && info.typeUrl === TypeUrls.virtualHost));
    },
    onPush(typeUrl) {
      const state = states.get(typeUrl);
      if (!state || warming?.holds(typeUrl)) return;
      pushing = true;
      try {
        respond(state, false);
      } finally {
        pushing = false;
      }
    },
    afterPush: () => warming?.pushed(),
    // The whole route configuration (not its hosts one by one) waits for the clients sent less.
    heavy: (typeUrl) => typeUrl === TypeUrls.route && states.has(typeUrl) && !servedVhds(),
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
      // Envoy rejects a VHDS response as a whole: the hosts in it that were not bad are sent again.
      else if (typeUrl === TypeUrls.virtualHost && resendGood(state, response.updates, rejected)) respond(state, false);
    } else {
      if (typeUrl === TypeUrls.route) routes.acked(nonce, true);
      context.emit({ kind: "ack", ...event });
    }
  }

  /** The subscription the planner reads: a VHDS one covers the hosts of the namespaces it names (vhds.ts). */
  function subscriptionOf(state: DeltaTypeState): Pick<Subscription, "wildcard" | "names"> {
    return state.info.typeUrl === TypeUrls.virtualHost ? context.vhds.selection(store.resources(TypeUrls.virtualHost), state) : state;
  }

  /** How this client is sent a type's resources: route configs as VHDS shells, with its held virtual hosts replaced. */
  function viewOf(typeUrl: string): ((resource: CachedResource) => CachedResource) | undefined {
    if (typeUrl !== TypeUrls.route) return undefined;
    const shells = servedVhds() ? context.vhds.shell : undefined;
    if (!routes.active) return shells;
    return shells ? (resource) => routes.view(shells(resource)) : routes.view;
  }

  /** After a VHDS NACK: forgets that the client holds the hosts of the response that were not bad, so they are sent again. */
  function resendGood(state: DeltaTypeState, updates: readonly CachedResource[], rejected: readonly RejectedResource[]): boolean {
    const bad = new Set(rejected.map((resource) => resource.name));
    let forgot = false;
    for (const resource of updates) {
      if (bad.has(resource.name) || state.known.get(resource.name) !== resource.version) continue;
      state.known.delete(resource.name);
      forgot = true;
    }
    return forgot;
  }

  function respond(state: DeltaTypeState, initial: boolean) {
    if (!store.published) return;
    const { info, known } = state;
    const typeUrl = info.typeUrl;
    const version = store.version(typeUrl);
    const plan = context.planner.plan(session.node, info, subscriptionOf(state), known, viewOf(typeUrl));
    const { updates } = plan;
    let { removed } = plan;
    // Clusters and load assignments a push removes go after the listeners and routes that stop pointing at them.
    const deferred = pushing && warming && removed.length > 0 && (typeUrl === TypeUrls.cluster || typeUrl === TypeUrls.endpoint) && pointingTypes.some((pointing) => states.has(pointing));
    if (deferred) {
      warming.deferRemovals(typeUrl, removed);
      removed = [];
    }
    // A wildcard client is answered at once even when there is nothing, so it can finish starting.
    if (updates.length === 0 && removed.length === 0 && !(initial && (state.wildcard || typeUrl === TypeUrls.virtualHost))) return;
    const build = () => deltaBody(typeUrl, version, updates, removed);
    const body = deferred
      ? build()
      : plan.shared
        ? sharedBody(plan.shared, "deltaBody", build)
        : context.cache.get(typeUrl, version, `d:${plan.everything ? "*" : contentKey(updates)}\u0001${removed.join("\n")}`, build);
    write(state, version, body, { names: plan.names, updateNames: plan.updateNames, removed, updates });
    // Envoy warms the clusters an update sent only on an EDS response naming their assignments.
    const eds = typeUrl === TypeUrls.cluster && !initial && !fixedTypeUrl ? states.get(TypeUrls.endpoint) : undefined;
    if (eds && forgetEndpointsOf(updates, eds.known)) respond(eds, false);
    if (typeUrl === TypeUrls.cluster && warming && states.has(TypeUrls.endpoint)) warming.clustersSent(updates, states.get(TypeUrls.endpoint)!.known);
    if (typeUrl === TypeUrls.endpoint) warming?.endpointsSent(updates);
    if (typeUrl === TypeUrls.route && servedVhds()) followShells(updates, removed);
  }

  /** Writes one response of `state`'s type: `names` are what it carried (for the NACK record), `updates` the resources updated. */
  function write(state: DeltaTypeState, version: string, body: Uint8Array, sent: { names: string[]; updateNames: string[]; removed: readonly string[]; updates: readonly CachedResource[] }) {
    const typeUrl = state.info.typeUrl;
    const nonce = session.nextNonce();
    state.pending.set(nonce, { version, names: sent.names, updates: sent.updates });
    if (typeUrl === TypeUrls.route) routes.sent(nonce, sent.updates);
    if (state.pending.size > maxPending) state.pending.delete(state.pending.keys().next().value!);
    const message = responseWithNonce(body, nonce);
    call.write(message);
    context.emit({ kind: "response", stream, delta: true, typeUrl, nodeId: session.node.id, nonce, version, resourceNames: sent.updateNames, removed: [...sent.removed], bytes: message.byteLength });
  }

  /** The deferred removals of clusters or load assignments (cluster-warming.ts), of what the client has not been sent again since. */
  function writeRemovals(typeUrl: string, names: string[]) {
    const state = states.get(typeUrl);
    if (!state || !store.published) return;
    const gone = names.filter((name) => state.known.get(name) === undefined);
    if (gone.length === 0) return;
    const version = store.version(typeUrl);
    write(state, version, deltaBody(typeUrl, version, [], gone), { names: gone, updateNames: [], removed: gone, updates: [] });
  }

  /**
   * Envoy takes the hosts of a route config's namespace only once it holds the route config as a
   * shell (its VHDS watch starts then): hosts pushed before (a route config that appeared with its
   * listener, or was whole before) were dropped. After a new shell, its hosts are sent again.
   */
  function followShells(updates: readonly CachedResource[], removed: readonly string[]): void {
    const fresh: string[] = [];
    for (const resource of updates) {
      if (!isShell(resource.json)) shells.delete(resource.name);
      else if (!shells.has(resource.name)) {
        shells.add(resource.name);
        fresh.push(resource.name);
      }
    }
    for (const name of removed) shells.delete(name);
    const hosts = states.get(TypeUrls.virtualHost);
    if (!hosts || fresh.length === 0) return;
    for (const name of hosts.known.names()) if (fresh.some((routeConfig) => inNamespace(name, routeConfig))) hosts.known.delete(name);
    respond(hosts, false);
  }
}
