// Routes that can never match: two routes of one virtual host with the same match (an Ingress and
// an HTTPProxy for one host and path, or one HTTPProxy tree defining a path twice). Envoy takes the
// first; both objects are told which one that is, instead of one silently losing. (Contour keeps
// whichever it processed last and says nothing.) The routes stay in the DAG: the shadowed one is
// harmless to Envoy, and the translator's order decides which serves.
import type { BuildContext } from "./processor.ts";
import { refKey, type ObjectRef } from "./status.ts";
import type { HeaderMatch, QueryParamMatch, Route, VirtualHost } from "./types.ts";

const canonical = (items: Array<HeaderMatch | QueryParamMatch>): string[] => items.map((item) => JSON.stringify(item)).sort();

/** The kind of a route's path match as Envoy sees it (a segment prefix ending in `/` is a plain prefix). */
function pathKind(route: Route): string {
  const path = route.pathMatch;
  return path.kind === "prefix" ? (path.segment && !path.value.endsWith("/") ? "segment" : "prefix") : path.kind;
}

/** Equal for two routes exactly when Envoy would see the same RouteMatch. */
function matchKey(route: Route): string {
  const path = route.pathMatch;
  const kind = pathKind(route);
  // Most routes have no conditions: kind and path alone (a kind has no space; the value comes last).
  if (route.headerMatches.length === 0 && route.queryParamMatches.length === 0) return `${kind} ${path.value}`;
  return JSON.stringify([kind, path.value, canonical(route.headerMatches), canonical(route.queryParamMatches)]);
}

function describe(route: Route): string {
  const path = route.pathMatch;
  const kind = path.kind === "exact" ? "Exact" : path.kind === "regex" ? "regex" : "prefix";
  const conditions = route.headerMatches.length + route.queryParamMatches.length;
  return `path ${kind} "${path.value}"${conditions > 0 ? ` with ${conditions} header/query conditions` : ""}`;
}

const objectName = (ref: ObjectRef): string => `${ref.kind} "${ref.namespace}/${ref.name}"`;

/**
 * The route Envoy sees first among routes with the same match is the one whose source sorts first
 * (the translator's tie-break, envoy/route-match.ts), then the first added. Records a condition on
 * every object involved.
 */
function reportShadowed(ctx: BuildContext, vhost: VirtualHost): void {
  if (fewAndDistinct(vhost.routes)) return;
  const byMatch = new Map<string, Route[]>();
  for (const route of vhost.routes) {
    const key = matchKey(route);
    const same = byMatch.get(key);
    if (same) same.push(route);
    else byMatch.set(key, [route]);
  }
  if (byMatch.size === vhost.routes.length) return;
  for (const routes of byMatch.values()) {
    if (routes.length < 2) continue;
    const winner = routes.reduce((best, route) => (refKey(route.source) < refKey(best.source) ? route : best));
    for (const loser of routes) {
      if (loser === winner) continue;
      const where = `host "${vhost.name}" ${describe(winner)}`;
      if (refKey(loser.source) === refKey(winner.source)) {
        ctx.status.warning(winner.source, { type: "RouteError", reason: "DuplicateRoute", message: `${where} is defined more than once; the first definition is used` });
        continue;
      }
      const message = `${where} is defined by both ${objectName(winner.source)} and ${objectName(loser.source)}; ${objectName(winner.source)} serves it`;
      ctx.status.warning(winner.source, { type: "RouteError", reason: "DuplicateRoute", message });
      // An Ingress that loses a path is in error, as with two Ingresses (DuplicatePath); an HTTPProxy
      // keeps the valid status Contour gives it (Contour lets the last route win silently).
      if (loser.source.kind === "Ingress") ctx.status.error(loser.source, { type: "RouteError", reason: "DuplicateRoute", message });
      else ctx.status.warning(loser.source, { type: "RouteError", reason: "DuplicateRoute", message });
    }
  }
}

/**
 * Whether a virtual host's routes are few, without header or query conditions, and of distinct
 * matches: most hosts, told apart pairwise without a key per route.
 */
function fewAndDistinct(routes: Route[]): boolean {
  if (routes.length > 8) return false;
  for (const route of routes) if (route.headerMatches.length > 0 || route.queryParamMatches.length > 0) return false;
  for (let i = 1; i < routes.length; i++) {
    for (let j = 0; j < i; j++) if (routes[i]!.pathMatch.value === routes[j]!.pathMatch.value && pathKind(routes[i]!) === pathKind(routes[j]!)) return false;
  }
  return true;
}

/** Reports the routes no request can reach, on every virtual host, plain and TLS. */
export function reportShadowedRoutes(ctx: BuildContext): void {
  for (const vhost of ctx.dag.virtualHosts.values()) reportShadowed(ctx, vhost);
  for (const vhost of ctx.dag.secureVirtualHosts.values()) reportShadowed(ctx, vhost);
}
