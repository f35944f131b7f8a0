// One HTTPRoute's rules as DAG routes: matches (path Exact, PathPrefix by segments,
// RegularExpression checked against RE2; headers, query parameters, method), filters
// (RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, URLRewrite, RequestMirror, CORS;
// the header modifiers per backend too), weighted backendRefs, timeouts and sessionPersistence;
// WebSocket upgrades where a backend's Service port has appProtocol kubernetes.io/ws.
// What a rule asks for that is not supported drops that rule (UnsupportedValue); a backend that
// does not resolve is a ResolvedRefs reason, and the share of requests its weight asks for
// answers 500, as does a rule left with no backend (the spec's rule).
import type { HTTPHeaderFilter, HTTPHeaderMatch, HTTPPathModifier, HTTPRoute, HTTPRouteFilter, HTTPRouteMatch, HTTPRouteRule } from "./gateway-api-types.ts";
import { backendCluster, type BackendScope } from "./gateway-refs.ts";
import { cookiePath, gatewayCorsPolicy, gatewayDuration, gatewaySessionPersistence } from "./gateway-route-policies.ts";
import type { BuildContext } from "./processor.ts";
import type { ObjectRef } from "./status.ts";
import type { HeaderMatch, HeadersPolicy, MirrorPolicy, PathMatch, QueryParamMatch, Redirect, Route, WeightedCluster } from "./types.ts";

/** The routes of one HTTPRoute, and what went wrong: Accepted's and ResolvedRefs' reasons. */
export interface HTTPRouteRoutes {
  routes: Route[];
  unsupported: string[];
  unresolved: Array<{ reason: string; message: string }>;
}

export type Action = Pick<
  Route,
  "clusters" | "invalidBackendWeight" | "mirrors" | "redirect" | "directResponse" | "requestHeaders" | "responseHeaders" | "pathRewrite" | "timeout" | "cors" | "sessionPersistence" | "websocket"
>;

export { gatewayDuration };

/** Builds the DAG routes of `route` (not yet attached to any virtual host). */
export function httpRouteRoutes(ctx: BuildContext, scope: BackendScope, route: HTTPRoute): HTTPRouteRoutes {
  const source: ObjectRef = { kind: "HTTPRoute", namespace: route.metadata.namespace ?? "", name: route.metadata.name };
  const out: HTTPRouteRoutes = { routes: [], unsupported: [], unresolved: [] };
  (route.spec.rules ?? []).forEach((rule, index) => {
    const problems: string[] = [];
    const action = ruleAction(ctx, scope, source, rule, { problems, out });
    if (rule.sessionPersistence) action.sessionPersistence = sessionPersistence(rule.sessionPersistence, `${source.namespace}/${source.name}/${rule.name ?? index}`, action, problems);
    const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
    const routes = matches.flatMap((match) => matchRoutes(ctx, match, action, source, problems));
    if (problems.length > 0) {
      out.unsupported.push(...problems.map((p) => `rule ${rule.name ?? index}: ${p}`));
      return;
    }
    out.routes.push(...routes);
  });
  return out;
}

const escapePercent = (value: string) => value.replaceAll("%", "%%");

function headersPolicy(filter: HTTPHeaderFilter | undefined): HeadersPolicy | undefined {
  if (!filter) return undefined;
  return {
    set: (filter.set ?? []).map(({ name, value }) => ({ name: name.toLowerCase(), value: escapePercent(value) })),
    add: (filter.add ?? []).map(({ name, value }) => ({ name: name.toLowerCase(), value: escapePercent(value) })),
    remove: (filter.remove ?? []).map((name) => name.toLowerCase()),
  };
}

