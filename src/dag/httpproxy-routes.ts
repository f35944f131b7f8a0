// The routes of one HTTPProxy root: follows `includes` across namespaces (conditions concatenated
// down the chain), detects cycles, missing and root includes and duplicate include conditions, and
// turns each `routes[]` entry into a DAG Route, as Contour's computeRoutes does.
import type { KubeObject } from "../sources/types.ts";
import type { BuildContext } from "./processor.ts";
import type { ObjectRef } from "./status.ts";
import type { Route } from "./types.ts";
import { wildcardAuthorityMatch } from "./wildcard.ts";
import {
  emptyConditionProblem,
  headerConditionsProblem,
  includeConditionsKey,
  includeConditionsProblem,
  mergeHeaders,
  mergePath,
  mergeQueryParams,
  pathConditionsProblem,
  queryConditionsProblem,
} from "./httpproxy-conditions.ts";
import {
  cookieRewrites,
  directResponsePolicy,
  maxDirectResponseBodyBytes,
  headersPolicy,
  httpHealthCheck,
  internalRedirect,
  loadBalancing,
  redirectPolicy,
  retryPolicy,
  timeoutPolicy,
} from "./httpproxy-policies.ts";
import { routeHeadersProblems, routeServices } from "./httpproxy-route-services.ts";
import type { IncludeSpec, MatchConditionSpec, RouteSpec } from "./crd-types.ts";
import { ErrorType, addError, addWarning, proxyKey, proxyRef, quote, specOf } from "./httpproxy-spec.ts";
import { ipFilter, localRateLimit } from "./httpproxy-vhost-policies.ts";

const utf8 = new TextEncoder();

/** State shared by one processor run. */
export interface Walk {
  ctx: BuildContext;
  /** Every HTTPProxy by `namespace/name`. */
  proxies: Map<string, KubeObject>;
  /** Non-root proxies reached through an include from a processed root: not orphaned. */
  reached: Set<string>;
  /** Proxies that fail the CRD schema (`namespace/name`): never served. */
  schemaInvalid: Set<string>;
}

/** What the routes of a root inherit from its virtual host. */
export interface RootContext {
  /** Lower-cased fqdn; a `*.domain` wildcard adds a one-label :authority match to every route. */
  fqdn: string;
  /** The virtual host terminates TLS: plaintext routes redirect to https unless permitInsecure. */
  enforceTls: boolean;
}

const acmeChallenge = "/.well-known/acme-challenge";

/** The conditions of an include or route, and whether they are a list at all. */
function conditionsOf(item: IncludeSpec | RouteSpec): MatchConditionSpec[] {
  return item.conditions ?? [];
}

