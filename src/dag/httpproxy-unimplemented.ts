// The fields of Contour's HTTPProxy that isobar's CRD accepts but isobar does not act on. When one
// is set, the proxy gets an IgnoredField warning naming it, so nothing is dropped silently. Fields
// whose absence would leave a host unprotected (external authorization, JWT providers and required
// JWTs) are errors instead (httpproxy.ts, httpproxy-routes.ts). test/httpproxy-field-coverage.test.ts
// walks the CRD schema: every field is implemented (a golden or unit test sets it) or listed here.
import type { HTTPProxySpec } from "./crd-types.ts";
import type { BuildContext } from "./processor.ts";
import type { ObjectRef } from "./status.ts";
import { ErrorType, addWarning, rec, str, type Rec } from "./httpproxy-spec.ts";

export interface UnimplementedField {
  /** Where the field is in the spec, `[]` for every item of an array: `spec.routes[].authPolicy`. */
  path: string;
  /** Contour's name for it in conditions: `Spec.Routes.AuthPolicy`. */
  field: string;
  why: string;
  /** Only when this holds of the object holding the field (default: whenever it is set). */
  when?: (parent: Rec) => boolean;
}

const noGlobalRateLimit = "no global rate limit service is configured";
const notHeaders = "a TCP proxy forwards bytes, not HTTP requests";

export const unimplementedFields: readonly UnimplementedField[] = [
  { path: "spec.virtualhost.rateLimitPolicy.global", field: "Spec.VirtualHost.RateLimitPolicy.Global", why: noGlobalRateLimit },
  { path: "spec.routes[].rateLimitPolicy.global", field: "Spec.Routes.RateLimitPolicy.Global", why: noGlobalRateLimit },
  {
    path: "spec.virtualhost.authorization",
    field: "Spec.VirtualHost.Authorization",
    why: "it names no extension service and no global external authorization is configured",
    // With an extension service it is an error (fail closed): see extensionsSupported in httpproxy.ts.
    when: (virtualhost) => str(rec(rec(virtualhost.authorization)?.extensionRef)?.name) === "",
  },
  { path: "spec.routes[].authPolicy", field: "Spec.Routes.AuthPolicy", why: "external authorization is not supported by this control plane" },
  { path: "spec.routes[].jwtVerificationPolicy.disabled", field: "Spec.Routes.JWTVerificationPolicy.Disabled", why: "JWT verification is not supported by this control plane" },
  {
    path: "spec.routes[].loadBalancerPolicy.requestHashPolicies",
    field: "Spec.Routes.LoadBalancerPolicy.RequestHashPolicies",
    why: "request hash policies apply only to the RequestHash strategy",
    when: (policy) => str(policy.strategy) !== "RequestHash",
  },
  { path: "spec.tcpproxy.loadBalancerPolicy.requestHashPolicies", field: "Spec.TCPProxy.LoadBalancerPolicy.RequestHashPolicies", why: notHeaders },
  { path: "spec.tcpproxy.services[].mirror", field: "Spec.TCPProxy.Services.Mirror", why: "TCP connections are not mirrored" },
  { path: "spec.tcpproxy.services[].requestHeadersPolicy", field: "Spec.TCPProxy.Services.RequestHeadersPolicy", why: notHeaders },
  { path: "spec.tcpproxy.services[].responseHeadersPolicy", field: "Spec.TCPProxy.Services.ResponseHeadersPolicy", why: notHeaders },
  { path: "spec.tcpproxy.services[].cookieRewritePolicies", field: "Spec.TCPProxy.Services.CookieRewritePolicies", why: notHeaders },
];

/** The objects holding the field at `path` (its parents), for every array item on the way. */
function parentsOf(spec: Rec, path: string): Rec[] {
  const segments = path.split(".").slice(1, -1); // without "spec" and the field itself
  let current: Rec[] = [spec];
  for (const segment of segments) {
    const name = segment.endsWith("[]") ? segment.slice(0, -2) : segment;
    const next: Rec[] = [];
    for (const holder of current) {
      const value = holder[name];
      if (segment.endsWith("[]")) {
        if (Array.isArray(value)) for (const item of value) if (rec(item)) next.push(item as Rec);
      } else if (rec(value)) next.push(value as Rec);
    }
    current = next;
  }
  return current;
}

/**
 * One IgnoredField warning for each unimplemented field `spec` sets (once per field, however many
 * routes set it). The fields are named by path, so the spec is walked as plain records.
 */
export function warnUnimplementedFields(ctx: BuildContext, ref: ObjectRef, spec: HTTPProxySpec): void {
  for (const entry of unimplementedFields) {
    const name = entry.path.slice(entry.path.lastIndexOf(".") + 1);
    const set = parentsOf(spec as Rec, entry.path).some((parent) => parent[name] !== undefined && parent[name] !== null && (entry.when?.(parent) ?? true));
    if (set) addWarning(ctx, ref, ErrorType.spec, "IgnoredField", `ignoring field "${entry.field}"; ${entry.why}`);
  }
}
