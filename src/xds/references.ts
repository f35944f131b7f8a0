// What one resource names in other xDS types, in one place: the route configs a listener's HTTP
// connection managers fetch over RDS, the clusters a route config (and a TCP proxy) sends traffic
// to, the load assignment an EDS cluster fetches, and the SDS secrets a TLS context fetches
// (certificates, CA and CRL validation contexts, session ticket keys). The validator, the snapshot
// store, SDS scoping and the server's endpoint tracking all read references here, and one check
// (`missingReferences`) decides whether a set is consistent.
import { TypeUrls } from "./types.ts";

export type ReferenceKind = "routeConfig" | "cluster" | "endpoint" | "secret";

/** One name a resource points at, with the path of the field that names it (validator paths). */
export interface ResourceReference {
  kind: ReferenceKind;
  name: string;
  path: string;
}

/** A resource's references by kind, each name once. */
export interface References {
  routes: string[];
  clusters: string[];
  endpoints: string[];
  secrets: string[];
}

/**
 * The kinds a consistent snapshot must hold every name of. A route's cluster may be missing, as in
 * go-control-plane: Envoy answers 503 for it and warms nothing, so it is not a dangling reference.
 */
export const requiredKinds: ReadonlySet<ReferenceKind> = new Set(["routeConfig", "endpoint", "secret"]);

/** Whether resources of `typeUrl` can name something that must exist (only listeners and clusters do). */
export function namesRequired(typeUrl: string): boolean {
  return typeUrl === TypeUrls.listener || typeUrl === TypeUrls.cluster;
}

/** The type URL a reference of `kind` names a resource of. */
export const referencedType: Readonly<Record<ReferenceKind, string>> = {
  routeConfig: TypeUrls.route,
  cluster: TypeUrls.cluster,
  endpoint: TypeUrls.endpoint,
  secret: TypeUrls.secret,
};

/** Every reference of one resource in our JSON form, in document order. */
export function referencesOf(typeUrl: string, json: object): ResourceReference[] {
  const out: ResourceReference[] = [];
  const roots = referenceRoots[typeUrl];
  if (roots) {
    for (const root of roots) {
      const field = (json as Json)[root];
      if (Array.isArray(field) && field.length >= entryMemoMin && entryFields.has(root)) entryReferences(field, root, out, typeUrl);
      else if (field !== null && typeof field === "object") walk(field, [root], out, typeUrl);
    }
  }
  if (typeUrl === TypeUrls.cluster) {
    const cluster = json as { name?: string; type?: string | number; eds_cluster_config?: { service_name?: string } };
    if (cluster.type === "EDS" || cluster.type === 3) {
      const serviceName = cluster.eds_cluster_config?.service_name;
      out.push({ kind: "endpoint", name: serviceName || cluster.name || "", path: serviceName ? "eds_cluster_config.service_name" : "name" });
    }
  }
  return out;
}

/**
 * What a resource that names nothing refers to: one frozen value shared by all of them (the store
 * keeps every resource's references; at 100k load assignments, an object and four arrays each).
 */
const frozenEmpty = (): string[] => Object.freeze([]) as unknown as string[];
const noReferences: References = Object.freeze({ routes: frozenEmpty(), clusters: frozenEmpty(), endpoints: frozenEmpty(), secrets: frozenEmpty() });

/** The references of one resource by kind (see References); read-only, as the result may be shared. */
export function findReferences(typeUrl: string, json: object): References {
  const refs = referencesOf(typeUrl, json);
  if (refs.length === 0) return noReferences;
  const sets = { routeConfig: new Set<string>(), cluster: new Set<string>(), endpoint: new Set<string>(), secret: new Set<string>() };
  for (const ref of refs) sets[ref.kind].add(ref.name);
  return { routes: namesOf(sets.routeConfig), clusters: namesOf(sets.cluster), endpoints: namesOf(sets.endpoint), secrets: namesOf(sets.secret) };
}

// A kind a resource names nothing of shares one frozen empty list (an EDS cluster names one load
// assignment and nothing else: three fresh empty arrays each, at 100k clusters about 20 MB).
const noNames = frozenEmpty();
const namesOf = (names: Set<string>): string[] => (names.size === 0 ? noNames : [...names]);

/**
 * The consistency check: the references of `references` that must exist (requiredKinds) and for
 * which `exists` says no. Empty when the resource's references are all satisfied.
 */
export function missingReferences<T extends { kind: ReferenceKind; name: string }>(references: Iterable<T>, exists: (typeUrl: string, name: string) => boolean): T[] {
  const missing: T[] = [];
  for (const ref of references) if (requiredKinds.has(ref.kind) && !exists(referencedType[ref.kind], ref.name)) missing.push(ref);
  return missing;
}

/** `missingReferences` over a resource's References (names by kind, as the store caches them); allocates only on a miss. */
export function missingOfReferences(refs: References, exists: (typeUrl: string, name: string) => boolean): Array<{ kind: ReferenceKind; name: string }> {
  let missing: Array<{ kind: ReferenceKind; name: string }> | undefined;
  for (const kind of requiredKinds) {
    for (const name of refs[namesOfKind[kind]]) if (!exists(referencedType[kind], name)) (missing ??= []).push({ kind, name });
  }
  return missing ?? noneMissing;
}

/** The field of References that holds the names of each kind. */
const namesOfKind: Readonly<Record<ReferenceKind, keyof References>> = { routeConfig: "routes", cluster: "clusters", endpoint: "endpoints", secret: "secrets" };

