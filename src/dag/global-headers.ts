// Contour's global header policies (configuration `policy`): merged into every HTTPProxy route, and
// every Ingress route when applyToIngress is set. A route's own policy wins for a header it sets;
// removals add up.
import { escapeHeaderValue } from "./httpproxy-policies.ts";
import type { BuildContext, GlobalHeaderPolicies } from "./processor.ts";
import type { HeadersPolicy, Route } from "./types.ts";

function merge(own: HeadersPolicy | undefined, global: { set: Record<string, string>; remove: string[] }, namespace: string): HeadersPolicy | undefined {
  const names = Object.keys(global.set);
  if (names.length === 0 && global.remove.length === 0) return own;
  const policy: HeadersPolicy = own ? { ...own, set: [...own.set], remove: [...own.remove] } : { set: [], add: [], remove: [] };
  const taken = new Set([...policy.set, ...policy.add].map((h) => h.name.toLowerCase()));
  for (const name of names) {
    if (!taken.has(name.toLowerCase())) policy.set.push({ name, value: escapeHeaderValue(global.set[name]!, { CONTOUR_NAMESPACE: namespace }) });
  }
  for (const name of global.remove) if (!policy.remove.some((r) => r.toLowerCase() === name.toLowerCase())) policy.remove.push(name);
  return policy;
}

function applies(route: Route, policies: GlobalHeaderPolicies): boolean {
  return route.source.kind === "HTTPProxy" || (route.source.kind === "Ingress" && policies.applyToIngress);
}

/** Merges the global policies into every route they apply to. */
export function applyGlobalHeaders(ctx: BuildContext): void {
  const policies = ctx.options.globalHeaders;
  if (!policies) return;
  for (const vhost of [...ctx.dag.virtualHosts.values(), ...ctx.dag.secureVirtualHosts.values()]) {
    for (const route of vhost.routes) {
      if (!applies(route, policies)) continue;
      route.requestHeaders = merge(route.requestHeaders, policies.requestHeaders, route.source.namespace);
      route.responseHeaders = merge(route.responseHeaders, policies.responseHeaders, route.source.namespace);
    }
  }
}
