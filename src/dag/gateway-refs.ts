// What Gateway API references resolve to: ReferenceGrants (a reference across namespaces is allowed
// only when the target's namespace grants it), Namespace label selectors (allowedRoutes), hostname
// intersection between a listener and a route, and a route's backendRefs to interned clusters with
// the spec's ResolvedRefs reasons (BackendNotFound, RefNotPermitted, InvalidKind), with the upstream TLS
// a BackendTLSPolicy asks for (gateway-backendtls.ts).
import type { BackendRef, GatewayApiObjects, LabelSelector, ReferenceGrant } from "./gateway-api-types.ts";
import { backendTlsFor, type BackendTlsPolicies } from "./gateway-backendtls.ts";
import type { BuildContext } from "./processor.ts";
import type { Cluster } from "./types.ts";

export const GATEWAY_GROUP = "gateway.networking.k8s.io";

/** True when a ReferenceGrant in `to.namespace` lets `from` (a kind in a namespace) refer to `to`. */
export function referenceGranted(grants: readonly ReferenceGrant[], from: { kind: string; namespace: string }, to: { kind: string; namespace: string; name: string }): boolean {
  if (from.namespace === to.namespace) return true;
  return grants.some(
    (grant) =>
      grant.metadata.namespace === to.namespace &&
      grant.spec.from.some((f) => f.group === GATEWAY_GROUP && f.kind === from.kind && f.namespace === from.namespace) &&
      grant.spec.to.some((t) => (t.group === "" || t.group === "core") && t.kind === to.kind && (t.name === undefined || t.name === "" || t.name === to.name)),
  );
}

/** A Kubernetes label selector against a label set: every matchLabels pair and every expression holds. */
export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const expression of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expression.key);
    const values = expression.values ?? [];
    const holds =
      expression.operator === "In"
        ? has && values.includes(labels[expression.key]!)
        : expression.operator === "NotIn"
          ? !has || !values.includes(labels[expression.key]!)
          : expression.operator === "Exists"
            ? has
            : !has;
    if (!holds) return false;
  }
  return true;
}

export function namespaceLabels(objects: GatewayApiObjects, namespace: string): Record<string, string> {
  const labels = objects.namespaces.find((n) => n.name === namespace)?.labels ?? {};
  // Kubernetes labels every Namespace with its own name.
  return { "kubernetes.io/metadata.name": namespace, ...labels };
}

/** True when `host` (no wildcard) is covered by `wildcard` (`*.example.com`: one or more labels in front). */
function coveredBy(host: string, wildcard: string): boolean {
  return host.endsWith(wildcard.slice(1)) && host.length > wildcard.length - 1;
}

/** The hostname a request must carry to match both a listener's and a route's hostname, or undefined when none can. */
export function intersectHostname(listener: string, route: string): string | undefined {
  if (listener === route) return route;
  const lw = listener.startsWith("*.");
  const rw = route.startsWith("*.");
  if (lw && coveredBy(route.startsWith("*.") ? route.slice(2) : route, listener)) return route;
  if (rw && !lw && coveredBy(listener, route)) return listener;
  if (lw && rw && coveredBy(listener.slice(2), route)) return listener;
  return undefined;
}

/** The virtual host names a route gets on a listener: `*` for any host; empty when no hostname matches. */
export function routeHostnames(listenerHostname: string | undefined, routeHostnames: readonly string[] | undefined): string[] {
  const hostnames = (routeHostnames ?? []).map((h) => h.toLowerCase());
  const listener = listenerHostname?.toLowerCase();
  if (hostnames.length === 0) return [listener || "*"];
  if (!listener) return [...new Set(hostnames)];
  const matched = new Set<string>();
  for (const hostname of hostnames) {
    const name = intersectHostname(listener, hostname);
    if (name) matched.add(name);
  }
  return [...matched];
}