/** Routes of `proxy` and everything it includes, with `conditions` inherited from the includers (`visited`: their `namespace/name`). */
export function computeRoutes(walk: Walk, root: RootContext, proxy: KubeObject, conditions: MatchConditionSpec[], visited: string[]): Route[] {
  const { ctx } = walk;
  const ref = proxyRef(proxy);
  const key = proxyKey(ref.namespace, ref.name);
  if (visited.includes(key)) {
    addError(ctx, ref, ErrorType.include, "IncludeCreatesCycle", `include creates an include cycle: ${[...visited, key].join(" -> ")}`);
    return [];
  }
  const chain = [...visited, key];
  const spec = specOf(ctx, proxy);
  const routes: Route[] = [];
  const seenIncludes = new Set<string>();
  for (const include of spec.includes ?? []) {
    const namespace = include.namespace || ref.namespace;
    const name = include.name ?? "";
    const includeConds = conditionsOf(include);
    const pathProblem =
      emptyConditionProblem(includeConds, true) ?? includeConditionsProblem(includeConds) ?? pathConditionsProblem(includeConds, ctx.checkRegex.bind(ctx));
    if (pathProblem) {
      addError(ctx, ref, ErrorType.include, "PathMatchConditionsNotValid", `include: ${pathProblem}`);
      continue;
    }
    const headerProblem = headerConditionsProblem(includeConds, ctx.checkRegex.bind(ctx));
    if (headerProblem) {
      addError(ctx, ref, ErrorType.route, "HeaderMatchConditionsNotValid", headerProblem);
      continue;
    }
    const queryProblem = queryConditionsProblem(includeConds, ctx.checkRegex.bind(ctx));
    if (queryProblem) {
      addError(ctx, ref, ErrorType.route, "QueryParameterMatchConditionsNotValid", queryProblem);
      continue;
    }
    const condKey = includeConditionsKey(includeConds);
    if (condKey !== undefined) {
      if (seenIncludes.has(condKey)) {
        addError(ctx, ref, ErrorType.include, "DuplicateMatchConditions", "duplicate conditions defined on an include");
        continue;
      }
      seenIncludes.add(condKey);
    }
    const included = walk.proxies.get(proxyKey(namespace, name));
    if (!included) {
      addError(ctx, ref, ErrorType.include, "IncludeNotFound", `include ${namespace}/${name} not found`);
      routes.push(...badGateway([...conditions, ...includeConds], ref));
      continue;
    }
    if (specOf(ctx, included).virtualhost) {
      addError(ctx, ref, ErrorType.include, "RootIncludesRoot", `root httpproxy cannot include another root httpproxy (${namespace}/${name})`);
      routes.push(...badGateway([...conditions, ...includeConds], ref));
      continue;
    }
    walk.reached.add(proxyKey(namespace, name));
    if (walk.schemaInvalid.has(proxyKey(namespace, name))) {
      // Its error is its own (SpecNotValid); its traffic is answered 502, never left to a broader route.
      routes.push(...badGateway([...conditions, ...includeConds], ref));
      continue;
    }
    routes.push(...computeRoutes(walk, root, included, [...conditions, ...includeConds], chain));
  }
  const ownRoutes = spec.routes ?? [];
  for (const [i, route] of ownRoutes.entries()) {
    const built = buildRoute(walk, root, ref, route, conditions);
    if (built === undefined) {
      // Every route is dropped (as Contour); the header policy errors of the rest are still shown.
      for (const rest of ownRoutes.slice(i + 1)) for (const { type, reason, message } of routeHeadersProblems(rest, ref.namespace)) addError(walk.ctx, ref, type, reason, message);
      return [];
    }
    routes.push(...built);
  }
  return expandPrefixMatches(routes);
}

/** Contour answers 502 on the conditions of an include that leads nowhere. */
function badGateway(conds: MatchConditionSpec[], source: ObjectRef): Route[] {
  if (conds.length === 0) return [];
  return [{ ...matchOf(conds), clusters: [], mirrors: [], directResponse: { statusCode: 502 }, source }];
}

function matchOf(conds: MatchConditionSpec[]): Pick<Route, "pathMatch" | "headerMatches" | "queryParamMatches"> {
  return { pathMatch: mergePath(conds), headerMatches: mergeHeaders(conds), queryParamMatches: mergeQueryParams(conds) };
}

