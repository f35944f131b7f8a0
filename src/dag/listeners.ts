// The builder's last pass (as Contour's listener_processor.go): it makes the listeners and decides,
// once, what each serves. `ingress_http` holds every plaintext virtual host that has a route;
// `ingress_https` one filter chain per TLS virtual host that routes somewhere and either terminates
// with a certificate or passes through to a TCP proxy, plus the fallback certificate's chain. A TLS
// host it cannot serve is reported on its objects, never dropped in silence.
import { compareStrings } from "../base/values.ts";
import type { StatusRecorder } from "./status.ts";
import type { Dag, DownstreamValidation, FallbackFilterChain, Listener, Secret, SecureFilterChain, SecureVirtualHost, VirtualHost } from "./types.ts";
import { FALLBACK_FILTER_CHAIN, FALLBACK_ROUTE_CONFIG, HTTP_LISTENER, HTTP_ROUTE_CONFIG, HTTPS_LISTENER, secureRouteConfigName } from "./names.ts";

/** Where Envoy listens: Contour's `--envoy-service-http(s)-port` and address. */
export interface ListenerOptions {
  /** Listen address ("0.0.0.0"; "::" listens on IPv4 too). */
  address?: string;
  /** Plaintext listener port (8080). */
  httpPort?: number;
  /** TLS listener port (8443). */
  httpsPort?: number;
}

export const defaultListenerOptions: Required<ListenerOptions> = { address: "0.0.0.0", httpPort: 8080, httpsPort: 8443 };

const byName = (a: { name: string }, b: { name: string }) => compareStrings(a.name, b.name);

/** The listeners of `dag`, HTTP first; the TLS listener only when it has a filter chain. */
export function buildListeners(dag: Pick<Dag, "virtualHosts" | "secureVirtualHosts" | "fallbackSecret">, options: ListenerOptions = {}, status?: StatusRecorder): Listener[] {
  const { address, httpsPort } = { ...defaultListenerOptions, ...withoutUndefined(options) };
  const plain = [...dag.virtualHosts.values()].filter((vhost) => vhost.routes.length > 0).sort(byName);
  const https = tlsListener({ name: HTTPS_LISTENER, address, port: httpsPort, chainName: secureRouteConfigName }, dag.secureVirtualHosts.values(), { fallbackSecret: dag.fallbackSecret, status });
  return listenersOf({ plain, filterChains: https?.filterChains ?? [], fallback: https?.fallback }, options);
}

/** What the listeners serve, each list sorted by host name. */
export interface ServedHosts {
  plain: VirtualHost[];
  filterChains: SecureFilterChain[];
  fallback: FallbackFilterChain | undefined;
}

/** The listeners serving `served` (the HTTP one always, the TLS one when it has a chain): buildListeners' last step, shared with incremental-state.ts. */
export function listenersOf(served: ServedHosts, options: ListenerOptions = {}): Listener[] {
  const { address, httpPort, httpsPort } = { ...defaultListenerOptions, ...withoutUndefined(options) };
  const { plain, filterChains, fallback } = served;
  const http: Listener = { name: HTTP_LISTENER, protocol: "http", address, port: httpPort, routeConfigName: HTTP_ROUTE_CONFIG, virtualHosts: plain, filterChains: [] };
  if (filterChains.length === 0 && !fallback) return [http];
  const https: Listener = { name: HTTPS_LISTENER, protocol: "https", address, port: httpsPort, virtualHosts: [], filterChains };
  if (fallback) https.fallback = fallback;
  return [http, https];
}

/** Where a TLS listener listens and what its filter chains (and their route configurations) are called. */
export interface TlsListenerPlace {
  name: string;
  address: string;
  port: number;
  chainName: (fqdn: string) => string;
}

/**
 * A TLS listener: one filter chain per TLS virtual host it can serve (sorted by name), plus the
 * fallback certificate's chain when a host asks for it; undefined when it would have no chain.
 * A host named `*` is the chain of every other SNI name (a Gateway TLS listener without a hostname),
 * which leaves no room for the fallback certificate's chain: its hosts are told so.
 */
