// One TLSRoute as a TCP proxy by SNI: its hostnames are SNI names, its one rule's backendRefs the
// weighted Services the TLS bytes go to (passed through, or after termination with the listener's
// certificate, as the listener's tls.mode says). A backend that does not resolve is a ResolvedRefs
// reason; with none left the SNI name is not served.
import type { GatewayApiObjects, TLSRoute } from "./gateway-api-types.ts";
import type { HTTPRouteRoutes } from "./gateway-httproute.ts";
import { backendCluster } from "./gateway-refs.ts";
import type { BuildContext } from "./processor.ts";
import type { ObjectRef } from "./status.ts";
import type { WeightedCluster } from "./types.ts";

/** The TCP proxy of `route` (not yet attached to any listener). */
export function tlsRouteBackends(ctx: BuildContext, objects: GatewayApiObjects, route: TLSRoute): HTTPRouteRoutes & { tcpProxy: WeightedCluster[] } {
  const source: ObjectRef = { kind: "TLSRoute", namespace: route.metadata.namespace ?? "", name: route.metadata.name };
  const out: HTTPRouteRoutes & { tcpProxy: WeightedCluster[] } = { routes: [], unsupported: [], unresolved: [], tcpProxy: [] };
  const rules = route.spec.rules ?? [];
  if (rules.length > 1) out.unsupported.push("a TLSRoute has one rule: the rules after the first are not served");
  for (const ref of rules[0]?.backendRefs ?? []) {
    const resolved = backendCluster(ctx, objects, source, ref);
    if (!("ok" in resolved)) out.unresolved.push({ reason: resolved.reason, message: resolved.message });
    else if ((ref.weight ?? 1) > 0) out.tcpProxy.push({ cluster: resolved.ok, weight: ref.weight ?? 1 });
  }
  return out;
}
