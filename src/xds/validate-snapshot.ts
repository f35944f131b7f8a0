// Validates a whole resource set before it is published: every resource against Envoy's rules, then
// the references between them (a listener's RDS route config, an EDS cluster's load assignment, an
// SDS secret), so the published set is consistent. What fails is left out, as small as is safe:
// a route config loses only its broken virtual hosts and a listener only its broken filter chains
// (one bad Ingress must not take every host down); any other broken resource is left out whole.
import { type ResourceSet, TypeUrls } from "./types.ts";
import { inspectResource, type ResourceReference, type ValidateOptions, type ValidationError } from "./validate.ts";

export interface RejectedResource {
  typeUrl: string;
  name: string;
  /** Paths are those of the resource as it was given. */
  errors: ValidationError[];
  /**
   * True when the resource is still published without the parts the errors point into: whole
   * virtual hosts of a route config, whole filter chains of a listener. A single route is never
   * dropped alone: its traffic would fall through to a shorter prefix, perhaps another backend.
   */
  partial: boolean;
  /** When partial: the items left out (virtual hosts of a route config, filter chains of a listener), by name, with their errors. */
  parts?: RejectedPart[];
}

/** One virtual host or filter chain left out of a resource that is still published. */
export interface RejectedPart {
  name: string;
  errors: ValidationError[];
}

export interface SnapshotValidation {
  /** The publishable set: same order as given, consistent, with partial resources pruned. */
  valid: ResourceSet;
  rejected: RejectedResource[];
}

type Json = Record<string, unknown>;

interface Stage {
  typeUrl: string;
  nameOf: (resource: Json) => string;
  /** Extra errors from references to resources already judged. */
  references?: (resource: Json, references: ResourceReference[]) => ValidationError[];
  /** The repeated field whose broken items can be dropped, keeping the rest of the resource. */
  prunable?: string;
}

/** Validates each resource of `set` and the references between them; see SnapshotValidation. */
export function validateSnapshot(set: ResourceSet, options: ValidateOptions = {}): SnapshotValidation {
  const rejected: RejectedResource[] = [];
  const judge = (resources: object[], stage: Stage): { kept: object[]; names: Set<string> } => {
    const kept: object[] = [];
    const names = new Set<string>();
    const seen = new Set<string>();
    for (const resource of resources as Json[]) {
      const name = stage.nameOf(resource);
      const { errors, references } = inspectResource(stage.typeUrl, resource, options);
      if (seen.has(name)) errors.push({ path: "name", rule: "snapshot.unique_name", message: `another resource of this type is already named ${JSON.stringify(name)}` });
      seen.add(name);
      if (stage.references) errors.push(...stage.references(resource, references));
      if (errors.length === 0) {
        kept.push(resource);
        names.add(name);
        continue;
      }
      const pruned = stage.prunable ? prune(resource, stage.prunable, errors) : undefined;
      rejected.push(pruned ? { typeUrl: stage.typeUrl, name, errors, partial: true, parts: pruned.parts } : { typeUrl: stage.typeUrl, name, errors, partial: false });
      if (pruned) {
        kept.push(pruned.resource);
        names.add(name);
      }
    }
    return { kept, names };
  };

  const secrets = judge(set.secrets, { typeUrl: TypeUrls.secret, nameOf: (r) => String(r.name ?? "") });
  const endpoints = judge(set.endpoints, { typeUrl: TypeUrls.endpoint, nameOf: (r) => String(r.cluster_name ?? "") });
  const secretErrors = (references: ResourceReference[]): ValidationError[] =>
    references.filter((ref) => ref.kind === "secret" && !secrets.names.has(ref.name)).map((ref) => missing(ref.path, "secret", ref.name, set.secrets, "name"));
  const clusters = judge(set.clusters, {
    typeUrl: TypeUrls.cluster,
    nameOf: (r) => String(r.name ?? ""),
    references: (cluster, references) => {
      const errors = secretErrors(references);
      if (cluster.type === "EDS" || cluster.type === 3) {
        const serviceName = (cluster.eds_cluster_config as { service_name?: string } | undefined)?.service_name;
        const name = serviceName || String(cluster.name ?? "");
        if (!endpoints.names.has(name)) errors.push(missing(serviceName ? "eds_cluster_config.service_name" : "name", "load assignment", name, set.endpoints, "cluster_name"));
      }
      return errors;
    },
  });
  const routes = judge(set.routes, { typeUrl: TypeUrls.route, nameOf: (r) => String(r.name ?? ""), prunable: "virtual_hosts" });
  const listeners = judge(set.listeners, {
    typeUrl: TypeUrls.listener,
    nameOf: (r) => String(r.name ?? ""),
    prunable: "filter_chains",
    references: (_listener, references) => [
      ...secretErrors(references),
      ...references
        .filter((ref) => ref.kind === "routeConfig" && !routes.names.has(ref.name))
        .map((ref) => missing(ref.path, "route config", ref.name, set.routes, "name")),
    ],
  });
  return {
    valid: { listeners: listeners.kept, routes: routes.kept, clusters: clusters.kept, endpoints: endpoints.kept, secrets: secrets.kept },
    rejected,
  };
}

function missing(path: string, what: string, name: string, given: object[], nameField: string): ValidationError {
  const present = given.some((r) => (r as Json)[nameField] === name);
  return {
    path,
    rule: "snapshot.reference",
    message: `${what} ${JSON.stringify(name)} ${present ? "was rejected" : "is not in the snapshot"}`,
  };
}

/**
 * The resource without the items of `field` that errors point into, with those items' names and
 * errors, or undefined when an error lies elsewhere or nothing would be left.
 */
function prune(resource: Json, field: string, errors: ValidationError[]): { resource: Json; parts: RejectedPart[] } | undefined {
  const broken = new Map<number, ValidationError[]>();
  const itemPath = new RegExp(`^${field}\\[(\\d+)\\]`);
  for (const error of errors) {
    const match = itemPath.exec(error.path);
    if (!match) return undefined;
    const index = Number(match[1]);
    broken.set(index, [...(broken.get(index) ?? []), error]);
  }
  const items = resource[field] as Json[];
  const left = items.filter((_, i) => !broken.has(i));
  // A listener with no filter chain left accepts connections only to close them: leave it out.
  if (left.length === 0 && field === "filter_chains" && !resource.default_filter_chain) return undefined;
  const parts = [...broken].sort(([a], [b]) => a - b).map(([index, itemErrors]) => ({ name: String(items[index]?.name ?? ""), errors: itemErrors }));
  return { resource: { ...resource, [field]: left }, parts };
}