export function tlsListener(place: TlsListenerPlace, vhosts: Iterable<SecureVirtualHost>, options: { fallbackSecret?: Secret; status?: StatusRecorder } = {}): Listener | undefined {
  const served: SecureVirtualHost[] = [];
  for (const vhost of [...vhosts].sort(byName)) {
    if (servesSecureVirtualHost(vhost)) served.push(vhost);
    else if (vhost.passthrough && !vhost.tcpProxy && vhost.routes.length > 0) reportPassthroughWithoutTcpProxy(vhost, options.status);
  }
  const joined = new Map<string, Secret>();
  const filterChains = served.map((vhost) => secureFilterChain(vhost, place.chainName(vhost.name), joined));
  let fallback = fallbackFilterChain(options.fallbackSecret, served);
  if (fallback && served.some((vhost) => vhost.name === "*")) {
    reportFallbackTakenByCatchAll(fallback, options.status);
    fallback = undefined;
  }
  if (filterChains.length === 0 && !fallback) return undefined;
  const listener: Listener = { name: place.name, protocol: "https", address: place.address, port: place.port, virtualHosts: [], filterChains };
  if (fallback) listener.fallback = fallback;
  return listener;
}

/** A TLS virtual host gets a filter chain when it routes somewhere and terminates with a certificate or passes through to a TCP proxy. */
function servesSecureVirtualHost(vhost: SecureVirtualHost): boolean {
  const routesSomewhere = vhost.routes.length > 0 || (vhost.tcpProxy?.clusters.length ?? 0) > 0;
  if (vhost.passthrough) return vhost.tcpProxy !== undefined && routesSomewhere;
  return vhost.secret !== undefined && routesSomewhere;
}

function secureFilterChain(vhost: SecureVirtualHost, name: string, joined: Map<string, Secret>): SecureFilterChain {
  const chain: SecureFilterChain = { name, virtualHost: vhost };
  if (!vhost.passthrough && !vhost.tcpProxy && vhost.routes.length > 0) chain.routeConfigName = name;
  const validation = clientValidationSecret(vhost.downstreamValidation, joined);
  if (validation) chain.clientValidationSecret = validation;
  return chain;
}

/**
 * The CA, or the CA joined with the CRL under a name of both (so either rotating is a new resource),
 * once per pair. A CRL without a CA stays inline in the chain: Envoy checks a CRL against a CA only.
 */
function clientValidationSecret(validation: DownstreamValidation | undefined, joined: Map<string, Secret>): Secret | undefined {
  const ca = validation?.caSecret;
  const crl = validation?.crlSecret;
  if (!ca || !crl) return ca;
  const name = `${ca.name}+${crl.name}`;
  let secret = joined.get(name);
  if (!secret) joined.set(name, (secret = { ...ca, name, crl: crl.certificateChain }));
  return secret;
}

function fallbackFilterChain(secret: Dag["fallbackSecret"], served: SecureVirtualHost[]): FallbackFilterChain | undefined {
  if (!secret) return undefined;
  // A host that validates client certificates is never reachable without its own SNI chain.
  const virtualHosts = served.filter((vh) => vh.fallbackCertificate && !vh.passthrough && !vh.tcpProxy && !vh.downstreamValidation);
  return fallbackChainOf(secret, virtualHosts);
}

/** The fallback certificate's chain for these (served, sorted) hosts; none without hosts. */
export function fallbackChainOf(secret: Secret, virtualHosts: SecureVirtualHost[]): FallbackFilterChain | undefined {
  if (virtualHosts.length === 0) return undefined;
  return { name: FALLBACK_FILTER_CHAIN, secret, routeConfigName: FALLBACK_ROUTE_CONFIG, virtualHosts };
}

/** TLS passthrough sends the bytes on unread: routes cannot apply, and without a TCP proxy nothing is served. */
function reportPassthroughWithoutTcpProxy(vhost: SecureVirtualHost, status: StatusRecorder | undefined): void {
  const message = `Spec.VirtualHost.TLS passthrough of ${JSON.stringify(vhost.name)} requires Spec.TCPProxy: its routes cannot apply to passed-through TLS, so the host is not served on the TLS listener`;
  for (const source of vhost.sources) status?.error(source, { type: "TLSError", reason: "TLSConfigNotValid", message });
}

function reportFallbackTakenByCatchAll(fallback: FallbackFilterChain, status: StatusRecorder | undefined): void {
  const message = "the fallback certificate is not served: a Gateway TLS listener without a hostname takes every TLS connection whose SNI no other host has, clients without SNI included";
  for (const vhost of fallback.virtualHosts) for (const source of vhost.sources) status?.error(source, { type: "TLSError", reason: "FallbackNotValid", message });
}

/** Every virtual host the listeners serve, plaintext and TLS. */
export function servedVirtualHosts(listeners: readonly Listener[]): VirtualHost[] {
  return listeners.flatMap((listener) => [...listener.virtualHosts, ...listener.filterChains.map((chain) => chain.virtualHost)]);
}

function withoutUndefined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}
