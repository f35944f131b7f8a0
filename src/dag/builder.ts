// Builds the routing DAG from the object cache: one BuildContext, the processors in order (Ingress,
// then HTTPProxy), then final passes that report routes another route with the same match shadows
// and drop what no listener can reach (virtual hosts without routes, clusters and secrets nothing
// uses) so the translator sees exactly what is served.
import { createBuildContext } from "./context.ts";
import { applyGlobalHeaders } from "./global-headers.ts";
import { httpProxyProcessor } from "./httpproxy.ts";
import { ingressProcessor } from "./ingress.ts";
import type { BuildContext, DagInput, DagOptions, Processor } from "./processor.ts";
import { reportShadowedRoutes } from "./shadowed-routes.ts";
import type { Cluster, Dag, Route, Secret, VirtualHost } from "./types.ts";

/** The processors buildDag runs when none are given, in order. */
export const defaultProcessors: readonly Processor[] = [ingressProcessor, httpProxyProcessor];

/** Runs `processors` (default: Ingress, HTTPProxy) over `input` and returns the pruned DAG. */
export function buildDag(input: DagInput, options: DagOptions, processors: readonly Processor[] = defaultProcessors): Dag {
  const ctx = createBuildContext(input, options);
  for (const processor of processors) processor(ctx);
  reportShadowedRoutes(ctx);
  applyGlobalHeaders(ctx);
  attachFallbackCertificate(ctx);
  prune(ctx.dag);
  return ctx.dag;
}

/** Looks up the fallback certificate once, if a secure virtual host asked for it. */
function attachFallbackCertificate(ctx: BuildContext): void {
  const { dag, options } = ctx;
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

function routeClusters(route: Route): Cluster[] {
  return [...route.clusters.map((w) => w.cluster), ...route.mirrors.map((m) => m.cluster)];
}

/**
 * Keeps only virtual hosts that serve something and the clusters and secrets they reach. A
 * processor may intern a cluster or look up a secret and then drop the route: nothing of that
 * reaches Envoy.
 */
function prune(dag: Dag): void {
  const clusters = new Map<string, Cluster>();
  const secrets = new Map<string, Secret>();
  const useSecret = (secret: Secret | undefined): void => {
    if (secret) secrets.set(secret.name, secret);
  };
  const useCluster = (cluster: Cluster): void => {
    clusters.set(cluster.name, cluster);
    useSecret(cluster.validation?.caSecret);
    useSecret(cluster.clientCertificate);
  };
  const useRoutes = (vhost: VirtualHost): void => {
    for (const route of vhost.routes) for (const cluster of routeClusters(route)) useCluster(cluster);
  };
  for (const [name, vhost] of dag.virtualHosts) {
    if (vhost.routes.length === 0) dag.virtualHosts.delete(name);
    else useRoutes(vhost);
  }
  let fallbackUsed = false;
  for (const [name, vhost] of dag.secureVirtualHosts) {
    const serves = vhost.routes.length > 0 || (vhost.tcpProxy !== undefined && vhost.tcpProxy.clusters.length > 0);
    if (!serves || (!vhost.passthrough && !vhost.secret)) {
      dag.secureVirtualHosts.delete(name);
      continue;
    }
    useRoutes(vhost);
    for (const weighted of vhost.tcpProxy?.clusters ?? []) useCluster(weighted.cluster);
    useSecret(vhost.secret);
    useSecret(vhost.downstreamValidation?.caSecret);
    useSecret(vhost.downstreamValidation?.crlSecret);
    if (vhost.fallbackCertificate) fallbackUsed = true;
  }
  if (fallbackUsed) useSecret(dag.fallbackSecret);
  else delete dag.fallbackSecret;
  dag.clusters = clusters;
  dag.secrets = secrets;
}
