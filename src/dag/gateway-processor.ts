// The Gateway API processor (as Contour's gatewayapi_processor.go): the served Gateway's listeners
// (gateway-listeners.ts) and the HTTPRoutes, GRPCRoutes, TLSRoutes and TCPRoutes attached to them
// (gateway-httproute.ts, gateway-grpcroute.ts, gateway-streamroute.ts) written into the
// DAG, with the spec's status: Gateway Accepted and Programmed, each listener's conditions and
// attachedRoutes, each route's parents[] (Accepted, ResolvedRefs) under our controllerName, and each
// BackendTLSPolicy's ancestors[] (gateway-backendtls.ts).
import { gatewayApiInput } from "./gateway-api-input.ts";
import { backendTlsPolicies, writeBackendTlsStatus } from "./gateway-backendtls.ts";
import type { Gateway, GatewayApiObjects, GRPCRoute, HTTPRoute, ParentReference, TCPRoute, TLSRoute } from "./gateway-api-types.ts";
import { streamRouteBackends } from "./gateway-streamroute.ts";
import { grpcRouteRoutes } from "./gateway-grpcroute.ts";
import { httpRouteRoutes, type HTTPRouteRoutes } from "./gateway-httproute.ts";
import { addTcpListener, ownListenerNodes, ownListeners, ownSecureVirtualHost, ownVirtualHost, type OwnListeners } from "./gateway-own-listeners.ts";
import { gatewayListeners, listenerConditions, type GatewayListenerState } from "./gateway-listeners.ts";
import { byAge } from "./gateway-select.ts";
import { GATEWAY_GROUP, intersectHostname, namespaceLabels, routeHostnames, selectorMatches, type BackendScope } from "./gateway-refs.ts";
import type { BuildContext } from "./processor.ts";
import type { KubeCondition, ObjectRef, RouteParentStatus } from "./status.ts";
import type { Route, SecureVirtualHost, VirtualHost, WeightedCluster } from "./types.ts";

type AnyRoute = HTTPRoute | GRPCRoute | TLSRoute | TCPRoute;

/** A TCPRoute has no hostnames: it takes every connection of its listener. */
const hostnamesOf = (route: AnyRoute) => (route.kind === "TCPRoute" ? undefined : route.spec.hostnames);

/** Serves the selected Gateway's listeners and their HTTPRoutes and GRPCRoutes. */
export function gatewayProcessor(ctx: BuildContext): void {
  const input = gatewayApiInput(ctx);
  const gateway = input?.selection.gateway;
  if (!input || !gateway) return;
  const { objects, selection } = input;
  const listeners = gatewayListeners(ctx, objects, gateway);
  const own = ownListeners();
  const scope: BackendScope = { objects, backendTls: backendTlsPolicies(objects) };
  // The spec's tie-break between equal matches: the oldest route first, then namespace/name.
  [...objects.httpRoutes, ...objects.grpcRoutes, ...objects.tlsRoutes, ...objects.tcpRoutes].sort(byAge).forEach((route: AnyRoute, precedence) => {
    attachRoute(ctx, scope, gateway, listeners, route, { controllerName: selection.controllerName, own, precedence });
  });
  ctx.dag.listeners.push(...ownListenerNodes(ctx, own));
  writeGatewayStatus(ctx, gateway, listeners);
  const ancestorRef = { group: GATEWAY_GROUP, kind: "Gateway", namespace: gateway.metadata.namespace ?? "", name: gateway.metadata.name };
  // After the routes: a policy's ancestor is the Gateway when one of its routes sent through it.
  writeBackendTlsStatus(ctx, scope.backendTls, objects.backendTLSPolicies, { ancestorRef, controllerName: selection.controllerName });
}

type Verdict = { listeners: Array<{ state: GatewayListenerState; hostnames: string[] }> } | { reason: string; message: string };

