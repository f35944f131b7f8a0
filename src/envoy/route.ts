// RouteConfigurations from the DAG's route configuration nodes (dag/accessors.ts): `ingress_http`
// with one virtual host per plaintext host, `https/<fqdn>` per TLS host (served only on that host's
// SNI filter chain), and `ingress_fallbackcert` for clients without SNI. A TLS host's route
// configuration answers 421 to any other :authority, so a client cannot pick one host's certificate
// rules and reach another.
import type { RouteConfigNode } from "../dag/accessors.ts";
import type { HeaderValue, HeadersPolicy, Redirect, Route, VirtualHost, WeightedCluster } from "../dag/types.ts";
import { deepFreeze } from "../base/values.ts";
import { any, compareStrings, duration, type JsonObject, sortedBy } from "./common.ts";
import { cookieRewriteMarker, cookieRewriteMetadata, hasCookieRewrites } from "./cookie-rewrite.ts";
import { routeFilterConfig, virtualHostFilterConfig } from "./http-filters.ts";
import { routeMatch, sortRoutes } from "./route-match.ts";

/** The cookie Contour's sticky sessions (loadBalancerPolicy Cookie) use, kept for compatibility. */
export const SESSION_AFFINITY_COOKIE = "X-Contour-Session-Affinity";

const redirectCodes: Record<Redirect["statusCode"], string> = {
  301: "MOVED_PERMANENTLY",
  302: "FOUND",
  303: "SEE_OTHER",
  307: "TEMPORARY_REDIRECT",
  308: "PERMANENT_REDIRECT",
};

/**
 * The RouteConfiguration of one DAG route configuration; a TLS host's own one adds the 421 catch-all.
 * `hostOf` translates each virtual host (a memo's, see translate-memo.ts).
 */
export function routeConfigurationOf(config: RouteConfigNode, hostOf: typeof virtualHost = virtualHost): JsonObject {
  const secure = config.protocol === "https";
  // The DAG's route configurations hold their virtual hosts sorted by name (dag/listeners.ts).
  const hosts = config.virtualHosts.map((vh) => hostOf(vh, { secure }));
  if (config.fetchedBy === "sni") hosts.push(misdirected);
  return routeConfiguration(config.name, hosts);
}

// Contour's request start stamp, for queueing-time metrics upstream. A constant, not user input: one
// frozen list shared by every route configuration (translated JSON is never changed), so a route
// configuration whose hosts alone changed keeps its other fields as the same values (resource-delta.ts).
const requestStartHeader = deepFreeze([{ header: { key: "x-request-start", value: "t=%START_TIME(%s.%3f)%" }, append_action: "APPEND_IF_EXISTS_OR_ADD" }]);

function routeConfiguration(name: string, virtualHosts: JsonObject[]): JsonObject {
  return {
    name,
    virtual_hosts: virtualHosts,
    request_headers_to_add: requestStartHeader,
    // Host "foo.com:8443" still finds "foo.com", wildcards included.
    ignore_port_in_host_matching: true,
  };
}

/** The domains of a host: its name and its name with any port; `*` alone for the default host. */
export function domains(fqdn: string): string[] {
  if (fqdn === "*") return ["*"];
  // "*.foo.com:*" would be read as a suffix wildcard ending in ":*"; ports on wildcard hosts are
  // handled by ignore_port_in_host_matching instead.
  if (fqdn.startsWith("*")) return [fqdn];
  return [fqdn, `${fqdn}:*`];
}

/** An Envoy VirtualHost from a DAG virtual host, routes sorted most specific first. */
export function virtualHost(vhost: VirtualHost, options: { secure: boolean }): JsonObject {
  const out: JsonObject = {
    name: vhost.name,
    domains: domains(vhost.name),
    routes: sortRoutes(vhost.routes).map((route) => withFilterConfig(envoyRoute(route, options), routeFilterConfig(route, vhost.name))),
  };
  const filterConfig = virtualHostFilterConfig(vhost);
  if (filterConfig) out.typed_per_filter_config = filterConfig;
  return out;
}

function withFilterConfig(route: JsonObject, config: JsonObject | undefined): JsonObject {
  if (config) route.typed_per_filter_config = config;
  return route;
}

/** The 421 catch-all of every TLS host's route configuration: one frozen object shared by all of them. */
const misdirected: JsonObject = deepFreeze({
  name: "misdirected",
  domains: ["*"],
  routes: [{ match: { prefix: "/" }, direct_response: { status: 421, body: { inline_string: "misdirected request\n" } } }],
});