/** One `routes[]` entry, or undefined when an error drops every route of the proxy (as Contour). */
function buildRoute(walk: Walk, root: RootContext, ref: ObjectRef, route: RouteSpec, inherited: MatchConditionSpec[]): Route[] | undefined {
  const { ctx } = walk;
  const fail = (type: string, reason: string, message: string): undefined => {
    addError(ctx, ref, type, reason, message);
    return undefined;
  };
  const actions = ((route.services ?? []).length > 0 ? 1 : 0) + (route.requestRedirectPolicy ? 1 : 0) + (route.directResponsePolicy ? 1 : 0);
  if (actions !== 1) {
    return fail(ErrorType.route, "RouteActionCountNotValid", "must set exactly one of route.services or route.requestRedirectPolicy or route.directResponsePolicy");
  }
  const own = conditionsOf(route);
  const checkRegex = ctx.checkRegex.bind(ctx);
  const pathProblem = emptyConditionProblem(own, false) ?? pathConditionsProblem(own, checkRegex);
  if (pathProblem) return fail(ErrorType.route, "PathMatchConditionsNotValid", `route: ${pathProblem}`);
  const conds = [...inherited, ...own];
  const headerProblem = headerConditionsProblem(conds, checkRegex);
  if (headerProblem) return fail(ErrorType.route, "HeaderMatchConditionsNotValid", headerProblem);
  const queryProblem = queryConditionsProblem(conds, checkRegex);
  if (queryProblem) return fail(ErrorType.route, "QueryParameterMatchConditionsNotValid", queryProblem);
  const match = matchOf(conds);
  if (match.pathMatch.kind === "regex") {
    const problem = checkRegex(match.pathMatch.value);
    if (problem) return fail(ErrorType.route, "PathMatchConditionsNotValid", `route: supplied regex: ${match.pathMatch.value} invalid. error: ${problem}`);
  }
  const dynamic = { CONTOUR_NAMESPACE: ref.namespace };
  const reqHP = headersPolicy(route.requestHeadersPolicy, true, dynamic);
  const respHP = headersPolicy(route.responseHeadersPolicy, false, dynamic);
  const headerProblems = routeHeadersProblems(route, ref.namespace);
  if (headerProblems.length > 0 || "errors" in reqHP || "errors" in respHP) {
    for (const { type, reason, message } of headerProblems) addError(ctx, ref, type, reason, message);
    return undefined;
  }
  const cookies = cookieRewrites(route.cookieRewritePolicies);
  if ("error" in cookies) return fail(ErrorType.route, "CookieRewritePoliciesInvalid", `${cookies.error} on route cookie rewrite rules`);
  const timeouts = timeoutPolicy(route.timeoutPolicy);
  if ("error" in timeouts) return fail(ErrorType.route, "TimeoutPolicyNotValid", `route.timeoutPolicy failed to parse: ${timeouts.error}`);
  const rateLimit = localRateLimit(route.rateLimitPolicy);
  if ("error" in rateLimit) return fail(ErrorType.route, "RateLimitPolicyNotValid", `route.rateLimitPolicy is invalid: ${rateLimit.error}`);
  // No JWT providers can exist here (the virtual host refuses them): a route that requires one fails closed.
  const requiredJwt = route.jwtVerificationPolicy?.require ?? "";
  if (requiredJwt !== "") return fail("JWTVerificationError", "JWTProviderNotDefined", `Route references an undefined JWT provider ${quote(requiredJwt)}`);
  const lb = loadBalancing(route.loadBalancerPolicy);
  for (const warning of lb.warnings) addWarning(ctx, ref, ErrorType.spec, "IgnoredField", warning);
  const redirect = redirectPolicy(route.requestRedirectPolicy);
  if ("error" in redirect) return fail(ErrorType.route, "RequestRedirectPolicy", `route.requestRedirectPolicy is invalid: ${redirect.error}`);
  const direct = directResponsePolicy(route.directResponsePolicy);
  if (direct && (direct.statusCode < 200 || direct.statusCode > 599)) {
    return fail(ErrorType.route, "DirectResponsePolicyNotValid", `route.directResponsePolicy is invalid: statusCode ${direct.statusCode} must be between 200 and 599`);
  }
  // Envoy refuses a route config with a larger body (max_direct_response_body_size_bytes, 4096 by default).
  if (direct?.body !== undefined && utf8.encode(direct.body).length > maxDirectResponseBodyBytes) {
    return fail(ErrorType.route, "DirectResponsePolicyNotValid", `route.directResponsePolicy is invalid: body is longer than ${maxDirectResponseBodyBytes} bytes`);
  }
  const out: Route = { ...match, clusters: [], mirrors: [], source: ref };
  // disablePermitInsecure (Contour's configuration) makes every route of a TLS host redirect.
  const permitInsecure = route.permitInsecure === true && !ctx.options.disablePermitInsecure;
  const redirectsToHttps = root.enforceTls && !permitInsecure && !isAcmeChallenge(out);
  if (redirectsToHttps) out.httpsRedirect = true;
  if (route.enableWebsockets === true) out.websocket = true;
  if (timeouts.ok.route) out.timeout = timeouts.ok.route;
  const retry = retryPolicy(route.retryPolicy);
  if (retry) out.retry = retry;
  if (reqHP.ok) out.requestHeaders = reqHP.ok;
  if (respHP.ok) out.responseHeaders = respHP.ok;
  if (cookies.ok) out.cookieRewrites = cookies.ok;
  if (rateLimit.ok) out.rateLimit = rateLimit.ok;
  if (lb.requestHashPolicies) out.requestHashPolicies = lb.requestHashPolicies;
  if (lb.cookieHash) out.cookieHash = true;
  if (redirect.ok) out.redirect = redirect.ok;
  if (direct) out.directResponse = direct;
  const internal = internalRedirect(route.internalRedirectPolicy);
  if (internal) out.internalRedirect = internal;
  if (!applyPrefixReplacements(walk, ref, route, out)) return undefined;
  const health = httpHealthCheck(route.healthCheckPolicy);
  if ("error" in health) return fail(ErrorType.route, "HealthCheckPolicyInvalid", health.error);
  const services = routeServices(ctx, ref, route.services ?? [], {
    loadBalancer: lb.strategy,
    healthCheck: health.ok,
    idleTimeoutMs: timeouts.ok.idleConnectionMs,
    routeHostRewrite: reqHP.ok?.hostRewrite,
  });
  if (!services) return undefined;
  out.clusters = services.clusters;
  out.mirrors = services.mirrors;
  if (out.clusters.length === 0 && !out.redirect && !out.directResponse) out.directResponse = { statusCode: 503 };
  if (root.fqdn.startsWith("*.")) out.headerMatches = [...out.headerMatches, wildcardAuthorityMatch(root.fqdn)];
  const filter = ipFilter(route.ipAllowPolicy, route.ipDenyPolicy);
  if (filter.errors.length > 0) {
    for (const [reason, message] of filter.errors) addError(ctx, ref, ErrorType.ipFilter, reason, message);
    return undefined;
  }
  if (filter.filter) out.ipFilter = filter.filter;
  return [out];
}