/** Which listeners of the Gateway one parentRef attaches the route to, or the reason it attaches to none. */
function attachment(objects: GatewayApiObjects, route: AnyRoute, parentRef: ParentReference, gateway: { namespace: string; listeners: GatewayListenerState[] }): Verdict {
  const { listeners } = gateway;
  const named = listeners.filter((l) => (parentRef.sectionName === undefined || l.spec.name === parentRef.sectionName) && (parentRef.port === undefined || l.spec.port === parentRef.port));
  if (named.length === 0) {
    const which = [parentRef.sectionName && `sectionName ${parentRef.sectionName}`, parentRef.port !== undefined && `port ${parentRef.port}`].filter(Boolean).join(" and ");
    return { reason: "NoMatchingParent", message: `the Gateway has no listener with ${which}` };
  }
  const accepting = named.filter((l) => l.accepting);
  if (accepting.length === 0) return { reason: "NoMatchingParent", message: "no listener the parentRef names is accepted: see the Gateway's listener conditions" };
  const namespace = route.metadata.namespace ?? "";
  const ofKind = accepting.filter((l) => l.supportedKinds.some((k) => k.kind === route.kind));
  if (ofKind.length === 0) {
    const served = accepting.map((l) => `${l.spec.name}: ${l.supportedKinds.map((k) => k.kind).join(", ") || "none"}`).join("; ");
    return { reason: "NotAllowedByListeners", message: `no listener the parentRef names serves ${route.kind}s (${served})` };
  }
  const allowed = ofKind.filter((l) => namespaceAllowed(objects, l, namespace, gateway.namespace));
  if (allowed.length === 0) return { reason: "NotAllowedByListeners", message: `no listener the parentRef names allows ${route.kind}s from namespace ${namespace}` };
  const matched = allowed
    .map((state) => ({ state, hostnames: routeHostnames(state.spec.hostname, hostnamesOf(route)).filter((h) => !claimedByMoreSpecific(h, state, listeners)) }))
    .filter((m) => m.hostnames.length > 0);
  if (matched.length === 0) return { reason: "NoMatchingListenerHostname", message: `no hostname of the route (${(hostnamesOf(route) ?? []).join(", ")}) matches a listener's hostname` };
  return { listeners: matched };
}

/**
 * Listener isolation: a request goes to the routes of the most specific listener hostname that
 * matches it. A host another accepted listener on the same port matches more specifically is that
 * listener's, not this one's (`*.example.com` leaves `foo.example.com` to a `foo.example.com` listener).
 */
function claimedByMoreSpecific(hostname: string, state: GatewayListenerState, listeners: GatewayListenerState[]): boolean {
  const mine = state.spec.hostname?.toLowerCase();
  return listeners.some((other) => {
    const theirs = other.spec.hostname?.toLowerCase();
    if (other === state || !other.accepting || other.spec.port !== state.spec.port || !theirs) return false;
    const moreSpecific = mine === undefined || (!theirs.startsWith("*.") && mine.startsWith("*.")) || (theirs.startsWith("*.") && mine.startsWith("*.") && theirs.length > mine.length);
    return moreSpecific && intersectHostname(theirs, hostname) === hostname;
  });
}

function namespaceAllowed(objects: GatewayApiObjects, state: GatewayListenerState, namespace: string, gatewayNamespace: string): boolean {
  const from = state.spec.allowedRoutes?.namespaces?.from ?? "Same";
  if (from === "All") return true;
  if (from === "Same") return namespace === gatewayNamespace;
  return selectorMatches(state.spec.allowedRoutes?.namespaces?.selector, namespaceLabels(objects, namespace));
}

const isOurGateway = (ref: ParentReference, route: AnyRoute, gateway: Gateway) =>
  (ref.group ?? GATEWAY_GROUP) === GATEWAY_GROUP &&
  (ref.kind ?? "Gateway") === "Gateway" &&
  (ref.namespace ?? route.metadata.namespace) === gateway.metadata.namespace &&
  ref.name === gateway.metadata.name;

