// State-of-the-world xDS streams (ADS and the per-type LDS/RDS/CDS/EDS/SDS services). Per type a
// stream tracks the client's subscription, the latest nonce it was sent and what it holds, so that
// an ACK or NACK is judged against the newest response only, LDS and CDS always get their full set,
// RDS/EDS/SDS only the resources the client does not have yet, and a NACKed version is never resent.
// A NACK changes what that stream is sent, nothing else: RDS/EDS/SDS are not resent what the client
// holds (the rejected version included); LDS/CDS, always sent whole, carry the client's last accepted
// version of a rejected resource in its place (or leave it out when it never accepted one) until
// the built content changes; a route config NACK naming virtual hosts holds back those virtual hosts
// only (route-holdback.ts).
import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import { createClusterWarming } from "./cluster-warming.ts";
import { badResources, type RejectedResource } from "./nacks.ts";
import { createRouteHoldback } from "./route-holdback.ts";
import { contentKey, createKnownVersions, forgetEndpointsOf, nackRecord, openStream, type KnownVersions, type ServerContext } from "./server-common.ts";
import { emptySnapshot } from "./server-plan.ts";
import { responseWithNonce, sharedBody, sotwBody, type OutgoingResponse, type SotwRequest } from "./server-wire.ts";
import type { CachedResource } from "./snapshot.ts";
import { emptySubscription, replaceNames, type Subscription } from "./subscription.ts";
import { TypeUrls, type ResourceTypeInfo } from "./types.ts";

/** The resources one LDS/CDS response carried: a store map (whole) or a list (shared, never copied). */
type Carried = ReadonlyMap<string, CachedResource> | readonly CachedResource[];

/** A resource version this client rejected, and the version it accepted before (sent in its place). */
interface Held {
  rejected: string;
  good: CachedResource | undefined;
}

/** One type on one stream: the client's subscription (subscription.ts) and what it was sent. */
interface SotwTypeState extends Subscription {
  info: ResourceTypeInfo;
  /** The latest response sent for this type: only a request carrying its nonce is an ACK or NACK. */
  nonce: string;
  version: string;
  sentNames: string[];
  /** LDS/CDS: what the last full response held, so an identical one is never pushed again. */
  sentKey: string | undefined;
  /** RDS/EDS/SDS: the version of each resource the client was sent. */
  sent: KnownVersions;
  /** LDS/CDS: what the latest response carried, and the last response the client ACKed. */
  inFlight?: Carried;
  accepted?: Carried;
  /** LDS/CDS: the resources this client rejected, by name (bounded). */
  held?: Map<string, Held>;
  /** CDS on ADS: the clusters of the last response, to find those it added or changed. */
  sentClusters?: Map<string, CachedResource>;
}

/** The most rejected resources one LDS/CDS stream remembers; beyond, the oldest is tried again. */
const maxHeld = 1024;