/** An Envoy Route: a redirect, a direct response, or a route to clusters. */
export function envoyRoute(route: Route, options: { secure: boolean }): JsonObject {
  const match = routeMatch(route);
  if (route.httpsRedirect && !options.secure) return { match, redirect: { https_redirect: true } };
  if (route.directResponse) {
    const response: JsonObject = { status: route.directResponse.statusCode };
    if (route.directResponse.body) response.body = { inline_string: route.directResponse.body };
    return { match, direct_response: response };
  }
  if (route.redirect) return { match, redirect: redirectAction(route.redirect) };
  // A route with nowhere to go answers 503, like a route whose Service is missing.
  if (route.clusters.length === 0) return { match, direct_response: { status: 503 } };

  const out: JsonObject = { match, route: routeAction(route) };
  if (hasCookieRewrites(route)) out.metadata = cookieRewriteMetadata(route, sortedClusters(route.clusters));
  // Most routes change no header: nothing to merge.
  if (route.requestHeaders || route.responseHeaders) Object.assign(out, headerMutations(route.requestHeaders, "request"), headerMutations(route.responseHeaders, "response"));
  return out;
}

/** A mirror's share: in percent when whole, else in millionths (a Gateway API fraction such as 1/3). */
function mirrorFraction(percent: number): JsonObject {
  const clamped = Math.max(0, Math.min(100, percent));
  if (Number.isInteger(clamped)) return { numerator: clamped, denominator: "HUNDRED" };
  return { numerator: Math.round(clamped * 10_000), denominator: "MILLION" };
}

function redirectAction(redirect: Redirect): JsonObject {
  const action: JsonObject = {};
  if (redirect.scheme) action.scheme_redirect = redirect.scheme;
  if (redirect.hostname) action.host_redirect = redirect.hostname;
  if (redirect.port) action.port_redirect = redirect.port;
  if (redirect.path) action.path_redirect = redirect.path;
  else if (redirect.prefix) action.prefix_rewrite = redirect.prefix;
  action.response_code = redirectCodes[redirect.statusCode];
  return action;
}

function sortedClusters(clusters: WeightedCluster[]): WeightedCluster[] {
  return [...clusters].sort((a, b) => compareStrings(a.cluster.name, b.cluster.name) || a.weight - b.weight);
}

/**
 * The name in weighted_clusters of a route's invalid backends' share: no cluster has it (cluster
 * names are `namespace/service/port/hash`), so Envoy answers cluster_not_found_response_code, 500.
 */
export const INVALID_BACKEND_CLUSTER = "invalid-backend";

/** One cluster and nothing per cluster: a plain `cluster`, as Contour's SingleSimpleCluster. */
function isSingleSimpleCluster(route: Route): boolean {
  const only = route.clusters[0];
  return !route.invalidBackendWeight && route.clusters.length === 1 && only !== undefined && !only.requestHeaders && !only.responseHeaders && !hasCookieRewrites(route);
}

/** The RouteAction of a route to clusters. */
export function routeAction(route: Route): JsonObject {
  const action: JsonObject = {};
  if (isSingleSimpleCluster(route)) action.cluster = route.clusters[0]!.cluster.name;
  else action.weighted_clusters = weightedClusters(route);
  if (route.invalidBackendWeight) action.cluster_not_found_response_code = "INTERNAL_SERVER_ERROR";

  if (route.timeout?.responseMs !== undefined) action.timeout = duration(route.timeout.responseMs);
  if (route.timeout?.idleMs !== undefined) action.idle_timeout = duration(route.timeout.idleMs);
  if (route.retry && route.retry.retryOn.length > 0) action.retry_policy = retryPolicy(route.retry);
  if (route.mirrors.length > 0) {
    action.request_mirror_policies = sortedBy(route.mirrors, (m) => m.cluster.name).map((mirror) => ({
      cluster: mirror.cluster.name,
      runtime_fraction: { default_value: mirrorFraction(mirror.weightPercent) },
    }));
  }
  if (route.requestHeaders?.hostRewrite) action.host_rewrite_literal = route.requestHeaders.hostRewrite;
  if (route.pathRewrite?.prefixReplacement !== undefined) action.prefix_rewrite = route.pathRewrite.prefixReplacement;
  else if (route.pathRewrite?.fullReplacement !== undefined) {
    action.regex_rewrite = { pattern: { regex: "^/.*$" }, substitution: literalSubstitution(route.pathRewrite.fullReplacement) };
  }
  const hashPolicies = hashPolicy(route);
  if (hashPolicies.length > 0) action.hash_policy = hashPolicies;
  if (route.websocket) action.upgrade_configs = [{ upgrade_type: "websocket" }];
  if (route.internalRedirect) action.internal_redirect_policy = internalRedirectPolicy(route.internalRedirect);
  return action;
}

/** A regex substitution that is the user's text and nothing else: `\1` would be a capture group. */
function literalSubstitution(text: string): string {
  return text.replaceAll("\\", "\\\\");
}