/** A rule's filters, backends and timeouts as the action of its routes; `grpc`: backends are spoken to over HTTP/2. */
export function ruleAction(
  ctx: BuildContext,
  scope: BackendScope,
  source: ObjectRef,
  rule: Pick<HTTPRouteRule, "filters" | "backendRefs" | "timeouts">,
  report: { problems: string[]; out: HTTPRouteRoutes; grpc?: boolean },
): Action {
  const { problems, out } = report;
  const action: Action = { clusters: [], mirrors: [] };
  for (const filter of rule.filters ?? []) applyFilter(ctx, scope, source, filter, action, problems, out);
  const timeouts = rule.timeouts;
  if (timeouts) {
    const request = timeouts.request === undefined ? undefined : gatewayDuration(timeouts.request);
    const backend = timeouts.backendRequest === undefined ? undefined : gatewayDuration(timeouts.backendRequest);
    if ((timeouts.request !== undefined && request === undefined) || (timeouts.backendRequest !== undefined && backend === undefined)) problems.push("timeouts must be Gateway API durations such as 10s or 500ms");
    else if (request !== undefined && request !== 0 && backend !== undefined && (backend === 0 || backend > request)) problems.push("timeouts.backendRequest must not be longer than timeouts.request");
    // No retries: the one backend request is the whole request, so the shorter bound applies.
    else if (request !== undefined || backend !== undefined) action.timeout = { responseMs: backend ?? request };
  }
  if (action.redirect) return action;
  const weighted: Array<{ cluster?: WeightedCluster; weight: number }> = [];
  for (const ref of rule.backendRefs ?? []) {
    const weight = ref.weight ?? 1;
    const resolved = backendCluster(ctx, scope, source, ref, report.grpc ? "h2c" : undefined);
    if (!("ok" in resolved)) {
      if ("refused" in resolved) ctx.status.warning(source, backendTlsRefused(resolved.message));
      else out.unresolved.push({ reason: resolved.reason, message: resolved.message });
      weighted.push({ weight });
      continue;
    }
    const cluster: WeightedCluster = { cluster: resolved.ok, weight };
    // The spec's signal for WebSockets: a Service port with appProtocol kubernetes.io/ws.
    if (resolved.websocket && !report.grpc) action.websocket = true;
    for (const filter of ref.filters ?? []) {
      if (filter.type === "RequestHeaderModifier") cluster.requestHeaders = headersPolicy(filter.requestHeaderModifier);
      else if (filter.type === "ResponseHeaderModifier") cluster.responseHeaders = headersPolicy(filter.responseHeaderModifier);
      else problems.push(`backendRef filter ${filter.type} is not supported (RequestHeaderModifier and ResponseHeaderModifier are)`);
    }
    weighted.push({ cluster, weight });
  }
  const served = weighted.filter((w): w is { cluster: WeightedCluster; weight: number } => w.cluster !== undefined && w.weight > 0);
  // Nothing to send to (no backendRefs, all weights 0, or none resolves): the spec's 500.
  if (served.length === 0) action.directResponse = { statusCode: 500 };
  else {
    action.clusters = served.map((w) => w.cluster);
    const invalid = weighted.reduce((sum, w) => sum + (w.cluster ? 0 : w.weight), 0);
    if (invalid > 0) action.invalidBackendWeight = invalid;
  }
  return action;
}