/**
 * A backendRef's cluster, or why it does not resolve (the reason of the route's ResolvedRefs False),
 * or `refused`: it resolves, but a BackendTLSPolicy on it cannot be applied, so it must not be reached.
 */
export type BackendResult = { ok: Cluster; websocket?: true } | { reason: "BackendNotFound" | "RefNotPermitted" | "InvalidKind"; message: string } | { refused: true; message: string };

/** What resolving a route's backends reads: the build's objects and its BackendTLSPolicy index. */
export interface BackendScope {
  objects: GatewayApiObjects;
  backendTls: BackendTlsPolicies;
}

/** Resolves a backendRef of a route in `from.namespace` to an interned cluster (HTTP/2 in cleartext with `protocol` h2c: GRPCRoute's). */
export function backendCluster(ctx: BuildContext, scope: BackendScope, from: { kind: string; namespace: string }, ref: BackendRef, protocol?: "h2c"): BackendResult {
  const group = ref.group ?? "";
  const kind = ref.kind ?? "Service";
  const namespace = ref.namespace ?? from.namespace;
  const text = `${namespace}/${ref.name}`;
  if ((group !== "" && group !== "core") || kind !== "Service") return { reason: "InvalidKind", message: `backendRef ${text}: ${group ? `${group}/` : ""}${kind} is not supported, only core Services` };
  if (!referenceGranted(scope.objects.referenceGrants, from, { kind: "Service", namespace, name: ref.name })) {
    return { reason: "RefNotPermitted", message: `backendRef to Service ${text} is not permitted: no ReferenceGrant in namespace ${namespace} allows ${from.kind}s from namespace ${from.namespace}` };
  }
  if (ref.port === undefined) return { reason: "BackendNotFound", message: `backendRef to Service ${text}: a port is required` };
  const lookup = ctx.lookupService(namespace, ref.name, ref.port);
  if ("error" in lookup) return { reason: "BackendNotFound", message: `backendRef to Service ${text}: ${lookup.cause ?? lookup.error.message}` };
  const resolved = lookup.ok;
  const settings: Omit<Cluster, "name" | "edsServiceName"> = {
    service: { namespace: resolved.namespace, name: resolved.name, port: resolved.port, portName: resolved.portName },
    protocol: protocol ?? (resolved.serviceProtocol === "h2c" ? "h2c" : "http1"),
    loadBalancer: "RoundRobin",
  };
  if (resolved.targetPort !== undefined) settings.service.targetPort = resolved.targetPort;
  if (resolved.externalName !== undefined) settings.externalName = resolved.externalName;
  if (resolved.circuitBreakers !== undefined) settings.circuitBreakers = resolved.circuitBreakers;
  // BackendTLSPolicy applies to the Services of HTTPRoutes and GRPCRoutes (and their mirrors), not to the raw streams of TLS and TCP routes.
  const tls = from.kind === "HTTPRoute" || from.kind === "GRPCRoute" ? backendTlsFor(ctx, scope.backendTls, { namespace, name: ref.name, portName: resolved.portName }) : undefined;
  if (tls && "refused" in tls) return { refused: true, message: tls.refused };
  if (tls) {
    settings.protocol = settings.protocol === "h2c" ? "h2" : "tls";
    settings.sni = tls.ok.sni;
    settings.validation = tls.ok.validation;
  }
  return webSocketPort(ctx, resolved) ? { ok: ctx.cluster(settings), websocket: true } : { ok: ctx.cluster(settings) };
}

/** The Service port's appProtocol is `kubernetes.io/ws`: the spec's signal that routes to it take WebSocket upgrades. */
function webSocketPort(ctx: BuildContext, resolved: { namespace: string; name: string; port: number }): boolean {
  const ports = (ctx.input.service(resolved.namespace, resolved.name)?.spec as { ports?: unknown } | undefined)?.ports;
  return Array.isArray(ports) && ports.some((p: { port?: unknown; appProtocol?: unknown } | null) => p?.port === resolved.port && p.appProtocol === "kubernetes.io/ws");
}
