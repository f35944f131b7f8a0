// One TLSRoute or TCPRoute as a TCP proxy: its one rule's backendRefs are the weighted Services the
// bytes go to. A TLSRoute's hostnames are SNI names on the TLS listener (passed through, or after
// termination with the listener's certificate, as its tls.mode says); a TCPRoute takes every
// connection of a TCP listener. A backend that does not resolve is a ResolvedRefs reason; with none
// left (or every weight 0) nothing is proxied.
import type { TCPRoute, TLSRoute } from "./gateway-api-types.ts";
import type { HTTPRouteRoutes } from "./gateway-httproute.ts";
import { backendCluster, type BackendScope } from "./gateway-refs.ts";
import type { BuildContext } from "./processor.ts";
import type { ObjectRef } from "./status.ts";
import type { WeightedCluster } from "./types.ts";

/** The TCP proxy of `route` (not yet attached to any listener). */
export function streamRouteBackends(ctx: BuildContext, scope: BackendScope, route: TLSRoute | TCPRoute): HTTPRouteRoutes & { tcpProxy: WeightedCluster[] } {
  const source: ObjectRef = { kind: route.kind, namespace: route.metadata.namespace ?? "", name: route.metadata.name };
  const out: HTTPRouteRoutes & { tcpProxy: WeightedCluster[] } = { routes: [], unsupported: [], unresolved: [], tcpProxy: [] };
  const rules = route.spec.rules ?? [];
  if (rules.length > 1) out.unsupported.push(`a ${route.kind} has one rule: the rules after the first are not served`);
  const refs = rules[0]?.backendRefs ?? [];
  if (refs.length === 0) out.unresolved.push({ reason: "BackendNotFound", message: `the ${route.kind}'s rule has no backendRefs: nothing is proxied` });
  for (const ref of refs) {
    const resolved = backendCluster(ctx, scope, source, ref);
    if ("reason" in resolved) out.unresolved.push({ reason: resolved.reason, message: resolved.message });
    else if ("ok" in resolved && (ref.weight ?? 1) > 0) out.tcpProxy.push({ cluster: resolved.ok, weight: ref.weight ?? 1 });
  }
  return out;
}