function applyFilter(ctx: BuildContext, scope: BackendScope, source: ObjectRef, filter: HTTPRouteFilter, action: Action, problems: string[], out: HTTPRouteRoutes): void {
  switch (filter.type) {
    case "RequestHeaderModifier":
      action.requestHeaders = { ...headersPolicy(filter.requestHeaderModifier)!, ...(action.requestHeaders?.hostRewrite ? { hostRewrite: action.requestHeaders.hostRewrite } : {}) };
      return;
    case "ResponseHeaderModifier":
      action.responseHeaders = headersPolicy(filter.responseHeaderModifier);
      return;
    case "RequestRedirect": {
      const spec = filter.requestRedirect ?? {};
      const statusCode = spec.statusCode ?? 302;
      if (![301, 302, 303, 307, 308].includes(statusCode)) problems.push(`redirect status code ${statusCode} is not supported`);
      const redirect: Redirect = { statusCode: statusCode as Redirect["statusCode"] };
      if (spec.scheme === "http" || spec.scheme === "https") redirect.scheme = spec.scheme;
      else if (spec.scheme !== undefined) problems.push(`redirect scheme ${spec.scheme} is not supported`);
      if (spec.hostname) redirect.hostname = spec.hostname;
      if (spec.port !== undefined) redirect.port = spec.port;
      if (spec.path) pathModifier(spec.path, problems, (full) => (redirect.path = full), (prefix) => (redirect.prefix = prefix));
      action.redirect = redirect;
      return;
    }
    case "URLRewrite": {
      const spec = filter.urlRewrite ?? {};
      if (spec.hostname) action.requestHeaders = { ...(action.requestHeaders ?? { set: [], add: [], remove: [] }), hostRewrite: spec.hostname };
      if (spec.path) pathModifier(spec.path, problems, (full) => (action.pathRewrite = { fullReplacement: full }), (prefix) => (action.pathRewrite = { prefixReplacement: prefix }));
      return;
    }
    case "CORS":
      action.cors = gatewayCorsPolicy(ctx, filter.cors ?? {}, problems);
      return;
    case "RequestMirror": {
      const spec = filter.requestMirror;
      if (!spec) return;
      const resolved = backendCluster(ctx, scope, source, spec.backendRef);
      if (!("ok" in resolved)) {
        if ("refused" in resolved) ctx.status.warning(source, backendTlsRefused(`RequestMirror: ${resolved.message}`));
        else out.unresolved.push({ reason: resolved.reason, message: `RequestMirror ${resolved.message}` });
        return;
      }
      const fraction = spec.fraction ? (100 * spec.fraction.numerator) / (spec.fraction.denominator ?? 100) : undefined;
      const mirror: MirrorPolicy = { cluster: resolved.ok, weightPercent: spec.percent ?? fraction ?? 100 };
      action.mirrors.push(mirror);
      return;
    }
    default:
      problems.push(`filter ${filter.type} is not supported`);
  }
}

/**
 * Envoy keeps a session on an endpoint of the cluster the route chose; between several weighted
 * backendRefs it chooses by weight first, so a session could not hold across them.
 */
function sessionPersistence(spec: NonNullable<HTTPRouteRule["sessionPersistence"]>, rule: string, action: Action, problems: string[]): Route["sessionPersistence"] {
  const session = gatewaySessionPersistence(spec, rule, problems);
  if (session && (action.clusters.length > 1 || action.invalidBackendWeight)) {
    problems.push("sessionPersistence with several backendRefs is not supported: Envoy picks a backend by weight before it looks at the session");
  }
  return session;
}

/** A backend a BackendTLSPolicy forbids to reach (the policy's own status says why): a warning on the route. */
const backendTlsRefused = (message: string) => ({ type: "RouteError", reason: "BackendTLSPolicyNotApplied", message });

function pathModifier(modifier: HTTPPathModifier, problems: string[], full: (path: string) => void, prefix: (path: string) => void): void {
  if (modifier.type === "ReplaceFullPath" && modifier.replaceFullPath !== undefined) full(modifier.replaceFullPath);
  else if (modifier.type === "ReplacePrefixMatch" && modifier.replacePrefixMatch !== undefined) prefix(modifier.replacePrefixMatch);
  else problems.push(`path modifier ${modifier.type} needs its value`);
}

