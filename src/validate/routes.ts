// The route table of a build, as `agent validate --routes` prints it: one row per host, match and
// backend, read from the route configurations that would be served (after validation), in Envoy's
// order (the first matching route wins), so what a person reads is what Envoy would do.
import { routeConfigs } from "../dag/accessors.ts";
import type { Dag } from "../dag/types.ts";
import type { ResourceSet } from "../xds/types.ts";

export interface RouteRow {
  /** The protocol of the listener that fetches the route config: "http", or "https" for a TLS host's (and the fallback certificate's). */
  scheme: "http" | "https";
  host: string;
  /** "prefix /api", "exact /", "regex ^/v[0-9]+", then ", header x-env = canary", ", query debug present" … */
  match: string;
  /** "namespace/service:port", "redirect https://…", "direct response 503", "mirror namespace/service:port". */
  backend: string;
  /** The share of the route's traffic ("90%"; for a mirror, of the requests copied); "" for redirects and direct responses. */
  weight: string;
}

type Json = Record<string, unknown>;

/** The rows of every virtual host of every route config in `resources` that the DAG's listeners fetch, HTTP first, hosts sorted. */
export function routeTable(resources: ResourceSet, dag: Pick<Dag, "clusters" | "listeners">): RouteRow[] {
  const rows: RouteRow[] = [];
  const backendOf = (cluster: string) => {
    const service = dag.clusters.get(cluster)?.service;
    return service ? `${service.namespace}/${service.name}:${service.port}` : cluster;
  };
  // The protocol of each route config is its listener's, as the DAG says: no name is read for it.
  // Only HTTP and TLS listeners fetch route configurations (a TCP listener proxies without one).
  const protocols = new Map(routeConfigs(dag).map((node) => [node.name, node.protocol === "http" ? "http" : "https"] as const));
  const rank = (config: Json) => (protocols.get(String(config.name)) === "http" ? 0 : 1);
  const configs = [...(resources.routes as Json[])].filter((config) => protocols.has(String(config.name)));
  configs.sort((a, b) => rank(a) - rank(b) || String(a.name).localeCompare(String(b.name)));
  for (const config of configs) {
    const scheme = protocols.get(String(config.name))!;
    const vhosts = [...((config.virtual_hosts as Json[] | undefined) ?? [])].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    for (const vhost of vhosts) {
      const host = String(vhost.name ?? "");
      // A TLS host's route config answers 421 to requests for other hosts: not a route anyone wrote.
      if (scheme === "https" && host === "misdirected") continue;
      for (const route of (vhost.routes as Json[] | undefined) ?? []) {
        const match = describeMatch((route.match as Json | undefined) ?? {}, host.startsWith("*."));
        for (const target of targets(route, backendOf)) rows.push({ scheme, host, match, ...target });
      }
    }
  }
  return rows;
}

/** The match as a person reads it; on a wildcard host the :authority regex that enforces one label is the host itself. */
function describeMatch(match: Json, wildcardHost: boolean): string {
  const parts: string[] = [];
  if (typeof match.path_separated_prefix === "string") parts.push(`prefix ${match.path_separated_prefix} (segments)`);
  else if (typeof match.prefix === "string") parts.push(`prefix ${match.prefix || "/"}`);
  else if (typeof match.path === "string") parts.push(`exact ${match.path}`);
  else if (match.safe_regex) parts.push(`regex ${(match.safe_regex as Json).regex}`);
  for (const header of (match.headers as Json[] | undefined) ?? []) if (!(wildcardHost && header.name === ":authority")) parts.push(`header ${header.name} ${condition(header)}`);
  for (const query of (match.query_parameters as Json[] | undefined) ?? []) parts.push(`query ${query.name} ${condition(query)}`);
  return parts.join(", ");
}

