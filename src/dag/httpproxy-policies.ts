// HTTPProxy route and service policies read into DAG form, with Contour's validation and error
// wording: header policies (names validated, values `%`-escaped), cookie rewrites, timeouts,
// retries, load balancing, health checks, redirects, direct and internal-redirect responses.
// Each returns the value or an error string; the caller records it with Contour's reason.
import type {
  CookieRewritePolicy,
  DirectResponse,
  HeadersPolicy,
  HealthCheckPolicy,
  InternalRedirectPolicy,
  LoadBalancerStrategy,
  Redirect,
  RequestHashPolicy,
  RetryPolicy,
  TcpHealthCheckPolicy,
  TimeoutPolicy,
} from "./types.ts";
import type {
  CookieRewritePolicySpec,
  DirectResponsePolicySpec,
  HeadersPolicySpec,
  HttpHealthCheckPolicySpec,
  InternalRedirectPolicySpec,
  LoadBalancerPolicySpec,
  RequestRedirectPolicySpec,
  RetryPolicySpec,
  TcpHealthCheckPolicySpec,
  TimeoutPolicySpec,
} from "./crd-types.ts";
import { canonicalHeaderKey, headerNameProblem, parseGoDuration, parseTimeout, quote } from "./httpproxy-spec.ts";

export type Result<T> = { ok: T } | { error: string };

/** Envoy variables a header value may use; every other `%` is escaped so it reaches Envoy as data. */
const envoyVariables = [
  "DOWNSTREAM_REMOTE_ADDRESS",
  "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT",
  "DOWNSTREAM_LOCAL_ADDRESS",
  "DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT",
  "DOWNSTREAM_LOCAL_PORT",
  "DOWNSTREAM_LOCAL_URI_SAN",
  "DOWNSTREAM_PEER_URI_SAN",
  "DOWNSTREAM_LOCAL_SUBJECT",
  "DOWNSTREAM_PEER_SUBJECT",
  "DOWNSTREAM_PEER_ISSUER",
  "DOWNSTREAM_TLS_SESSION_ID",
  "DOWNSTREAM_TLS_CIPHER",
  "DOWNSTREAM_TLS_VERSION",
  "DOWNSTREAM_PEER_FINGERPRINT_256",
  "DOWNSTREAM_PEER_FINGERPRINT_1",
  "DOWNSTREAM_PEER_SERIAL",
  "DOWNSTREAM_PEER_CERT",
  "DOWNSTREAM_PEER_CERT_V_START",
  "DOWNSTREAM_PEER_CERT_V_END",
  "HOSTNAME",
  "PROTOCOL",
  "UPSTREAM_REMOTE_ADDRESS",
  "RESPONSE_FLAGS",
  "RESPONSE_CODE_DETAILS",
];

/**
 * Escapes `%` in a header value (Envoy reads `%VAR%` as a command) except for Contour's dynamic
 * headers (replaced by their value), a fixed list of Envoy variables and `%REQ(header)%`.
 */
export function escapeHeaderValue(value: string, dynamic: Record<string, string>): string {
  if (!value.includes("%")) return value;
  let escaped = value.replaceAll("%", "%%");
  for (const [name, replacement] of Object.entries(dynamic)) {
    escaped = escaped.replaceAll(`%%${name}%%`, replacement.replaceAll("%", "%%"));
  }
  for (const name of envoyVariables) escaped = escaped.replaceAll(`%%${name}%%`, `%${name}%`);
  return escaped.replace(/%(%REQ\(:?[\w-]+(\?:?[\w-]+)?\)(:\d+)?%)%/g, "$1");
}

// Envoy rejects header values with these; refuse them here with a message rather than a NACK.
const badHeaderValue = /[\r\n\0]/;
/** Envoy's HeaderValue.value limit. */
const maxHeaderValueBytes = 16384;
const headerBytes = new TextEncoder();

/**
 * Contour's headersPolicy: set (Host only where allowed, as a host rewrite) and remove. Every problem
 * is reported, not only the first, so one look at the status shows all there is to fix.
 */