const noneMissing: Array<{ kind: ReferenceKind; name: string }> = [];

// Only secrets fetched over SDS (sds_config set) must be in the snapshot; one without sds_config
// names a static secret of Envoy's bootstrap. Validation contexts (CA, CRL) come over
// validation_context_sds_secret_config, also inside a combined_validation_context.
const sdsConfigFields = new Set(["tls_certificate_sds_secret_configs", "validation_context_sds_secret_config", "session_ticket_keys_sds_secret_config"]);

type Json = Record<string, unknown>;

/**
 * The top-level fields under which a resource can name another: a listener's filter chains (RDS,
 * TLS contexts, TCP proxies), a cluster's transport sockets (TLS contexts), a route config's virtual
 * hosts (and a VHDS virtual host's routes). The walk skips the rest of the resource, most of it by size.
 */
const referenceRoots: Record<string, readonly string[]> = {
  [TypeUrls.listener]: ["filter_chains", "default_filter_chain"],
  [TypeUrls.cluster]: ["transport_socket", "transport_socket_matches"],
  [TypeUrls.route]: ["virtual_hosts"],
  [TypeUrls.virtualHost]: ["routes"],
};

// A listener's filter chains and a route config's virtual hosts: thousands in one resource, most of
// them the same objects from one build to the next (the translation memo hands unchanged ones over),
// so each entry's references are found once per entry object, with paths from the entry, and only
// prefixed with the entry's place. Translated JSON is never changed once made.
const entryFields = new Set(["filter_chains", "virtual_hosts"]);
const entryMemoMin = 8;
const entryRefs = new Map<string, WeakMap<object, ResourceReference[]>>();

function entryReferences(list: unknown[], root: string, out: ResourceReference[], typeUrl: string): void {
  let known = entryRefs.get(typeUrl);
  if (!known) entryRefs.set(typeUrl, (known = new WeakMap()));
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (item === null || typeof item !== "object") continue;
    let refs = known.get(item);
    if (!refs) {
      refs = [];
      walk(item, [], refs, typeUrl);
      known.set(item, refs);
    }
    for (const ref of refs) out.push({ kind: ref.kind, name: ref.name, path: `${root}[${i}].${ref.path}` });
  }
}

// The walk keeps the path as a stack of segments and renders it only where it finds a reference:
// most of a resource names nothing, and building every field's path string would cost more than the walk.
function walk(value: unknown, path: Array<string | number>, out: ResourceReference[], typeUrl: string): void {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (item === null || typeof item !== "object") continue;
      path.push(i);
      walk(item, path, out, typeUrl);
      path.pop();
    }
    return;
  }
  if (value === null || typeof value !== "object") return;
  const object = value as Json;
  // A TCP proxy (in a listener's filter chain) names its cluster at its top.
  if (typeof object.cluster === "string" && typeof object["@type"] === "string" && object["@type"].endsWith(".tcp_proxy.v3.TcpProxy")) {
    out.push({ kind: "cluster", name: object.cluster, path: render(path, "cluster") });
  }
  for (const key in object) {
    const field = object[key];
    if (field === null || typeof field !== "object") continue;
    path.push(key);
    if (key === "rds" && typeUrl === TypeUrls.listener) {
      const name = (field as Json).route_config_name;
      if (typeof name === "string") out.push({ kind: "routeConfig", name, path: render(path, "route_config_name") });
    } else if (key === "route" && (typeUrl === TypeUrls.route || typeUrl === TypeUrls.virtualHost)) {
      // A route's RouteAction: one cluster, or weighted clusters, and its mirrors.
      const action = field as Json;
      if (typeof action.cluster === "string") out.push({ kind: "cluster", name: action.cluster, path: render(path, "cluster") });
      eachItem(action.request_mirror_policies, (mirror, i) => {
        if (typeof mirror.cluster === "string") out.push({ kind: "cluster", name: mirror.cluster, path: render(path, `request_mirror_policies[${i}].cluster`) });
      });
    } else if (key === "weighted_clusters" && typeUrl !== TypeUrls.cluster) {
      eachItem((field as Json).clusters, (weighted, i) => {
        if (typeof weighted.name === "string") out.push({ kind: "cluster", name: weighted.name, path: render(path, `clusters[${i}].name`) });
      });
    } else if (sdsConfigFields.has(key)) {
      const many = Array.isArray(field);
      (many ? (field as unknown[]) : [field]).forEach((config, i) => {
        const sds = config as { name?: unknown; sds_config?: unknown } | null;
        if (sds && typeof sds.name === "string" && sds.sds_config) out.push({ kind: "secret", name: sds.name, path: render(path, many ? `[${i}].name` : "name") });
      });
    }
    walk(field, path, out, typeUrl);
    path.pop();
  }
}

/** A path in the validator's form (`a.b[0].c`), with `tail` after it. */
function render(path: ReadonlyArray<string | number>, tail: string): string {
  let out = "";
  for (const segment of path) out += typeof segment === "number" ? `[${segment}]` : out === "" ? segment : `.${segment}`;
  return tail.startsWith("[") || out === "" ? out + tail : `${out}.${tail}`;
}

function eachItem(list: unknown, visit: (item: Json, index: number) => void): void {
  if (!Array.isArray(list)) return;
  list.forEach((item, i) => {
    if (item !== null && typeof item === "object") visit(item as Json, i);
  });
}