function attachRoute(
  ctx: BuildContext,
  scope: BackendScope,
  gateway: Gateway,
  listeners: GatewayListenerState[],
  route: AnyRoute,
  options: { controllerName: string; own: OwnListeners; precedence: number },
): void {
  const parentRefs = (route.spec.parentRefs ?? []).filter((ref) => isOurGateway(ref, route, gateway));
  if (parentRefs.length === 0) return;
  const source: ObjectRef = { kind: route.kind, namespace: route.metadata.namespace ?? "", name: route.metadata.name };
  const built: HTTPRouteRoutes & { tcpProxy?: WeightedCluster[] } =
    route.kind === "HTTPRoute" ? httpRouteRoutes(ctx, scope, route) : route.kind === "GRPCRoute" ? grpcRouteRoutes(ctx, scope, route) : streamRouteBackends(ctx, scope, route);
  // The older route first and, within one route, its first rule: a fraction below the next route's.
  built.routes.forEach((dagRoute, index) => (dagRoute.precedence = options.precedence + index / built.routes.length));
  const resolvedRefs: KubeCondition = built.unresolved[0]
    ? { type: "ResolvedRefs", status: "False", reason: built.unresolved[0].reason, message: built.unresolved.map((u) => u.message).join("; ") }
    : { type: "ResolvedRefs", status: "True", reason: "ResolvedRefs", message: "References resolved" };
  for (const u of built.unresolved) ctx.status.warning(source, { type: "RouteError", reason: u.reason, message: u.message });
  const parents: RouteParentStatus[] = [];
  const attachedTo = new Set<GatewayListenerState>();
  for (const parentRef of parentRefs) {
    const verdict = attachment(scope.objects, route, parentRef, { namespace: gateway.metadata.namespace ?? "", listeners });
    let accepted: KubeCondition;
    if ("reason" in verdict) {
      accepted = { type: "Accepted", status: "False", reason: verdict.reason, message: verdict.message };
      ctx.status.error(source, { type: "RouteError", reason: verdict.reason, message: verdict.message });
    } else {
      accepted =
        built.unsupported.length > 0
          ? { type: "Accepted", status: "False", reason: "UnsupportedValue", message: `these rules are not served: ${built.unsupported.join("; ")}` }
          : { type: "Accepted", status: "True", reason: "Accepted", message: `Accepted ${route.kind}` };
      for (const { state, hostnames } of verdict.listeners) {
        if (!attachedTo.has(state)) state.attachedRoutes++;
        attachedTo.add(state);
        if (!state.programmable) continue;
        if (state.target.kind === "tcp") {
          addTcpListener(ctx, options.own, state.target.envoyPort, built.tcpProxy ?? [], source);
          continue;
        }
        for (const hostname of hostnames) {
          if (built.tcpProxy) addTcpProxy(ctx, state, hostname, built.tcpProxy, source, options.own);
          else addRoutes(ctx, state, hostname, built.routes, source, options.own);
        }
      }
    }
    parents.push({ parentRef, controllerName: options.controllerName, conditions: [accepted, resolvedRefs] });
  }
  for (const problem of built.unsupported) ctx.status.error(source, { type: "RouteError", reason: "UnsupportedValue", message: problem });
  ctx.status.gatewayApiStatus(source, route.metadata.generation, { parents });
}

/**
 * A TLSRoute's SNI name on a TLS listener, passed through or terminated with the listener's
 * certificate, to a TCP proxy; or a TCPRoute's, after termination. `*` (no hostname on either side)
 * is the chain of every SNI name no other host has.
 */
function addTcpProxy(ctx: BuildContext, state: GatewayListenerState, hostname: string, clusters: WeightedCluster[], source: ObjectRef, own: OwnListeners): void {
  if (clusters.length === 0) return;
  const passthrough = state.spec.tls?.mode === "Passthrough";
  if (!passthrough && !state.secret) return;
  const vhost = secureHost(ctx, state, hostname, source, own);
  if (!vhost) return;
  vhost.passthrough = passthrough;
  if (state.secret && !passthrough) vhost.secret = state.secret;
  vhost.tcpProxy = { clusters: [...(vhost.tcpProxy?.clusters ?? []), ...clusters] };
}

