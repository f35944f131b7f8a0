// The Envoy listeners of a Gateway's ports other than 80 and 443 (Envoy port = Gateway port + 8000,
// Contour's mapping): what the processor attaches to each while it walks the routes, then the DAG
// listener nodes. A plaintext port has one route configuration for all its hosts; a TLS port (HTTPS
// and TLS listeners, told apart by SNI) one filter chain per host, made by the same constructor as
// `ingress_https` (listeners.ts); a TCP port proxies every connection to one TCPRoute's backends.
import { hostIn, newSecureVirtualHost, newVirtualHost } from "./context.ts";
import { tlsListener } from "./listeners.ts";
import { gatewayHttpListenerName, gatewaySecureRouteConfigName, gatewayTcpListenerName, gatewayTlsListenerName } from "./names.ts";
import type { BuildContext } from "./processor.ts";
import type { ObjectRef } from "./status.ts";
import type { Listener, SecureVirtualHost, VirtualHost, WeightedCluster } from "./types.ts";

/** What the Gateway's own ports serve so far, by Envoy port. */
export interface OwnListeners {
  http: Map<number, Map<string, VirtualHost>>;
  tls: Map<number, Map<string, SecureVirtualHost>>;
  tcp: Map<number, Listener>;
}

export const ownListeners = (): OwnListeners => ({ http: new Map(), tls: new Map(), tcp: new Map() });

function hostsOn<T>(ports: Map<number, Map<string, T>>, envoyPort: number): Map<string, T> {
  let hosts = ports.get(envoyPort);
  if (!hosts) ports.set(envoyPort, (hosts = new Map()));
  return hosts;
}

/** The plaintext virtual host `hostname` of Envoy port `envoyPort`. */
export function ownVirtualHost(own: OwnListeners, envoyPort: number, hostname: string, source: ObjectRef): VirtualHost {
  return hostIn(hostsOn(own.http, envoyPort), hostname, source, newVirtualHost);
}

/** The TLS virtual host (SNI name) `hostname` of Envoy port `envoyPort`. */
export function ownSecureVirtualHost(own: OwnListeners, envoyPort: number, hostname: string, source: ObjectRef): SecureVirtualHost {
  return hostIn(hostsOn(own.tls, envoyPort), hostname, source, newSecureVirtualHost);
}

/**
 * A TCP listener proxies every connection to its TCPRoute's backends. A connection carries nothing
 * to choose between routes by, so of several TCPRoutes on one listener the oldest with a backend is
 * served and the others are told so (Contour lets the last one processed replace the others).
 */
export function addTcpListener(ctx: BuildContext, own: OwnListeners, envoyPort: number, clusters: WeightedCluster[], source: ObjectRef): void {
  if (clusters.length === 0) return;
  const name = gatewayTcpListenerName(envoyPort);
  const served = own.tcp.get(envoyPort);
  if (served) {
    const by = served.tcpProxy?.sources.map((s) => `${s.kind} ${s.namespace}/${s.name}`).join(", ");
    if (!served.tcpProxy?.sources.some((s) => s.kind === source.kind && s.namespace === source.namespace && s.name === source.name)) {
      ctx.status.warning(source, { type: "RouteError", reason: "NotServed", message: `Envoy listener ${name} already proxies to the backends of ${by}, an older route on the same TCP listener: this route is not served there` });
    }
    return;
  }
  const address = ctx.options.listeners?.address ?? "0.0.0.0";
  own.tcp.set(envoyPort, { name, protocol: "tcp", address, port: envoyPort, virtualHosts: [], filterChains: [], tcpProxy: { clusters, sources: [source] } });
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The listener nodes of the Gateway's own ports, by Envoy port; a port with nothing to serve has none. */
export function ownListenerNodes(ctx: BuildContext, own: OwnListeners): Listener[] {
  const address = ctx.options.listeners?.address ?? "0.0.0.0";
  const nodes: Listener[] = [...own.tcp.values()];
  for (const [port, hosts] of own.http) {
    const virtualHosts = [...hosts.values()].filter((vhost) => vhost.routes.length > 0).sort(byName);
    const name = gatewayHttpListenerName(port);
    if (virtualHosts.length > 0) nodes.push({ name, protocol: "http", address, port, routeConfigName: name, virtualHosts, filterChains: [] });
  }
  for (const [port, hosts] of own.tls) {
    const place = { name: gatewayTlsListenerName(port), address, port, chainName: (fqdn: string) => gatewaySecureRouteConfigName(port, fqdn) };
    const node = tlsListener(place, hosts.values(), { status: ctx.status });
    if (node) nodes.push(node);
  }
  return nodes.sort((a, b) => a.port - b.port);
}
