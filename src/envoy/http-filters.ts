// The HTTP filter chain of every HTTP connection manager, and the per-virtual-host configuration of
// the filters that only some hosts or routes use (CORS, local rate limits, IP allow/deny lists,
// cookie rewriting, stateful sessions). Filters a listener's hosts never use are left out; the
// router is always last.
import type { CorsPolicy, IpFilterPolicy, LocalRateLimitPolicy, Route, SessionPersistence, VirtualHost } from "../dag/types.ts";
import type { CompressionAlgorithm } from "../config/types.ts";
import { any, duration, enumName, type JsonObject } from "./common.ts";
import { COOKIE_REWRITE_SCRIPT, hasCookieRewrites } from "./cookie-rewrite.ts";

/** Filter names: typed_per_filter_config and route metadata are keyed by them. */
export const filterNames = {
  compressor: "envoy.filters.http.compressor",
  grpcWeb: "envoy.filters.http.grpc_web",
  cors: "envoy.filters.http.cors",
  localRateLimit: "envoy.filters.http.local_ratelimit",
  rbac: "envoy.filters.http.rbac",
  lua: "envoy.filters.http.lua",
  statefulSession: "envoy.filters.http.stateful_session",
  router: "envoy.filters.http.router",
} as const;

/** The filters the hosts of one connection manager need. */
export interface FilterNeeds {
  cors: boolean;
  localRateLimit: boolean;
  rbac: boolean;
  cookieRewrite: boolean;
  statefulSession: boolean;
}

/** What the given virtual hosts use. */
export function filterNeeds(virtualHosts: Iterable<VirtualHost>): FilterNeeds {
  const needs: FilterNeeds = { cors: false, localRateLimit: false, rbac: false, cookieRewrite: false, statefulSession: false };
  for (const vhost of virtualHosts) {
    const own = hostNeeds(vhost);
    for (const key of filterKeys) if (own[key]) needs[key] = true;
  }
  return needs;
}

const filterKeys = ["cors", "localRateLimit", "rbac", "cookieRewrite", "statefulSession"] as const;

// DAG nodes are never changed once built: a host met again (an incremental build keeps unchanged ones) needs what it needed.
const needsOfHost = new WeakMap<VirtualHost, FilterNeeds>();

function hostNeeds(vhost: VirtualHost): FilterNeeds {
  let needs = needsOfHost.get(vhost);
  if (!needs) needsOfHost.set(vhost, (needs = hostNeedsOf(vhost)));
  return needs;
}

function hostNeedsOf(vhost: VirtualHost): FilterNeeds {
  const needs: FilterNeeds = { cors: Boolean(vhost.cors), localRateLimit: Boolean(vhost.rateLimit), rbac: Boolean(vhost.ipFilter), cookieRewrite: false, statefulSession: false };
  for (const route of vhost.routes) {
    if (route.rateLimit) needs.localRateLimit = true;
    if (route.ipFilter) needs.rbac = true;
    if (hasCookieRewrites(route)) needs.cookieRewrite = true;
    if (route.cors) needs.cors = true;
    if (route.sessionPersistence) needs.statefulSession = true;
  }
  return needs;
}

const compressorLibraries: Record<Exclude<CompressionAlgorithm, "disabled">, string> = {
  gzip: "envoy.extensions.compression.gzip.compressor.v3.Gzip",
  brotli: "envoy.extensions.compression.brotli.compressor.v3.Brotli",
  zstd: "envoy.extensions.compression.zstd.compressor.v3.Zstd",
};

/** The compressor filter with the configured library and its defaults. */
function compressorFilter(algorithm: Exclude<CompressionAlgorithm, "disabled">): JsonObject {
  return {
    name: filterNames.compressor,
    typed_config: any("envoy.extensions.filters.http.compressor.v3.Compressor", {
      // No content types: Envoy's default list (text, JavaScript, JSON, XML, SVG) is what Contour
      // compresses, and CommonDirectionConfig.content_type is deprecated in Envoy 1.40 (its
      // replacement, content_type_matcher, is newer than our vendored protos).
      compressor_library: { name: algorithm, typed_config: any(compressorLibraries[algorithm]) },
    }),
  };
}

/** The ordered HTTP filters of a connection manager, router last. */
export function httpFilters(needs: FilterNeeds, compression: CompressionAlgorithm = "gzip"): JsonObject[] {
  const filters: JsonObject[] = [];
  if (compression !== "disabled") filters.push(compressorFilter(compression));
  filters.push({ name: filterNames.grpcWeb, typed_config: any("envoy.extensions.filters.http.grpc_web.v3.GrpcWeb") });
  if (needs.cors) filters.push({ name: filterNames.cors, typed_config: any("envoy.extensions.filters.http.cors.v3.Cors") });
  if (needs.localRateLimit) {
    // No token bucket here: the filter does nothing until a virtual host configures one.
    filters.push({
      name: filterNames.localRateLimit,
      typed_config: any("envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit", { stat_prefix: "http" }),
    });
  }
  if (needs.rbac) {
    // No rules here: every request passes unless a virtual host sets its own.
    filters.push({ name: filterNames.rbac, typed_config: any("envoy.extensions.filters.http.rbac.v3.RBAC") });
  }
  if (needs.cookieRewrite) {
    filters.push({
      name: filterNames.lua,
      typed_config: any("envoy.extensions.filters.http.lua.v3.Lua", { default_source_code: { inline_string: COOKIE_REWRITE_SCRIPT } }),
    });
  }
  if (needs.statefulSession) {
    // No session state here: the filter does nothing until a route configures its own.
    filters.push({ name: filterNames.statefulSession, typed_config: any("envoy.extensions.filters.http.stateful_session.v3.StatefulSession") });
  }
  filters.push({ name: filterNames.router, typed_config: any("envoy.extensions.filters.http.router.v3.Router") });
  return filters;
}