/** The TLS virtual host for `hostname` on the listener's Envoy TLS listener: the shared one (443) or its port's own. */
function secureHost(ctx: BuildContext, state: GatewayListenerState, hostname: string, source: ObjectRef, own: OwnListeners): SecureVirtualHost | undefined {
  if (state.target.kind === "https") return ctx.secureVirtualHost(hostname, source);
  if (state.target.kind === "tls") return ownSecureVirtualHost(own, state.target.envoyPort, hostname, source);
  return undefined;
}

/** Puts the routes on the listener's virtual host for `hostname`. */
function addRoutes(ctx: BuildContext, state: GatewayListenerState, hostname: string, routes: Route[], source: ObjectRef, own: OwnListeners): void {
  const target = state.target;
  let vhost: VirtualHost | undefined;
  if (target.kind === "http") vhost = ctx.virtualHost(hostname, source);
  else if (target.kind === "port") vhost = ownVirtualHost(own, target.envoyPort, hostname, source);
  else if (hostname !== "*" && state.secret) {
    // An HTTPS host has its own filter chain, chosen by SNI: it needs a name (a wildcard is one).
    vhost = secureHost(ctx, state, hostname, source, own);
    if (vhost) (vhost as SecureVirtualHost).secret = state.secret;
  }
  if (!vhost) return;
  // Each listener's hostname gets its own copy: routes are never shared between virtual hosts.
  for (const route of routes) vhost.routes.push(redirectPort({ ...route, mirrors: [...route.mirrors] }, state));
}

/**
 * A redirect without a port goes to the listener's port (the Gateway's, not Envoy's) or, when it
 * changes the scheme, to the scheme's well-known one, as the spec says. A well-known port, given or
 * not, is left out of the Location (http and 80, https and 443), so Envoy is given no port then:
 * given one, it writes it.
 */
function redirectPort(route: Route, state: GatewayListenerState): Route {
  const redirect = route.redirect;
  if (!redirect) return route;
  const scheme = redirect.scheme ?? (state.spec.protocol === "HTTPS" ? "https" : "http");
  const wellKnown = scheme === "https" ? 443 : 80;
  const port = redirect.port ?? (redirect.scheme ? wellKnown : state.spec.port);
  if (port !== wellKnown) return port === redirect.port ? route : { ...route, redirect: { ...redirect, port } };
  const { port: _wellKnown, ...withoutPort } = redirect;
  return { ...route, redirect: withoutPort };
}

function writeGatewayStatus(ctx: BuildContext, gateway: Gateway, listeners: GatewayListenerState[]): void {
  const ref: ObjectRef = { kind: "Gateway", namespace: gateway.metadata.namespace ?? "", name: gateway.metadata.name };
  const generation = gateway.metadata.generation;
  const programmed = listeners.filter((l) => l.programmable).length;
  if (listeners.every((l) => !l.accepting)) {
    ctx.status.condition(ref, generation, { type: "Accepted", status: "False", reason: "ListenersNotValid", message: "no listener of the Gateway is valid: see their conditions" });
  }
  ctx.status.condition(
    ref,
    generation,
    programmed > 0
      ? { type: "Programmed", status: "True", reason: "Programmed", message: `${programmed} of ${listeners.length} listeners are programmed in Envoy` }
      : { type: "Programmed", status: "False", reason: "Invalid", message: "no listener of the Gateway is programmed: see their conditions" },
  );
  ctx.status.gatewayApiStatus(ref, generation, {
    listeners: listeners.map((state) => ({ name: state.spec.name, supportedKinds: state.supportedKinds, attachedRoutes: state.attachedRoutes, conditions: listenerConditions(state) })),
  });
}
