// State-of-the-world xDS streams (ADS and the per-type LDS/RDS/CDS/EDS/SDS services). Per type a
// stream tracks the client's subscription, the latest nonce it was sent and what it holds, so that
// an ACK or NACK is judged against the newest response only, LDS and CDS always get their full set,
// RDS/EDS/SDS only the resources the client does not have yet, and a NACKed version is never resent.
import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { Buffer } from "node:buffer";
import { contentKey, createKnownVersions, forgetEndpointsOf, openStream, type KnownVersions, type ServerContext } from "./server-common.ts";
import { emptySnapshot, sameNames, sameOrder, type NamePool } from "./server-plan.ts";
import { responseWithNonce, sotwBody, type OutgoingResponse, type SotwRequest } from "./server-wire.ts";
import type { CachedResource } from "./snapshot.ts";
import { TypeUrls, type ResourceTypeInfo } from "./types.ts";

interface SotwTypeState {
  info: ResourceTypeInfo;
  wildcard: boolean;
  /** Wildcard because the first request named nothing (LDS/CDS): stays so while names stay empty. */
  legacyWildcard: boolean;
  /** Subscribed names (interned: shared with clients subscribed to the same names; replaced, never changed). */
  names: ReadonlySet<string>;
  /** The request's list `names` was last found equal to (decoded requests may share one array). */
  namesList: readonly string[] | undefined;
  /** The latest response sent for this type: only a request carrying its nonce is an ACK or NACK. */
  nonce: string;
  version: string;
  sentNames: string[];
  /** LDS/CDS: what the last full response held, so an identical one is never pushed again. */
  sentKey: string | undefined;
  /** RDS/EDS/SDS: the version of each resource the client was sent. */
  sent: KnownVersions;
  /** CDS on ADS: the clusters of the last response, to find those it added or changed. */
  sentClusters?: Map<string, CachedResource>;
}

const noNames: ReadonlySet<string> = new Set();