export function headersPolicy(policy: HeadersPolicySpec | undefined, allowHostRewrite: boolean, dynamic: Record<string, string>): HeadersPolicyResult {
  const p = policy;
  if (!p) return { ok: undefined };
  const errors: string[] = [];
  const set = new Map<string, string>();
  let hostRewrite: string | undefined;
  for (const entry of p.set ?? []) {
    const key = canonicalHeaderKey(entry.name ?? "");
    const problem = setHeaderProblem(key, entry.value ?? "", { allowHostRewrite, seen: set.has(key) || (key === "Host" && hostRewrite !== undefined) });
    if (problem) {
      errors.push(problem);
      continue;
    }
    if (key === "Host") {
      hostRewrite = entry.value ?? "";
      continue;
    }
    const escaped = escapeHeaderValue(entry.value ?? "", dynamic);
    if (headerBytes.encode(escaped).length > maxHeaderValueBytes) errors.push(`set header value for ${quote(key)} is longer than ${maxHeaderValueBytes} bytes`);
    else set.set(key, escaped);
  }
  const remove = new Set<string>();
  for (const entry of p.remove ?? []) {
    const key = canonicalHeaderKey(entry);
    // Envoy refuses a route that removes Host (its HeaderParser), so the whole config would be NACKed.
    const problem = remove.has(key)
      ? `duplicate header removal: ${quote(key)}`
      : key === "Host"
        ? `removing ${quote(key)} header is not supported`
        : headerNameProblem(key) && `invalid remove header ${quote(key)}: ${headerNameProblem(key)}`;
    if (problem) errors.push(problem);
    else remove.add(key);
  }
  if (errors.length > 0) return { errors };
  const result: HeadersPolicy = {
    set: [...set].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, value]) => ({ name, value })),
    add: [],
    remove: [...remove].sort(),
  };
  if (hostRewrite !== undefined) result.hostRewrite = hostRewrite;
  return { ok: result };
}

export type HeadersPolicyResult = { ok: HeadersPolicy | undefined } | { errors: string[] };

/** Every error of a request and a response headers policy, as conditions (Contour's reasons; the response one differs between routes and services). */
export function headersPolicyProblems(request: HeadersPolicyResult, response: HeadersPolicyResult, responseReason: string): Array<{ reason: string; message: string }> {
  return [
    ...("errors" in request ? request.errors.map((error) => ({ reason: "RequestHeadersPolicyInvalid", message: `${error} on request headers` })) : []),
    ...("errors" in response ? response.errors.map((error) => ({ reason: responseReason, message: `${error} on response headers` })) : []),
  ];
}

/** Why one `set` entry is refused, or undefined. */
function setHeaderProblem(key: string, value: string, options: { allowHostRewrite: boolean; seen: boolean }): string | undefined {
  if (options.seen) return `duplicate header addition: ${quote(key)}`;
  if (badHeaderValue.test(value)) return `invalid set header value for ${quote(key)}: must not contain CR, LF or NUL`;
  if (key === "Host") {
    if (!options.allowHostRewrite) return `rewriting ${quote(key)} header is not supported`;
    // The rewritten host is also the SNI of TLS upstreams, which TLS caps at 255 bytes.
    if (headerBytes.encode(value).length > 255) return `rewriting ${quote(key)} header to a value longer than 255 bytes is not supported`;
    return undefined;
  }
  const problem = headerNameProblem(key);
  return problem && `invalid set header ${quote(key)}: ${problem}`;
}

