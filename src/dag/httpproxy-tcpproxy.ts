// `spec.tcpproxy` of a root HTTPProxy: services (load balancing, TCP health checks) or an include
// of another proxy's tcpproxy, followed with cycle detection, as Contour's processHTTPProxyTCPProxy.
import type { KubeObject } from "../sources/types.ts";
import type { TcpProxy, WeightedCluster } from "./types.ts";
import { lbStrategy, tcpHealthCheck } from "./httpproxy-policies.ts";
import type { Walk } from "./httpproxy-routes.ts";
import { weightsProblem } from "./httpproxy-route-services.ts";
import { serviceCluster } from "./httpproxy-services.ts";
import { ErrorType, addError, addWarning, proxyKey, proxyRef, quote, specOf } from "./httpproxy-spec.ts";

/** The tcpproxy of `proxy` (following includes), or undefined with errors recorded. */
export function processTcpProxy(walk: Walk, proxy: KubeObject, visited: KubeObject[]): TcpProxy | undefined {
  const { ctx } = walk;
  const ref = proxyRef(proxy);
  const tcpproxy = specOf(ctx, proxy).tcpproxy;
  if (!tcpproxy) return undefined;
  const chain = [...visited, proxy];
  // Contour accepts the deprecated plural `includes` and prefers the singular.
  const include = tcpproxy.include ?? tcpproxy.includes;
  const services = tcpproxy.services ?? [];
  if (services.length > 0 && include) {
    addError(ctx, ref, ErrorType.tcpProxy, "NoServicesAndInclude", "cannot specify services and include in the same httpproxy");
    return undefined;
  }
  let strategy = lbStrategy(tcpproxy.loadBalancerPolicy);
  if (strategy === "Cookie" || strategy === "RequestHash") {
    addWarning(ctx, ref, ErrorType.tcpProxy, "IgnoredField",
      `ignoring field ${quote("Spec.TCPProxy.LoadBalancerPolicy")}; ${strategy} load balancer policy is not supported for TCPProxies`);
    strategy = "RoundRobin";
  }
  if (services.length > 0) {
    const clusters: WeightedCluster[] = [];
    const health = tcpHealthCheck(tcpproxy.healthCheckPolicy);
    for (const service of services) {
      const result = serviceCluster(ctx, ref, service, { loadBalancer: strategy, tcpHealthCheck: health }, {
        unresolvedType: ErrorType.tcpProxy,
        unresolvedPrefix: "Spec.TCPProxy",
      });
      if (!("ok" in result)) return undefined;
      // Envoy's TCP weighted clusters need a weight of at least 1: an absent weight counts as 1.
      clusters.push({ cluster: result.ok, weight: Math.max(1, Math.floor(service.weight ?? 0)) });
    }
    const weightProblem = weightsProblem(clusters);
    if (weightProblem) {
      addError(ctx, ref, ErrorType.tcpProxy, "WeightNotValid", `Spec.TCPProxy ${weightProblem}`);
      return undefined;
    }
    return { clusters };
  }
  if (!include) {
    addError(ctx, ref, ErrorType.tcpProxy, "NothingDefined", "either services or inclusion must be specified");
    return undefined;
  }
  const namespace = include.namespace || ref.namespace;
  const name = include.name ?? "";
  const dest = walk.proxies.get(proxyKey(namespace, name));
  if (!dest) {
    addError(ctx, ref, ErrorType.tcpProxyInclude, "IncludeNotFound", `include ${namespace}/${name} not found`);
    return undefined;
  }
  if (specOf(ctx, dest).virtualhost) {
    addError(ctx, ref, ErrorType.tcpProxyInclude, "RootIncludesRoot", `root httpproxy cannot include another root httpproxy (${namespace}/${name})`);
    return undefined;
  }
  walk.reached.add(proxyKey(namespace, name));
  const destKey = proxyKey(namespace, name);
  if (chain.some((p) => proxyKey(proxyRef(p).namespace, proxyRef(p).name) === destKey)) {
    const path = [...chain, dest].map((p) => proxyKey(proxyRef(p).namespace, proxyRef(p).name)).join(" -> ");
    addError(ctx, ref, ErrorType.tcpProxyInclude, "IncludeCreatesCycle", `include creates a cycle: ${path}`);
    return undefined;
  }
  if (walk.schemaInvalid.has(destKey)) {
    addError(ctx, ref, ErrorType.tcpProxyInclude, "IncludeNotValid", `include ${destKey} does not match the HTTPProxy schema (see its status)`);
    return undefined;
  }
  if (!specOf(ctx, dest).tcpproxy) {
    addError(ctx, proxyRef(dest), ErrorType.tcpProxy, "NothingDefined", "either services or inclusion must be specified");
    return undefined;
  }
  return processTcpProxy(walk, dest, chain);
}