/** A header or query condition: "= v", "present", "contains v", "~ regex", inverted as "!= v", "absent", "not …". */
function condition(matcher: Json): string {
  const invert = matcher.invert_match === true;
  if (matcher.present_match === true) return invert ? "absent" : "present";
  const string = (matcher.string_match as Json | undefined) ?? {};
  const ignoreCase = string.ignore_case === true ? " (any case)" : "";
  let text: string;
  if (typeof string.exact === "string") text = `${invert ? "!=" : "="} ${string.exact}`;
  else if (string.safe_regex) text = `${invert ? "!~" : "~"} ${(string.safe_regex as Json).regex}`;
  else {
    const [kind, value] = Object.entries(string).find(([key]) => key !== "ignore_case") ?? ["?", ""];
    text = `${invert ? "not " : ""}${kind} ${String(value)}`;
  }
  return text + ignoreCase;
}

function targets(route: Json, backendOf: (cluster: string) => string): Array<Pick<RouteRow, "backend" | "weight">> {
  if (route.redirect) return [{ backend: `redirect ${describeRedirect(route.redirect as Json)}`, weight: "" }];
  if (route.direct_response) return [{ backend: `direct response ${(route.direct_response as Json).status}`, weight: "" }];
  const action = (route.route as Json | undefined) ?? {};
  const out: Array<Pick<RouteRow, "backend" | "weight">> = [];
  if (typeof action.cluster === "string") out.push({ backend: backendOf(action.cluster), weight: "100%" });
  const weighted = ((action.weighted_clusters as Json | undefined)?.clusters as Json[] | undefined) ?? [];
  const total = weighted.reduce((sum, c) => sum + weightOf(c), 0);
  // Heaviest first: the order of weighted clusters means nothing to Envoy, to a reader it does.
  const byWeight = [...weighted].sort((a, b) => weightOf(b) - weightOf(a) || backendOf(String(a.name)).localeCompare(backendOf(String(b.name))));
  for (const cluster of byWeight) out.push({ backend: backendOf(String(cluster.name)), weight: total > 0 ? `${percent(weightOf(cluster), total)}%` : "0%" });
  for (const mirror of (action.request_mirror_policies as Json[] | undefined) ?? []) out.push({ backend: `mirror ${backendOf(String(mirror.cluster))}`, weight: mirrorShare(mirror) });
  return out.length > 0 ? out : [{ backend: "(none)", weight: "" }];
}

/** A weighted cluster's weight: a UInt32Value ({value}) in our JSON form, a number if written plainly. */
function weightOf(cluster: Json): number {
  const weight = cluster.weight;
  return typeof weight === "object" && weight !== null ? Number((weight as { value?: number }).value ?? 0) : Number(weight ?? 0);
}

function mirrorShare(mirror: Json): string {
  const numerator = ((mirror.runtime_fraction as Json | undefined)?.default_value as { numerator?: number } | undefined)?.numerator;
  return numerator === undefined ? "100%" : `${numerator}%`;
}

function percent(part: number, total: number): string {
  const value = (part * 100) / total;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function describeRedirect(redirect: Json): string {
  if (redirect.https_redirect === true) return "to https";
  const parts: string[] = [];
  if (redirect.scheme_redirect) parts.push(`${redirect.scheme_redirect}://`);
  if (redirect.host_redirect) parts.push(String(redirect.host_redirect));
  if (redirect.port_redirect) parts.push(`:${redirect.port_redirect}`);
  if (redirect.path_redirect) parts.push(String(redirect.path_redirect));
  else if (redirect.prefix_rewrite) parts.push(`${redirect.prefix_rewrite}…`);
  const code = typeof redirect.response_code === "string" ? ` (${redirect.response_code.replace(/_/g, " ").toLowerCase()})` : " (301)";
  return `${parts.join("") || "same url"}${code}`;
}

/** The rows as an aligned table with a header line; "" when there are no rows. */
export function formatRouteTable(rows: RouteRow[]): string {
  if (rows.length === 0) return "";
  const header = { scheme: "SCHEME", host: "HOST", match: "MATCH", backend: "BACKEND", weight: "WEIGHT" };
  const columns = ["scheme", "host", "match", "backend", "weight"] as const;
  const all = [header, ...rows];
  const widths = columns.map((column) => Math.max(...all.map((row) => row[column].length)));
  return all.map((row) => columns.map((column, i) => (i === columns.length - 1 ? row[column] : row[column].padEnd(widths[i]!))).join("  ").trimEnd()).join("\n") + "\n";
}
