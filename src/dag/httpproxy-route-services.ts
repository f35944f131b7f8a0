// The services of one HTTPProxy route: weighted backends (with their own header and cookie
// policies) and at most one mirror, as Contour builds them.
import type { BuildContext } from "./processor.ts";
import type { ObjectRef } from "./status.ts";
import type { MirrorPolicy, WeightedCluster } from "./types.ts";
import { cookieRewrites, headersPolicy, headersPolicyProblems } from "./httpproxy-policies.ts";
import { serviceCluster, type ClusterSettings } from "./httpproxy-services.ts";
import type { RouteSpec, ServiceSpec } from "./crd-types.ts";
import { ErrorType, addError } from "./httpproxy-spec.ts";

/** The values a service's header policies may use (`%CONTOUR_SERVICE_NAME%`, …). */
function serviceVariables(namespace: string, service: ServiceSpec): Record<string, string> {
  return { CONTOUR_NAMESPACE: namespace, CONTOUR_SERVICE_NAME: service.name ?? "", CONTOUR_SERVICE_PORT: String(service.port ?? 0) };
}

/**
 * Every header policy error of a route and of its services, as conditions: checked before anything
 * else of the route is built, so a user sees all of them at once, not the first one found.
 */
export function routeHeadersProblems(route: RouteSpec, namespace: string): Array<{ type: string; reason: string; message: string }> {
  const dynamic = { CONTOUR_NAMESPACE: namespace };
  const own = headersPolicyProblems(headersPolicy(route.requestHeadersPolicy, true, dynamic), headersPolicy(route.responseHeadersPolicy, false, dynamic), "ResponseHeaderPolicyInvalid");
  const ofServices = (route.services ?? []).flatMap((service) => {
    const variables = serviceVariables(namespace, service);
    return headersPolicyProblems(headersPolicy(service.requestHeadersPolicy, true, variables), headersPolicy(service.responseHeadersPolicy, false, variables), "ResponseHeadersPolicyInvalid");
  });
  return [...own.map((p) => ({ type: ErrorType.route, ...p })), ...ofServices.map((p) => ({ type: ErrorType.service, ...p }))];
}

/**
 * Resolves a route's services (their header policies already checked by routeHeadersProblems), or undefined when an error drops the proxy's routes. Services whose
 * Service is missing are left out (the route answers 503 when none is left). Weights: all absent
 * means an equal split; otherwise a service without a weight gets none of the traffic.
 */
export function routeServices(
  ctx: BuildContext,
  ref: ObjectRef,
  services: ServiceSpec[],
  settings: ClusterSettings,
): { clusters: WeightedCluster[]; mirrors: MirrorPolicy[] } | undefined {
  const clusters: WeightedCluster[] = [];
  const mirrors: MirrorPolicy[] = [];
  for (const service of services) {
    const dynamic = serviceVariables(ref.namespace, service);
    const reqHP = headersPolicy(service.requestHeadersPolicy, true, dynamic);
    const respHP = headersPolicy(service.responseHeadersPolicy, false, dynamic);
    if ("errors" in reqHP || "errors" in respHP) return undefined; // reported by routeHeadersProblems
    const hostRewrite = reqHP.ok?.hostRewrite;
    const result = serviceCluster(ctx, ref, service, { ...settings, serviceHostRewrite: hostRewrite }, {
      unresolvedType: ErrorType.service,
      unresolvedPrefix: "Spec.Routes",
    });
    if ("fatal" in result) return undefined;
    if ("skip" in result) continue;
    const cookies = cookieRewrites(service.cookieRewritePolicies);
    if ("error" in cookies) {
      addError(ctx, ref, ErrorType.route, "CookieRewritePoliciesInvalid", `${cookies.error} on service cookie rewrite rules`);
      return undefined;
    }
    const weight = Math.max(0, Math.floor(service.weight ?? 0));
    if (service.mirror === true) {
      if (mirrors.length > 0) {
        addError(ctx, ref, ErrorType.service, "OnlyOneMirror", "only one service per route may be nominated as mirror");
        return undefined;
      }
      mirrors.push({ cluster: result.ok, weightPercent: weight === 0 ? 100 : Math.min(100, weight) });
      continue;
    }
    const backend: WeightedCluster = { cluster: result.ok, weight };
    if (reqHP.ok) backend.requestHeaders = reqHP.ok;
    if (respHP.ok) backend.responseHeaders = respHP.ok;
    if (cookies.ok) backend.cookieRewrites = cookies.ok;
    clusters.push(backend);
  }
  if (clusters.every((c) => c.weight === 0)) for (const c of clusters) c.weight = 1;
  const weightProblem = weightsProblem(clusters);
  if (weightProblem) {
    addError(ctx, ref, ErrorType.service, "WeightNotValid", `Spec.Routes ${weightProblem}`);
    return undefined;
  }
  return { clusters, mirrors };
}

const maxTotalWeight = 4294967295;

/**
 * Envoy adds up a route's cluster weights in 32 bits and refuses the whole route configuration
 * (every host on the listener) when they overflow; Contour would let that through.
 */
export function weightsProblem(clusters: WeightedCluster[]): string | undefined {
  const total = clusters.reduce((sum, c) => sum + c.weight, 0);
  if (total <= maxTotalWeight) return undefined;
  return `service weights add up to ${total}, more than ${maxTotalWeight}`;
}
