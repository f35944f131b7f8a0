// The names of the Envoy resources the DAG's listeners become, in Contour's spelling. This module is
// the only place they are written: the listener pass (listeners.ts) puts them on the DAG's nodes,
// and the translator, ownership, SDS scoping and `validate --routes` read them from there.

/** The plaintext listener, and the one route configuration every plaintext virtual host is in. */
export const HTTP_LISTENER = "ingress_http";
export const HTTP_ROUTE_CONFIG = "ingress_http";
/** The TLS listener: one filter chain per SNI name. */
export const HTTPS_LISTENER = "ingress_https";
/** The route configuration and filter chain of clients without SNI (the fallback certificate). */
export const FALLBACK_ROUTE_CONFIG = "ingress_fallbackcert";
export const FALLBACK_FILTER_CHAIN = "fallback-certificate";
/** Envoy's stats/ready listener, which is not a routing listener and so not in the DAG. */
export const STATS_LISTENER = "stats-health";

/** The route configuration (and filter chain) name of a TLS virtual host. */
export const secureRouteConfigName = (fqdn: string): string => `https/${fqdn}`;

/**
 * A Gateway port's own Envoy listeners (Gateway ports other than 80 and 443), named after Envoy's
 * port (the Gateway's + 8000): plaintext HTTP with one route configuration of the same name, TLS
 * with one filter chain (and route configuration) per SNI name, and a plain TCP proxy.
 */
export const gatewayHttpListenerName = (envoyPort: number): string => `http-${envoyPort}`;
export const gatewayTlsListenerName = (envoyPort: number): string => `https-${envoyPort}`;
export const gatewayTcpListenerName = (envoyPort: number): string => `tcp-${envoyPort}`;
/** The route configuration (and filter chain) name of a TLS virtual host on a Gateway port's own TLS listener. */
export const gatewaySecureRouteConfigName = (envoyPort: number, fqdn: string): string => `${gatewayTlsListenerName(envoyPort)}/${fqdn}`;
