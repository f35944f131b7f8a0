// Route matches (path, headers, query parameters) and the order of routes within a virtual host.
// Envoy takes the first route that matches, so the order is the routing: Contour's sortRoutes —
// exact paths, then regexes, then prefixes; longer values first; more conditions first.
import type { HeaderMatch, PathMatch, QueryParamMatch, Route } from "../dag/types.ts";
import { refKey } from "../dag/status.ts";
import { compareStrings, type JsonObject } from "./common.ts";

/** The RouteMatch of a DAG route. */
export function routeMatch(route: Route): JsonObject {
  const headers = sortedHeaderMatches(route.headerMatches);
  const queries = sortedQueryMatches(route.queryParamMatches);
  const path = route.pathMatch;
  if (headers.length === 0 && queries.length === 0 && path.kind === "prefix" && path.value === "/") return matchEverything;
  const match = pathMatch(path);
  if (headers.length > 0) match.headers = headers.map(headerMatcher);
  if (queries.length > 0) match.query_parameters = queries.map(queryParameterMatcher);
  return match;
}

/** The match of a route on `/` and nothing else (most hosts' only route): one frozen object shared by all (150k at 100k hosts). */
const matchEverything: JsonObject = Object.freeze({ prefix: "/" });

/** The path part of a RouteMatch. A segment prefix with no trailing slash matches by segments. */
export function pathMatch(path: PathMatch): JsonObject {
  switch (path.kind) {
    case "exact":
      return { path: path.value };
    case "regex":
      return { safe_regex: { regex: path.value } };
    case "prefix":
      if (path.segment && !path.value.endsWith("/")) return { path_separated_prefix: path.value };
      return { prefix: path.value };
  }
}

/** A HeaderMatcher. "notpresent" is a present match inverted, as Contour writes it. */
export function headerMatcher(header: HeaderMatch): JsonObject {
  const matcher: JsonObject = { name: header.name };
  const match = header.match;
  switch (match.kind) {
    case "present":
    case "notpresent":
      matcher.present_match = true;
      break;
    case "exact":
      matcher.string_match = withIgnoreCase({ exact: match.value }, match.ignoreCase);
      break;
    case "contains":
      matcher.string_match = withIgnoreCase({ contains: match.value }, match.ignoreCase);
      break;
    case "regex":
      matcher.string_match = { safe_regex: { regex: match.value } };
      break;
  }
  if ((match.kind === "notpresent") !== Boolean(header.invert)) matcher.invert_match = true;
  if (header.treatMissingAsEmpty) matcher.treat_missing_header_as_empty = true;
  return matcher;
}

/** A QueryParameterMatcher. */
export function queryParameterMatcher(query: QueryParamMatch): JsonObject {
  const match = query.match;
  switch (match.kind) {
    case "present":
      return { name: query.name, present_match: true };
    case "regex":
      return { name: query.name, string_match: { safe_regex: { regex: match.value } } };
    default:
      return { name: query.name, string_match: withIgnoreCase({ [match.kind]: match.value }, match.ignoreCase) };
  }
}

function withIgnoreCase(matcher: JsonObject, ignoreCase: boolean | undefined): JsonObject {
  if (ignoreCase) matcher.ignore_case = true;
  return matcher;
}

const pathRank: Record<PathMatch["kind"], number> = { exact: 0, regex: 1, prefix: 2 };

/** Header conditions in a stable order: by name, then by the rest of the condition. */
function sortedHeaderMatches(headers: HeaderMatch[]): readonly HeaderMatch[] {
  // Most routes have no conditions: nothing to copy or sort (the callers only read the list).
  if (headers.length < 2) return headers;
  return [...headers].sort((a, b) => compareStrings(a.name, b.name) || compareStrings(JSON.stringify(a), JSON.stringify(b)));
}

function sortedQueryMatches(queries: QueryParamMatch[]): readonly QueryParamMatch[] {
  if (queries.length < 2) return queries;
  return [...queries].sort((a, b) => compareStrings(a.name, b.name) || compareStrings(JSON.stringify(a), JSON.stringify(b)));
}

/**
 * Orders two routes, most specific first: by path kind (exact, regex, prefix), longer value first,
 * equal length in reverse code-point order (as Contour), a segment prefix before a string prefix of
 * the same value, then more header conditions, then more query conditions. Ties fall back to the
 * conditions' text, the routes' precedence (the older Gateway API route first) and the source
 * object, so the order never depends on input order. Two Gateway API routes follow the spec instead.
 */
export function compareRoutes(a: Route, b: Route): number {
  const pa = a.pathMatch;
  const pb = b.pathMatch;
  if (pa.kind !== pb.kind) return pathRank[pa.kind] - pathRank[pb.kind];
  if (pa.value.length !== pb.value.length) return pb.value.length - pa.value.length;
  if (pa.value !== pb.value) return compareStrings(pb.value, pa.value);
  if (pa.kind === "prefix" && pb.kind === "prefix" && pa.segment !== pb.segment) return pa.segment ? -1 : 1;
  if (a.precedence !== undefined && b.precedence !== undefined) return compareGatewayRoutes(a, b, a.precedence, b.precedence);
  if (a.headerMatches.length !== b.headerMatches.length) return b.headerMatches.length - a.headerMatches.length;
  if (a.queryParamMatches.length !== b.queryParamMatches.length) return b.queryParamMatches.length - a.queryParamMatches.length;
  return (
    compareStrings(JSON.stringify(sortedHeaderMatches(a.headerMatches)), JSON.stringify(sortedHeaderMatches(b.headerMatches))) ||
    compareStrings(JSON.stringify(sortedQueryMatches(a.queryParamMatches)), JSON.stringify(sortedQueryMatches(b.queryParamMatches))) ||
    (a.precedence ?? 0) - (b.precedence ?? 0) ||
    compareStrings(refKey(a.source), refKey(b.source))
  );
}

const isMethodMatch = (header: HeaderMatch) => header.name === ":method";

/**
 * The Gateway API's order after the path (HTTPRoute's matches): a method match first, then more
 * header matches (the method is not one), then more query matches, then `precedence`: the older
 * route (then namespace/name) and, within one route, the first rule.
 */
function compareGatewayRoutes(a: Route, b: Route, pa: number, pb: number): number {
  const methodA = a.headerMatches.some(isMethodMatch);
  const methodB = b.headerMatches.some(isMethodMatch);
  if (methodA !== methodB) return methodA ? -1 : 1;
  const headersA = a.headerMatches.filter((h) => !isMethodMatch(h)).length;
  const headersB = b.headerMatches.filter((h) => !isMethodMatch(h)).length;
  if (headersA !== headersB) return headersB - headersA;
  if (a.queryParamMatches.length !== b.queryParamMatches.length) return b.queryParamMatches.length - a.queryParamMatches.length;
  return pa - pb || compareStrings(refKey(a.source), refKey(b.source));
}

/** A sorted copy of a virtual host's routes. */
export function sortRoutes(routes: Route[]): Route[] {
  return [...routes].sort(compareRoutes);
}