function weightedClusters(route: Route): JsonObject {
  const clusters = sortedClusters(route.clusters);
  const total = clusters.reduce((sum, c) => sum + c.weight, 0);
  const cookies = hasCookieRewrites(route);
  const weights = clusters.map((wc, index) => {
    const out: JsonObject = { name: wc.cluster.name, weight: total === 0 ? 1 : wc.weight };
    Object.assign(out, headerMutations(wc.requestHeaders, "request"), headerMutations(wc.responseHeaders, "response"));
    if (cookies) out.response_headers_to_add = [...((out.response_headers_to_add as JsonObject[]) ?? []), cookieRewriteMarker(index)];
    if (wc.requestHeaders?.hostRewrite) out.host_rewrite_literal = wc.requestHeaders.hostRewrite;
    return out;
  });
  if (route.invalidBackendWeight) weights.push({ name: INVALID_BACKEND_CLUSTER, weight: route.invalidBackendWeight });
  // No total_weight: it is deprecated (Envoy warns, and in time refuses); Envoy uses the sum.
  return { clusters: weights };
}

function retryPolicy(retry: NonNullable<Route["retry"]>): JsonObject {
  const policy: JsonObject = { retry_on: retry.retryOn.join(",") };
  if (retry.numRetries > 0) policy.num_retries = retry.numRetries;
  if (retry.perTryTimeoutMs !== undefined) policy.per_try_timeout = duration(retry.perTryTimeoutMs);
  if (retry.retriableStatusCodes?.length) policy.retriable_status_codes = [...retry.retriableStatusCodes].sort((a, b) => a - b);
  return policy;
}

function hashPolicy(route: Route): JsonObject[] {
  const policies: JsonObject[] = [];
  if (route.cookieHash) {
    policies.push({ cookie: { name: SESSION_AFFINITY_COOKIE, ttl: "0s", path: "/" } });
  }
  for (const hash of route.requestHashPolicies ?? []) {
    const policy: JsonObject = {};
    if (hash.headerName) policy.header = { header_name: hash.headerName };
    else if (hash.queryParameterName) policy.query_parameter = { name: hash.queryParameterName };
    else if (hash.hashSourceIP) policy.connection_properties = { source_ip: true };
    else continue;
    if (hash.terminal) policy.terminal = true;
    policies.push(policy);
  }
  return policies;
}

/**
 * Contour's internal redirect policy. "SafeOnly" allows cross-scheme redirects only from http to
 * https (Envoy's safe_cross_scheme predicate); denyRepeatedRouteRedirect refuses a redirect back to
 * a route already visited (previous_routes).
 */
function internalRedirectPolicy(policy: NonNullable<Route["internalRedirect"]>): JsonObject {
  const out: JsonObject = {};
  if (policy.maxInternalRedirects !== undefined) out.max_internal_redirects = policy.maxInternalRedirects;
  if (policy.redirectResponseCodes.length > 0) out.redirect_response_codes = [...policy.redirectResponseCodes].sort((a, b) => a - b);
  if (policy.allowCrossSchemeRedirect !== "Never") out.allow_cross_scheme_redirect = true;
  const predicates: JsonObject[] = [];
  if (policy.allowCrossSchemeRedirect === "SafeOnly") {
    predicates.push({ name: "envoy.internal_redirect_predicates.safe_cross_scheme", typed_config: any("envoy.extensions.internal_redirect.safe_cross_scheme.v3.SafeCrossSchemeConfig") });
  }
  if (policy.denyRepeatedRouteRedirect) {
    predicates.push({ name: "envoy.internal_redirect_predicates.previous_routes", typed_config: any("envoy.extensions.internal_redirect.previous_routes.v3.PreviousRoutesConfig") });
  }
  if (predicates.length > 0) out.predicates = predicates;
  return out;
}

/**
 * Header additions and removals. Values go to Envoy as data: the processor already escaped `%`
 * (Envoy's formatter escape), so they are not escaped again here.
 */
export function headerMutations(policy: HeadersPolicy | undefined, direction: "request" | "response"): JsonObject {
  if (!policy) return {};
  const out: JsonObject = {};
  const add = [...headerValueOptions(policy.set, "OVERWRITE_IF_EXISTS_OR_ADD"), ...headerValueOptions(policy.add, "APPEND_IF_EXISTS_OR_ADD")];
  if (add.length > 0) out[`${direction}_headers_to_add`] = add;
  const remove = [...new Set(policy.remove)].sort(compareStrings);
  if (remove.length > 0) out[`${direction}_headers_to_remove`] = remove;
  return out;
}

function headerValueOptions(values: HeaderValue[], appendAction: string): JsonObject[] {
  return [...values]
    .sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.value, b.value))
    .map((h) => ({ header: { key: h.name, value: h.value }, append_action: appendAction }));
}