function isAcmeChallenge(route: Route): boolean {
  return route.pathMatch.kind !== "regex" && route.pathMatch.value.startsWith(acmeChallenge);
}

/** pathRewritePolicy.replacePrefix: the replacement for the route's prefix, else the default one. */
function applyPrefixReplacements(walk: Walk, ref: ObjectRef, route: RouteSpec, out: Route): boolean {
  const replacements = route.pathRewritePolicy?.replacePrefix ?? [];
  if (replacements.length === 0) return true;
  if (out.pathMatch.kind !== "prefix") {
    addError(walk.ctx, ref, ErrorType.prefixReplace, "MustHavePrefix", "cannot specify prefix replacements without a prefix condition");
    return false;
  }
  const seen = new Set<string>();
  for (const r of replacements) {
    const replacement = r.replacement ?? "";
    if (!replacement.startsWith("/") || /[\r\n\0]/.test(replacement)) {
      addError(walk.ctx, ref, ErrorType.prefixReplace, "ReplacementNotValid", `replacement ${quote(replacement)} must begin with "/" and not contain CR, LF or NUL`);
      return false;
    }
    const prefix = r.prefix ?? "";
    if (seen.has(prefix)) {
      if (prefix !== "") addError(walk.ctx, ref, ErrorType.prefixReplace, "DuplicateReplacement", `duplicate replacement prefix '${prefix}'`);
      else addError(walk.ctx, ref, ErrorType.prefixReplace, "AmbiguousReplacement", "ambiguous prefix replacement");
      return false;
    }
    seen.add(prefix);
  }
  const routing = out.pathMatch.value;
  const chosen = replacements.find((r) => (r.prefix ?? "") !== "" && r.prefix === routing) ?? replacements.find((r) => (r.prefix ?? "") === "");
  if (chosen) out.pathRewrite = { prefixReplacement: chosen.replacement ?? "" };
  return true;
}

/**
 * Contour's expandPrefixMatches: a prefix rewrite on `/foo` alone would turn `/foo/v1` into `//v1`
 * with replacement `/`; so a lone rewritten prefix becomes two routes, `/foo` and `/foo/`.
 */
function expandPrefixMatches(routes: Route[]): Route[] {
  // Runs at every level of an include tree: without a prefix rewrite there is nothing to expand.
  if (!routes.some((route) => route.pathRewrite?.prefixReplacement !== undefined)) return routes;
  const trimmedPrefix = (route: Route): string | undefined =>
    route.pathMatch.kind !== "prefix" ? undefined : route.pathMatch.value === "/" ? "/" : route.pathMatch.value.replace(/\/+$/, "");
  const groupSizes = new Map<string, number>();
  for (const route of routes) {
    const prefix = trimmedPrefix(route);
    if (prefix !== undefined) groupSizes.set(prefix, (groupSizes.get(prefix) ?? 0) + 1);
  }
  const out: Route[] = [];
  for (const route of routes) {
    out.push(route);
    const prefix = trimmedPrefix(route);
    const rewrite = route.pathRewrite?.prefixReplacement;
    if (prefix === undefined || prefix === "/" || rewrite === undefined || groupSizes.get(prefix) !== 1) continue;
    const trimmed = rewrite.replace(/\/+$/, "");
    route.pathMatch = { kind: "prefix", value: prefix, segment: false };
    route.pathRewrite = { prefixReplacement: trimmed === "" ? "/" : trimmed };
    out.push({ ...route, pathMatch: { kind: "prefix", value: `${prefix}/`, segment: false }, pathRewrite: { prefixReplacement: `${trimmed}/` } });
  }
  return out;
}