/** The DAG routes of one match: one, or two where a prefix replacement must keep segments apart. */
function matchRoutes(ctx: BuildContext, match: HTTPRouteMatch, action: Action, source: ObjectRef, problems: string[]): Route[] {
  const pathMatch = pathOf(ctx, match, problems);
  const headerMatches = headerMatchesOf(ctx, match.headers, problems);
  if (match.method) headerMatches.push({ name: ":method", match: { kind: "exact", value: match.method } });
  const queryParamMatches: QueryParamMatch[] = [];
  const seenQuery = new Set<string>();
  for (const query of match.queryParams ?? []) {
    if (seenQuery.has(query.name)) continue;
    seenQuery.add(query.name);
    queryParamMatches.push({ name: query.name, match: stringMatch(ctx, query.type, query.value, problems) });
  }
  const route: Route = { pathMatch, headerMatches, queryParamMatches, ...action, mirrors: [...action.mirrors], source };
  if (route.sessionPersistence?.kind === "cookie") route.sessionPersistence = { ...route.sessionPersistence, path: cookiePath(pathMatch) };
  const replacement = action.pathRewrite?.prefixReplacement ?? action.redirect?.prefix;
  if (replacement === undefined) return [route];
  if (pathMatch.kind !== "prefix") {
    problems.push("ReplacePrefixMatch needs a PathPrefix match");
    return [];
  }
  return prefixReplacementRoutes(route, pathMatch.value, replacement);
}

/**
 * Envoy replaces the matched prefix as text: `/foo` → `/` would turn `/foo/bar` into `//bar`. The
 * spec replaces whole segments, so the prefix is matched twice: `/foo` exactly, and `/foo/` as a
 * prefix replaced by the replacement with one trailing slash.
 */
function prefixReplacementRoutes(route: Route, prefix: string, replacement: string): Route[] {
  const withSlash = replacement.endsWith("/") ? replacement : `${replacement}/`;
  const replaced = (r: Route, value: string): Route =>
    r.redirect ? { ...r, redirect: { ...r.redirect, prefix: value } } : { ...r, pathRewrite: { prefixReplacement: value } };
  if (prefix === "/" || prefix.endsWith("/")) return [replaced({ ...route, pathMatch: { kind: "prefix", value: prefix, segment: false } }, withSlash)];
  return [replaced({ ...route, pathMatch: { kind: "exact", value: prefix } }, replacement), replaced({ ...route, pathMatch: { kind: "prefix", value: `${prefix}/`, segment: false } }, withSlash)];
}

/** Header matches; of two with one name (case-insensitive), the first wins, as the spec says. */
export function headerMatchesOf(ctx: BuildContext, headers: HTTPHeaderMatch[] | undefined, problems: string[]): HeaderMatch[] {
  const matches: HeaderMatch[] = [];
  const seen = new Set<string>();
  for (const header of headers ?? []) {
    const name = header.name.toLowerCase();
    if (seen.has(name)) continue;
    seen.add(name);
    matches.push({ name, match: stringMatch(ctx, header.type, header.value, problems) });
  }
  return matches;
}

function pathOf(ctx: BuildContext, match: HTTPRouteMatch, problems: string[]): PathMatch {
  const type = match.path?.type ?? "PathPrefix";
  const value = match.path?.value ?? "/";
  if (type === "Exact") return { kind: "exact", value };
  if (type === "RegularExpression") {
    const problem = ctx.checkRegex(value);
    if (problem) problems.push(`path regular expression ${JSON.stringify(value)}: ${problem}`);
    return { kind: "regex", value };
  }
  // PathPrefix: a trailing slash is ignored, `/foo` matches `/foo` and `/foo/…` only.
  const trimmed = value.length > 1 && value.endsWith("/") ? value.slice(0, -1) : value;
  return { kind: "prefix", value: trimmed, segment: true };
}

function stringMatch(ctx: BuildContext, type: string | undefined, value: string, problems: string[]): { kind: "exact"; value: string } | { kind: "regex"; value: string } {
  if ((type ?? "Exact") === "Exact") return { kind: "exact", value };
  const problem = ctx.checkRegex(value);
  if (problem) problems.push(`regular expression ${JSON.stringify(value)}: ${problem}`);
  return { kind: "regex", value };
}
