// Builds the routing DAG from the object cache: one BuildContext, the processors in order (Ingress,
// then HTTPProxy, then Gateway API), then final passes that report routes another route with the same match shadows,
// make the listeners (listeners.ts: what is served is decided there) and drop what no listener can
// reach (accessors.ts), so the translator sees exactly what is served.
import { reachable } from "./accessors.ts";
import { createBuildContext } from "./context.ts";
import { applyGlobalHeaders } from "./global-headers.ts";
import { gatewayProcessor } from "./gateway-processor.ts";
import { httpProxyProcessor } from "./httpproxy.ts";
import { ingressProcessor } from "./ingress.ts";
import { buildListeners } from "./listeners.ts";
import type { BuildContext, DagInput, DagOptions, Processor } from "./processor.ts";
import { reportShadowedRoutes } from "./shadowed-routes.ts";
import type { Dag, VirtualHost } from "./types.ts";

/** The processors buildDag runs when none are given, in order. */
export const defaultProcessors: readonly Processor[] = [ingressProcessor, httpProxyProcessor, gatewayProcessor];

/** Runs `processors` (default: Ingress, HTTPProxy, Gateway API) over `input` and returns the pruned DAG. */
export function buildDag(input: DagInput, options: DagOptions, processors: readonly Processor[] = defaultProcessors): Dag {
  const ctx = createBuildContext(input, options);
  for (const processor of processors) processor(ctx);
  finishVirtualHosts(ctx);
  // A processor may add listeners of its own (Gateway ports other than 80 and 443): they are kept.
  ctx.dag.listeners = [...buildListeners(ctx.dag, options.listeners, ctx.status), ...ctx.dag.listeners];
  prune(ctx.dag);
  return ctx.dag;
}

/**
 * The passes between the processors and the listeners, over the virtual hosts made: shadowed
 * routes, global headers, the fallback certificate. An incremental unit (incremental-parts.ts) runs
 * the same, so a pass added here is added to both.
 */
export function finishVirtualHosts(ctx: BuildContext): void {
  reportShadowedRoutes(ctx);
  applyGlobalHeaders(ctx);
  attachFallbackCertificate(ctx);
}

/** Looks up the fallback certificate once, if a secure virtual host asked for it. */
function attachFallbackCertificate(ctx: BuildContext): void {
  const { dag, options } = ctx;
  if (dag.secureVirtualHosts.size === 0) return;
  const wanting = [...dag.secureVirtualHosts.values()].filter((v) => v.fallbackCertificate);
  if (wanting.length === 0 || dag.fallbackSecret) return;
  const ref = options.fallbackCertificate;
  const lookup = ref ? ctx.lookupTlsSecretUnchecked(ref.namespace, ref.name) : undefined;
  if (lookup && "ok" in lookup) {
    dag.fallbackSecret = lookup.ok;
    return;
  }
  const message = !ref
    ? "Spec.Virtualhost.TLS enabled fallback but the fallback Certificate Secret is not configured in Contour configuration file"
    : `Spec.Virtualhost.TLS Secret "${ref.namespace}/${ref.name}" fallback certificate is invalid: ${lookup && "error" in lookup ? (lookup.cause ?? lookup.error.message) : ""}`;
  for (const vhost of wanting) {
    vhost.fallbackCertificate = false;
    for (const source of vhost.sources) ctx.status.error(source, { type: "TLSError", reason: "FallbackNotValid", message });
  }
}

/**
 * Keeps only what the listeners serve: their virtual hosts, and the clusters and secrets reachable
 * from them. A processor may intern a cluster or look up a secret and then drop the route: nothing
 * of that reaches Envoy.
 */
function prune(dag: Dag): void {
  keepOnly(dag.virtualHosts, dag.listeners.flatMap((listener) => listener.virtualHosts));
  keepOnly(dag.secureVirtualHosts, dag.listeners.flatMap((listener) => listener.filterChains.map((chain) => chain.virtualHost)));
  if (!dag.listeners.some((listener) => listener.fallback)) delete dag.fallbackSecret;
  const { clusters, secrets } = reachable(dag);
  dag.clusters = inBuildOrder(dag.clusters, clusters);
  dag.secrets = inBuildOrder(dag.secrets, secrets);
}

/** Deletes the virtual hosts of `map` that are not `served` (a subset of its values). */
function keepOnly(map: Map<string, VirtualHost>, served: VirtualHost[]): void {
  if (served.length === map.size) return;
  const keep = new Set(served);
  for (const [name, vhost] of map) if (!keep.has(vhost)) map.delete(name);
}

/**
 * `kept` in the order the processors made its entries (those made elsewhere last). The order means
 * nothing to the output, which is sorted, but the endpoint translator walks clusters in it: the
 * order they were made in keeps its lookups close in memory (sorted by host, a 10k-host rebuild's
 * endpoint stage measured slower).
 */
function inBuildOrder<T>(made: Map<string, T>, kept: Map<string, T>): Map<string, T> {
  if (made.size === kept.size && everyKeyIn(made, kept)) return made;
  const ordered = new Map<string, T>();
  for (const name of made.keys()) {
    const value = kept.get(name);
    if (value !== undefined) ordered.set(name, value);
  }
  for (const [name, value] of kept) if (!ordered.has(name)) ordered.set(name, value);
  return ordered;
}

function everyKeyIn(map: Map<string, unknown>, other: Map<string, unknown>): boolean {
  for (const name of map.keys()) if (!other.has(name)) return false;
  return true;
}