const cookieName = /^[^()<>@,;:\\"/[\]?={} \t\x7f\x00-\x1f]+$/;
const cookiePath = /^[^;\x7f\x00-\x1f]+$/;
const cookieDomain = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/;

/** Contour's cookieRewritePolicies; names and values are checked against the CRD's patterns and passed as data. */
export function cookieRewrites(policies: CookieRewritePolicySpec[] | undefined): Result<CookieRewritePolicy[] | undefined> {
  const out: CookieRewritePolicy[] = [];
  const names = new Set<string>();
  for (const p of policies ?? []) {
    const name = p.name ?? "";
    if (names.has(name)) return { error: `duplicate cookie rewrite rule for cookie ${quote(name)}` };
    names.add(name);
    if (!cookieName.test(name)) return { error: `invalid cookie name ${quote(name)}` };
    const policy: CookieRewritePolicy = { name };
    const pathRewrite = p.pathRewrite;
    if (pathRewrite) {
      const value = pathRewrite.value ?? "";
      if (!cookiePath.test(value)) return { error: `invalid path rewrite ${quote(value)} for cookie ${quote(name)}` };
      policy.pathRewrite = value;
    }
    const domainRewrite = p.domainRewrite;
    if (domainRewrite) {
      const value = domainRewrite.value ?? "";
      if (!cookieDomain.test(value)) return { error: `invalid domain rewrite ${quote(value)} for cookie ${quote(name)}` };
      policy.domainRewrite = value;
    }
    if (typeof p.secure === "boolean") policy.secure = p.secure;
    const sameSite = p.sameSite ?? "";
    if (sameSite === "Strict" || sameSite === "Lax" || sameSite === "None") policy.sameSite = sameSite;
    else if (p.sameSite !== undefined) return { error: `invalid sameSite ${quote(sameSite)} for cookie ${quote(name)}` };
    if (Object.keys(policy).length === 1) return { error: `no attributes rewritten for cookie ${quote(name)}` };
    out.push(policy);
  }
  return { ok: out.length > 0 ? out : undefined };
}

/** Contour's timeoutPolicy: response and idle on the route, idleConnection on the cluster. */
export function timeoutPolicy(policy: TimeoutPolicySpec | undefined): Result<{ route?: TimeoutPolicy; idleConnectionMs?: number }> {
  const p = policy;
  if (!p) return { ok: {} };
  const fields = [
    ["response", "response"],
    ["idle", "idle"],
    ["idleConnection", "idle connection"],
  ] as const;
  const parsed: Array<number | undefined> = [];
  for (const [field, label] of fields) {
    const setting = parseTimeout(p[field] ?? "");
    if (typeof setting === "string") return { error: `error parsing ${label} timeout: ${setting}` };
    parsed.push(setting.kind === "default" ? undefined : setting.kind === "disabled" ? 0 : setting.ms);
  }
  const [responseMs, idleMs, idleConnectionMs] = parsed;
  const route: TimeoutPolicy = {};
  if (responseMs !== undefined) route.responseMs = responseMs;
  if (idleMs !== undefined) route.idleMs = idleMs;
  const out: { route?: TimeoutPolicy; idleConnectionMs?: number } = {};
  if (Object.keys(route).length > 0) out.route = route;
  if (idleConnectionMs !== undefined) out.idleConnectionMs = idleConnectionMs;
  return { ok: out };
}

/** Contour's retryPolicy: count -1 → 0, 0/absent → 1; an unparsable perTryTimeout keeps Envoy's default. */
export function retryPolicy(policy: RetryPolicySpec | undefined): RetryPolicy | undefined {
  const p = policy;
  if (!p) return undefined;
  const count = p.count ?? 0;
  const retryOn = [...(p.retryOn ?? [])];
  const out: RetryPolicy = { retryOn: retryOn.length > 0 ? retryOn : ["5xx"], numRetries: count === -1 ? 0 : count <= 0 ? 1 : Math.floor(count) };
  const perTry = parseGoDuration(p.perTryTimeout ?? "");
  if (typeof perTry === "number" && perTry > 0) out.perTryTimeoutMs = perTry;
  const codes = [...(p.retriableStatusCodes ?? [])];
  if (codes.length > 0) out.retriableStatusCodes = codes;
  return out;
}

export interface LoadBalancing {
  strategy: LoadBalancerStrategy;
  requestHashPolicies?: RequestHashPolicy[];
  cookieHash?: boolean;
  /** Contour's IgnoredField warnings (SpecError). */
  warnings: string[];
}

/** The strategy named, or RoundRobin for none or an unknown one (Contour's loadBalancerPolicy). */
export function lbStrategy(policy: LoadBalancerPolicySpec | undefined): LoadBalancerStrategy {
  const strategy = policy?.strategy ?? "";
  return strategy === "WeightedLeastRequest" || strategy === "Random" || strategy === "Cookie" || strategy === "RequestHash" ? strategy : "RoundRobin";
}

/** Contour's loadBalancerRequestHashPolicies: invalid hash policies are ignored with a warning. */
export function loadBalancing(policy: LoadBalancerPolicySpec | undefined): LoadBalancing {
  const strategy = lbStrategy(policy);
  if (strategy === "Cookie") return { strategy, cookieHash: true, warnings: [] };
  if (strategy !== "RequestHash") return { strategy, warnings: [] };
  const warnings: string[] = [];
  const hashes: RequestHashPolicy[] = [];
  const headers = new Set<string>();
  const params = new Set<string>();
  let sourceIp = false;
  for (const hp of policy?.requestHashPolicies ?? []) {
    const headerOptions = hp.headerHashOptions;
    const queryOptions = hp.queryParameterHashOptions;
    const set = (hp.hashSourceIP === true ? 1 : 0) + (headerOptions ? 1 : 0) + (queryOptions ? 1 : 0);
    if (set !== 1) {
      warnings.push("ignoring invalid request hash policy, must set exactly one of hashSourceIP or headerHashOptions or queryParameterHashOptions");
      continue;
    }
    const hash: RequestHashPolicy = {};
    if (hp.terminal === true) hash.terminal = true;
    if (hp.hashSourceIP === true) {
      if (sourceIp) {
        warnings.push("ignoring invalid request hash policy, hashSourceIP specified multiple times");
        continue;
      }
      sourceIp = true;
      hash.hashSourceIP = true;
    }
    if (headerOptions) {
      const name = canonicalHeaderKey(headerOptions.headerName ?? "");
      const problem = headerNameProblem(name);
      if (problem) {
        warnings.push(`ignoring invalid header hash policy options with invalid header name ${quote(name)}: ${problem}`);
        continue;
      }
      if (headers.has(name)) {
        warnings.push(`ignoring invalid header hash policy options with duplicated header name ${name}`);
        continue;
      }
      headers.add(name);
      hash.headerName = name;
    }
    if (queryOptions) {
      const name = (queryOptions.parameterName ?? "").toLowerCase();
      if (name === "") {
        warnings.push("ignoring invalid query parameter hash policy options with an invalid empty query parameter name");
        continue;
      }
      if (params.has(name)) {
        warnings.push(`ignoring invalid query parameter hash policy options with duplicated query parameter name ${name}`);
        continue;
      }
      params.add(name);
      hash.queryParameterName = name;
    }
    hashes.push(hash);
  }
  if (hashes.length === 0) {
    warnings.push("ignoring invalid request hash policy options, setting load balancer strategy to default RoundRobin");
    return { strategy: "RoundRobin", warnings };
  }
  return { strategy, requestHashPolicies: hashes, warnings };
}

/** Contour's defaults for health checks: 5 s interval, 2 s timeout, 3 unhealthy, 2 healthy. */
const positiveOr = (value: number | undefined, fallback: number): number => (value !== undefined && value > 0 ? value : fallback);

function counts(p: TcpHealthCheckPolicySpec): Omit<TcpHealthCheckPolicy, never> {
  return {
    intervalSeconds: positiveOr(p.intervalSeconds, 5),
    timeoutSeconds: positiveOr(p.timeoutSeconds, 2),
    unhealthyThresholdCount: positiveOr(p.unhealthyThresholdCount, 3),
    healthyThresholdCount: positiveOr(p.healthyThresholdCount, 2),
  };
}

export function httpHealthCheck(policy: HttpHealthCheckPolicySpec | undefined): Result<HealthCheckPolicy | undefined> {
  const p = policy;
  if (!p) return { ok: undefined };
  const path = p.path ?? "";
  if (path === "" || /[\r\n\0]/.test(path)) return { error: `invalid health check path ${quote(path)}` };
  const out: HealthCheckPolicy = { path, ...counts(p) };
  const host = p.host ?? "";
  if (host !== "") out.host = host;
  const ranges: Array<{ start: number; end: number }> = [];
  for (const r of p.expectedStatuses ?? []) {
    const start = r.start ?? 0;
    const end = r.end ?? 0;
    if (start < 100 || start >= 600 || end <= start || end > 600) {
      return { error: `invalid expected status range [${start}, ${end}): must be within [100, 600) with end greater than start` };
    }
    ranges.push({ start, end });
  }
  if (ranges.length > 0) out.expectedStatuses = ranges;
  return { ok: out };
}

export function tcpHealthCheck(policy: TcpHealthCheckPolicySpec | undefined): TcpHealthCheckPolicy | undefined {
  const p = policy;
  return p ? counts(p) : undefined;
}

const redirectCodes: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Contour's redirectRoutePolicy (302 is the CRD default status). */
export function redirectPolicy(policy: RequestRedirectPolicySpec | undefined): Result<Redirect | undefined> {
  const p = policy;
  if (!p) return { ok: undefined };
  if (p.path !== undefined && p.prefix !== undefined) return { error: "cannot specify both redirect path and redirect prefix" };
  // What Contour's CRD patterns refuse and Envoy would reject (the values become response headers).
  if (badHeaderValue.test(p.hostname ?? "")) return { error: `hostname ${quote(p.hostname ?? "")} must not contain CR, LF or NUL` };
  for (const field of ["path", "prefix"] as const) {
    if (p[field] === undefined) continue;
    const value = p[field] ?? "";
    if (!value.startsWith("/") || badHeaderValue.test(value)) return { error: `${field} ${quote(value)} must begin with "/" and not contain CR, LF or NUL` };
  }
  const status = p.statusCode ?? 0;
  const out: Redirect = { statusCode: redirectCodes.has(status) ? (status as Redirect["statusCode"]) : 302 };
  const scheme = p.scheme ?? "";
  if (scheme === "http" || scheme === "https") out.scheme = scheme;
  if ((p.hostname ?? "") !== "") out.hostname = p.hostname ?? "";
  if (p.port !== undefined && p.port !== 0) {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) return { error: `port ${p.port} must be in the range 1-65535` };
    out.port = p.port;
  }
  if (p.path !== undefined) out.path = p.path ?? "";
  if (p.prefix !== undefined) out.prefix = p.prefix ?? "";
  return { ok: out };
}

/** Envoy's default max_direct_response_body_size_bytes: a larger body makes it reject the route config. */
export const maxDirectResponseBodyBytes = 4096;

export function directResponsePolicy(policy: DirectResponsePolicySpec | undefined): DirectResponse | undefined {
  const p = policy;
  if (!p) return undefined;
  const out: DirectResponse = { statusCode: p.statusCode ?? 0 };
  if (typeof p.body === "string" && p.body !== "") out.body = p.body;
  return out;
}

export function internalRedirect(policy: InternalRedirectPolicySpec | undefined): InternalRedirectPolicy | undefined {
  const p = policy;
  if (!p) return undefined;
  const cross = p.allowCrossSchemeRedirect ?? "";
  const out: InternalRedirectPolicy = {
    redirectResponseCodes: [...(p.redirectResponseCodes ?? [])],
    allowCrossSchemeRedirect: cross === "Always" || cross === "SafeOnly" ? cross : "Never",
  };
  if ((p.maxInternalRedirects ?? 0) > 0) out.maxInternalRedirects = p.maxInternalRedirects ?? 0;
  if (p.denyRepeatedRouteRedirect === true) out.denyRepeatedRouteRedirect = true;
  return out;
}