/** Serves one sotw stream; `fixedTypeUrl` for the per-type services, absent on ADS. */
export function serveSotwStream(call: ServerDuplexStream<SotwRequest, OutgoingResponse>, context: ServerContext, fixedTypeUrl?: string): void {
  const { store } = context;
  const states = new Map<string, SotwTypeState>();

  const session = openStream(call, context, {
    fixedTypeUrl,
    delta: false,
    onRequest(request, info) {
      const names = request.resource_names ?? [];
      const nonce = request.response_nonce ?? "";
      let state = states.get(info.typeUrl);
      const first = !state;
      if (!state) {
        state = { info, wildcard: false, legacyWildcard: false, names: noNames, namesList: undefined, nonce: "", version: "", sentNames: [], sentKey: undefined, sent: createKnownVersions() };
        states.set(info.typeUrl, state);
      }
      const event = { stream, delta: false, typeUrl: info.typeUrl, nodeId: session.node.id, nonce, version: request.version_info ?? "" };
      context.emit({ kind: "request", ...event, resourceNames: names });
      if (nonce !== "") judgeResponse(state, nonce, request, event);
      const subscriptionChanged = updateSubscription(state, { names, first }, context.names);
      // An empty nonce starts (or restarts) the type on this stream: the client holds nothing we know of.
      if (nonce === "") {
        state.sent.clear();
        state.sentKey = undefined;
      }
      if (nonce === "" || subscriptionChanged) respond(state, true);
    },
    onPush(typeUrl) {
      const state = states.get(typeUrl);
      if (state) respond(state, false);
    },
  });
  const stream = session.id;

  function judgeResponse(state: SotwTypeState, nonce: string, request: SotwRequest, event: { stream: number; delta: boolean }) {
    if (nonce !== state.nonce) {
      context.emit({ kind: "stale", ...event, typeUrl: state.info.typeUrl, nonce });
      return;
    }
    if (request.error_detail) {
      context.nacks.record({
        time: new Date(),
        nodeId: session.node.id,
        cluster: session.node.cluster,
        typeUrl: state.info.typeUrl,
        version: state.version,
        resourceNames: state.sentNames,
        errorDetail: { code: request.error_detail.code ?? 0, message: request.error_detail.message ?? "" },
        delta: false,
      });
      context.emit({ kind: "nack", ...event, typeUrl: state.info.typeUrl, nonce, version: state.version, resourceNames: state.sentNames });
    } else {
      context.emit({ kind: "ack", ...event, typeUrl: state.info.typeUrl, nonce, version: state.version });
    }
  }

  function respond(state: SotwTypeState, requested: boolean) {
    if (!store.published) return;
    const { info } = state;
    const typeUrl = info.typeUrl;
    const version = store.version(typeUrl);
    const selection = context.planner.select(session.node, info, state);
    const { whole } = selection;
    if (info.wildcard) {
      // LDS and CDS: every response is the client's whole set; what is missing from it was removed.
      const key = whole ? `*${version}` : contentKey(selection.resources);
      if (!requested && key === state.sentKey) return;
      state.sentKey = key;
      if (whole) {
        const all = context.planner.diff(typeUrl, emptySnapshot);
        send(state, version, all.updateNames, (all.sotwBody ??= sotwBody(typeUrl, version, all.updates)));
        if (typeUrl === TypeUrls.cluster) warmClusters(state, (previous) => context.planner.diff(typeUrl, previous).updates, all.to);
      } else {
        const { resources } = selection;
        send(state, version, resources.map((r) => r.name), context.cache.get(typeUrl, version, `s:${key}`, () => sotwBody(typeUrl, version, resources)));
        if (typeUrl === TypeUrls.cluster) warmClusters(state, (previous) => resources.filter((r) => previous.get(r.name) !== r), new Map(resources.map((r) => [r.name, r])));
      }
      return;
    }
    // A client holding exactly a snapshot and subscribed to all of it is sent what every such client is.
    const base = whole ? state.sent.exactBase() : undefined;
    if (base) {
      const diff = context.planner.diff(typeUrl, base);
      state.sent.rebase(diff.to);
      if (diff.updates.length > 0) send(state, version, diff.updateNames, (diff.sotwBody ??= sotwBody(typeUrl, version, diff.updates)));
      return;
    }
    // Removals are not signalled for these types; forgetting them makes them sent again if they return.
    const { resources } = selection;
    const all = store.resources(typeUrl);
    const present = whole ? all : new Set(resources.map((r) => r.name));
    for (const name of state.sent.names()) if (!present.has(name)) state.sent.delete(name);
    const missing = resources.filter((r) => state.sent.get(r.name) !== r.version);
    if (missing.length === 0) return;
    if (!store.viewScopes(typeUrl) && resources.length === all.size) state.sent.rebase(all);
    else for (const r of missing) state.sent.set(r.name, r.version);
    const key = `s:${missing.length === resources.length && whole ? "*" : contentKey(missing)}`;
    send(state, version, missing.map((r) => r.name), context.cache.get(typeUrl, version, key, () => sotwBody(typeUrl, version, missing)));
  }

  /** After a CDS response on ADS: the EDS assignments of the clusters it added or changed are sent again. */
  function warmClusters(cds: SotwTypeState, changedSince: (previous: Map<string, CachedResource>) => readonly CachedResource[], sent: Map<string, CachedResource>) {
    const previous = cds.sentClusters;
    cds.sentClusters = sent;
    const eds = previous && !fixedTypeUrl ? states.get(TypeUrls.endpoint) : undefined;
    if (eds && forgetEndpointsOf(changedSince(previous!), eds.sent)) respond(eds, false);
  }

  function send(state: SotwTypeState, version: string, names: string[], body: Buffer) {
    const typeUrl = state.info.typeUrl;
    const nonce = session.nextNonce();
    state.nonce = nonce;
    state.version = version;
    state.sentNames = names;
    const message = responseWithNonce(body, nonce);
    call.write(message);
    context.emit({ kind: "response", stream, delta: false, typeUrl, nodeId: session.node.id, nonce, version, resourceNames: names, bytes: message.byteLength });
  }
}

/**
 * Applies the names of a sotw request. LDS/CDS: a first request naming nothing is a wildcard
 * subscription, kept while later requests name nothing; "*" subscribes to everything for any type.
 * The name set is replaced, never changed in place (it may be shared with other clients). Returns
 * whether the subscription changed.
 */
function updateSubscription(state: SotwTypeState, change: { names: string[]; first: boolean }, pool: NamePool): boolean {
  const { names, first } = change;
  const legacy = state.info.wildcard && names.length === 0 && (first || state.legacyWildcard);
  const star = names.includes("*");
  const wildcard = legacy || star;
  const named = star ? names.filter((name) => name !== "*") : names;
  let changed = first || wildcard !== state.wildcard;
  // An ACK repeats the names it subscribed with: the same list (often the very array, see
  // server-wire.ts) in the same order costs no set at all.
  if (named !== state.namesList && !sameOrder(state.names, named)) {
    const next = pool.intern(named);
    changed ||= !sameNames(next, state.names);
    state.names = next;
  }
  state.namesList = named;
  state.legacyWildcard = legacy;
  state.wildcard = wildcard;
  if (changed && !wildcard) for (const name of state.sent.names()) if (!state.names.has(name)) state.sent.delete(name);
  return changed;
}