/** Serves one sotw stream; `fixedTypeUrl` for the per-type services, absent on ADS. */
export function serveSotwStream(call: ServerDuplexStream<SotwRequest, OutgoingResponse>, context: ServerContext, fixedTypeUrl?: string): void {
  const { store } = context;
  const states = new Map<string, SotwTypeState>();
  // Virtual hosts this client rejected, replaced in what it is sent (it alone).
  const routes = createRouteHoldback(context.variants);
  // On ADS: listeners and routes wait for the endpoints of the new clusters they may point at (cluster-warming.ts).
  const warming = fixedTypeUrl === undefined ? createClusterWarming(call, { push: (typeUrl) => void (states.get(typeUrl) && respond(states.get(typeUrl)!, false)) }) : undefined;

  const session = openStream(call, context, {
    fixedTypeUrl,
    delta: false,
    onRequest(request, info) {
      const names = request.resource_names ?? [];
      const nonce = request.response_nonce ?? "";
      let state = states.get(info.typeUrl);
      const first = !state;
      if (!state) {
        state = { info, ...emptySubscription(), nonce: "", version: "", sentNames: [], sentKey: undefined, sent: createKnownVersions() };
        states.set(info.typeUrl, state);
      }
      const event = { stream, delta: false, typeUrl: info.typeUrl, nodeId: session.node.id, nonce, version: request.version_info ?? "" };
      context.emit({ kind: "request", ...event, resourceNames: names });
      if (nonce !== "") judgeResponse(state, nonce, request, event);
      const subscriptionChanged = replaceNames(state, info, { names, first }, context.names, state.sent);
      // An empty nonce starts (or restarts) the type on this stream: the client holds nothing we know of.
      if (nonce === "") {
        state.sent.clear();
        state.sentKey = undefined;
      }
      if (nonce === "" || subscriptionChanged) respond(state, true);
    },
    onPush(typeUrl) {
      const state = states.get(typeUrl);
      if (state && !warming?.holds(typeUrl)) respond(state, false);
    },
    // The whole route configuration (not its hosts one by one) waits for the clients sent less.
    heavy: (typeUrl) => typeUrl === TypeUrls.route,
  });
  const stream = session.id;

  function judgeResponse(state: SotwTypeState, nonce: string, request: SotwRequest, event: { stream: number; delta: boolean }) {
    if (nonce !== state.nonce) {
      // Not an ACK of the newest response, but the client did accept that older one.
      if (state.info.typeUrl === TypeUrls.route && !request.error_detail) routes.acked(nonce, false);
      context.emit({ kind: "stale", ...event, typeUrl: state.info.typeUrl, nonce });
      return;
    }
    if (request.error_detail) {
      const message = request.error_detail.message ?? "";
      let rejected: RejectedResource[] = rejectedResources(state, message);
      // A route config's bad virtual hosts are held back from this client (route-holdback.ts); the record names them.
      if (state.info.typeUrl === TypeUrls.route) rejected = routes.nacked(nonce, rejected, message);
      context.nacks.record(nackRecord(session, { typeUrl: state.info.typeUrl, version: state.version, resourceNames: state.sentNames, rejected, error: request.error_detail, delta: false }));
      if (state.info.wildcard) hold(state, rejected);
      context.emit({ kind: "nack", ...event, typeUrl: state.info.typeUrl, nonce, version: state.version, resourceNames: state.sentNames });
      // Held virtual hosts: the route config without them is sent at once.
      if (rejected.some((resource) => resource.virtualHosts)) respond(state, false);
    } else {
      state.accepted = state.inFlight;
      if (state.info.typeUrl === TypeUrls.route) routes.acked(nonce, false);
      context.emit({ kind: "ack", ...event, typeUrl: state.info.typeUrl, nonce, version: state.version });
    }
  }

  /** The resources of the response a NACK answered that were bad, with the versions it carried. */
  function rejectedResources(state: SotwTypeState, message: string) {
    if (!state.info.wildcard) return badResources(state.sentNames.map((name) => ({ name, version: state.sent.get(name) ?? "" })), message);
    const carried = [...(state.inFlight?.values() ?? [])].map((r) => ({ name: r.name, version: r.version }));
    const accepted = state.accepted && indexed(state.accepted);
    return badResources(carried, message, accepted && ((name) => accepted.get(name)?.version));
  }

  /** LDS/CDS: from now on this client is sent what it accepted before in place of what it rejected. */
  function hold(state: SotwTypeState, rejected: readonly { name: string; version: string }[]) {
    const accepted = state.accepted && indexed(state.accepted);
    const held = (state.held ??= new Map());
    for (const { name, version } of rejected) {
      const good = accepted?.get(name);
      held.delete(name);
      held.set(name, { rejected: version, good: good?.version === version ? undefined : good });
      if (held.size > maxHeld) held.delete(held.keys().next().value!);
    }
  }

  function respond(state: SotwTypeState, requested: boolean) {
    if (!store.published) return;
    const { info } = state;
    const typeUrl = info.typeUrl;
    const version = store.version(typeUrl);
    if (info.wildcard) {
      const selection = context.planner.select(session.node, info, state);
      const { whole } = selection;
      // LDS and CDS: every response is the client's whole set; what is missing from it was removed.
      const held = heldBack(state, selection.resources);
      const key = whole && !held ? `*${version}` : contentKey(held ?? selection.resources);
      if (!requested && key === state.sentKey) return;
      state.sentKey = key;
      if (whole && !held) {
        const all = context.planner.diff(typeUrl, emptySnapshot);
        state.inFlight = all.to;
        send(state, version, all.updateNames, sharedBody(all, "sotwBody", () => sotwBody(typeUrl, version, all.updates)));
        if (typeUrl === TypeUrls.cluster) warmClusters(state, (previous) => context.planner.diff(typeUrl, previous).updates, all.to);
      } else {
        const resources = held ?? selection.resources;
        state.inFlight = resources;
        send(state, version, resources.map((r) => r.name), context.cache.get(typeUrl, version, `s:${key}`, () => sotwBody(typeUrl, version, resources)));
        if (typeUrl === TypeUrls.cluster) warmClusters(state, (previous) => resources.filter((r) => previous.get(r.name) !== r), new Map(resources.map((r) => [r.name, r])));
      }
      return;
    }
    // RDS, EDS and SDS: what the client lacks (planner.plan). Removals are not signalled for these
    // types; the plan forgets them, so they are sent again if they return.
    const plan = context.planner.plan(session.node, info, state, state.sent, typeUrl === TypeUrls.route && routes.active ? routes.view : undefined);
    const { updates } = plan;
    if (updates.length === 0) return;
    const body = plan.shared
      ? sharedBody(plan.shared, "sotwBody", () => sotwBody(typeUrl, version, updates))
      : context.cache.get(typeUrl, version, `s:${plan.everything ? "*" : contentKey(updates)}`, () => sotwBody(typeUrl, version, updates));
    send(state, version, plan.updateNames, body, updates);
  }

  /** After a CDS response on ADS: the EDS assignments of the clusters it added or changed are sent again. */
  function warmClusters(cds: SotwTypeState, changedSince: (previous: Map<string, CachedResource>) => readonly CachedResource[], sent: Map<string, CachedResource>) {
    const previous = cds.sentClusters;
    cds.sentClusters = sent;
    const eds = previous && !fixedTypeUrl ? states.get(TypeUrls.endpoint) : undefined;
    if (!eds) return;
    const changed = changedSince(previous!);
    if (forgetEndpointsOf(changed, eds.sent)) respond(eds, false);
    warming?.clustersSent(changed, eds.sent);
  }

  function send(state: SotwTypeState, version: string, names: string[], body: Buffer, resources?: readonly CachedResource[]) {
    const typeUrl = state.info.typeUrl;
    const nonce = session.nextNonce();
    if (typeUrl === TypeUrls.route && resources) routes.sent(nonce, resources);
    state.nonce = nonce;
    state.version = version;
    state.sentNames = names;
    const message = responseWithNonce(body, nonce);
    call.write(message);
    if (typeUrl === TypeUrls.endpoint && resources) warming?.endpointsSent(resources);
    context.emit({ kind: "response", stream, delta: false, typeUrl, nodeId: session.node.id, nonce, version, resourceNames: names, bytes: message.byteLength });
  }
}

/**
 * LDS/CDS: `resources` with what this client rejected replaced by what it accepted before (left out
 * when nothing); undefined when nothing is held back. A rejection ends once the built version changes.
 */
function heldBack(state: SotwTypeState, resources: readonly CachedResource[]): CachedResource[] | undefined {
  const { held } = state;
  if (!held || held.size === 0) return undefined;
  const current = new Map<string, string>();
  for (const resource of resources) if (held.has(resource.name)) current.set(resource.name, resource.version);
  for (const [name, { rejected }] of held) if (current.get(name) !== rejected) held.delete(name);
  if (held.size === 0) return undefined;
  const out: CachedResource[] = [];
  for (const resource of resources) {
    const hold = held.get(resource.name);
    if (!hold) out.push(resource);
    else if (hold.good) out.push(hold.good);
  }
  return out;
}

function indexed(carried: Carried): ReadonlyMap<string, CachedResource> {
  return carried instanceof Map ? carried : new Map((carried as readonly CachedResource[]).map((r) => [r.name, r]));
}
