// One GRPCRoute's rules as DAG routes. A gRPC call is an HTTP/2 POST to `/<service>/<method>`, so a
// method match is a path match: service and method Exact → that exact path; service alone → the
// `/<service>/` prefix; method alone or RegularExpression → an RE2 regex over the path. Header
// matches, header modifier and mirror filters, weights and the 500 of invalid backends are
// HTTPRoute's (gateway-httproute.ts); backends are spoken to over HTTP/2 in cleartext.
import type { GRPCRoute, GRPCRouteRule } from "./gateway-api-types.ts";
import type { BackendScope } from "./gateway-refs.ts";
import { headerMatchesOf, ruleAction, type Action, type HTTPRouteRoutes } from "./gateway-httproute.ts";
import type { BuildContext } from "./processor.ts";
import type { ObjectRef } from "./status.ts";
import type { PathMatch, Route } from "./types.ts";

/** Builds the DAG routes of `route` (not yet attached to any virtual host). */
export function grpcRouteRoutes(ctx: BuildContext, scope: BackendScope, route: GRPCRoute): HTTPRouteRoutes {
  const source: ObjectRef = { kind: "GRPCRoute", namespace: route.metadata.namespace ?? "", name: route.metadata.name };
  const out: HTTPRouteRoutes = { routes: [], unsupported: [], unresolved: [] };
  (route.spec.rules ?? []).forEach((rule: GRPCRouteRule, index) => {
    const problems: string[] = [];
    for (const filter of rule.filters ?? []) {
      if (!["RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror"].includes(filter.type)) problems.push(`filter ${filter.type} is not supported on GRPCRoutes`);
    }
    const action: Action = ruleAction(ctx, scope, source, rule, { problems, out, grpc: true });
    const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [{}];
    const routes = matches.map((match): Route => {
      const pathMatch = methodPath(ctx, match.method, problems);
      return { pathMatch, headerMatches: headerMatchesOf(ctx, match.headers, problems), queryParamMatches: [], ...action, mirrors: [...action.mirrors], source };
    });
    if (problems.length > 0) out.unsupported.push(...problems.map((p) => `rule ${rule.name ?? index}: ${p}`));
    else out.routes.push(...routes);
  });
  return out;
}

/** RE2 metacharacters escaped: a service or method name matched as itself inside a regex. */
const literal = (text: string) => text.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&");

function methodPath(ctx: BuildContext, method: NonNullable<GRPCRouteRule["matches"]>[number]["method"], problems: string[]): PathMatch {
  if (!method || (!method.service && !method.method)) return { kind: "prefix", value: "/", segment: false };
  const type = method.type ?? "Exact";
  if (type === "Exact") {
    if (method.service && method.method) return { kind: "exact", value: `/${method.service}/${method.method}` };
    if (method.service) return { kind: "prefix", value: `/${method.service}/`, segment: false };
    return { kind: "regex", value: `/[^/]+/${literal(method.method!)}` };
  }
  const regex = `/${method.service ?? "[^/]+"}/${method.method ?? "[^/]+"}`;
  const problem = ctx.checkRegex(regex);
  if (problem) problems.push(`method regular expression ${JSON.stringify(regex)}: ${problem}`);
  return { kind: "regex", value: regex };
}