/** The typed_per_filter_config of a virtual host: its CORS, rate limit and IP filter settings. */
export function virtualHostFilterConfig(vhost: VirtualHost): JsonObject | undefined {
  const config: JsonObject = {};
  if (vhost.cors) config[filterNames.cors] = corsPolicy(vhost.cors);
  if (vhost.rateLimit) config[filterNames.localRateLimit] = localRateLimit(vhost.rateLimit, `vhost.${vhost.name}`);
  if (vhost.ipFilter) config[filterNames.rbac] = ipFilter(vhost.ipFilter);
  return Object.keys(config).length > 0 ? config : undefined;
}

/** The typed_per_filter_config of a route: its own rate limit, IP filter and CORS, over its host's; its session. */
export function routeFilterConfig(route: Route, vhostName: string): JsonObject | undefined {
  const config: JsonObject = {};
  if (route.cors) config[filterNames.cors] = corsPolicy(route.cors);
  if (route.sessionPersistence) config[filterNames.statefulSession] = statefulSession(route.sessionPersistence);
  if (route.rateLimit) config[filterNames.localRateLimit] = localRateLimit(route.rateLimit, `vhost.${vhostName}`);
  if (route.ipFilter) config[filterNames.rbac] = ipFilter(route.ipFilter);
  return Object.keys(config).length > 0 ? config : undefined;
}

/** A CORS policy for the cors filter (per virtual host), as Contour writes it. */
export function corsPolicy(cors: CorsPolicy): JsonObject {
  const policy: JsonObject = {
    allow_origin_string_match: cors.allowOrigin.map((origin, i) =>
      cors.allowOriginRegex?.[i] ? { safe_regex: { regex: origin } } : { exact: origin, ignore_case: true },
    ),
    allow_credentials: cors.allowCredentials,
  };
  if (cors.allowMethods.length > 0) policy.allow_methods = cors.allowMethods.join(",");
  if (cors.allowHeaders.length > 0) policy.allow_headers = cors.allowHeaders.join(",");
  if (cors.exposeHeaders.length > 0) policy.expose_headers = cors.exposeHeaders.join(",");
  if (cors.maxAge !== undefined) policy.max_age = cors.maxAge;
  if (cors.allowPrivateNetwork !== undefined) policy.allow_private_network_access = cors.allowPrivateNetwork;
  return any("envoy.extensions.filters.http.cors.v3.CorsPolicy", policy);
}

/**
 * A route's stateful session: Envoy writes the address of the endpoint that answered into the
 * cookie (a session cookie unless it has a ttl, then Max-Age) or the response header, and sends a
 * request that carries it to that endpoint while the route's cluster has it (not strict: else the
 * load balancer chooses, and a new session starts).
 */
function statefulSession(session: SessionPersistence): JsonObject {
  const state =
    session.kind === "cookie"
      ? {
          name: "envoy.http.stateful_session.cookie",
          typed_config: any("envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState", {
            cookie: { name: session.name, path: session.path, ...(session.ttlMs !== undefined ? { ttl: duration(session.ttlMs) } : {}) },
          }),
        }
      : { name: "envoy.http.stateful_session.header", typed_config: any("envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState", { name: session.name }) };
  return any("envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute", { stateful_session: { session_state: state } });
}

/** A local rate limit (per virtual host): enabled and enforced for every request it sees. */
export function localRateLimit(limit: LocalRateLimitPolicy, statPrefix: string): JsonObject {
  const always = (runtimeKey: string) => ({ default_value: { numerator: 100, denominator: "HUNDRED" }, runtime_key: runtimeKey });
  const config: JsonObject = {
    stat_prefix: statPrefix,
    token_bucket: {
      max_tokens: limit.maxTokens,
      tokens_per_fill: limit.tokensPerFill,
      fill_interval: duration(limit.fillIntervalMs),
    },
    filter_enabled: always("local_rate_limit_enabled"),
    filter_enforced: always("local_rate_limit_enforced"),
  };
  if (limit.responseStatusCode !== undefined) config.status = { code: enumName("envoy.type.v3.StatusCode", limit.responseStatusCode) };
  if (limit.responseHeaders?.length) {
    config.response_headers_to_add = [...limit.responseHeaders]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((h) => ({ header: { key: h.name, value: h.value }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }));
  }
  return any("envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit", config);
}

/** An IP allow or deny list (per virtual host) as an RBAC policy. */
export function ipFilter(filter: IpFilterPolicy): JsonObject {
  const principals: JsonObject[] = filter.rules.map((rule) => {
    const [address = "", length] = rule.cidr.split("/");
    // A bare address is a single host: an absent prefix_len would mean 0, which matches everyone.
    const range = { address_prefix: address, prefix_len: length !== undefined ? Number(length) : address.includes(":") ? 128 : 32 };
    return rule.remote ? { remote_ip: range } : { direct_remote_ip: range };
  });
  // Envoy wants at least one principal: an empty allow-list admits no one, an empty deny-list no one is refused.
  if (principals.length === 0) principals.push({ not_id: { any: true } });
  return any("envoy.extensions.filters.http.rbac.v3.RBACPerRoute", {
    rbac: {
      rules: {
        action: filter.allow ? "ALLOW" : "DENY",
        policies: { "ip-rules": { permissions: [{ any: true }], principals } },
      },
    },
  });
}
