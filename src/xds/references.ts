// The names one resource points at in other xDS types: the route configs a listener's HTTP
// connection managers fetch over RDS, the load assignment an EDS cluster fetches, and the SDS
// secrets a TLS context fetches. The snapshot store refuses a set in which any of them is missing.
import { TypeUrls } from "./types.ts";

export interface References {
  routes: string[];
  endpoints: string[];
  secrets: string[];
}

/**
 * What a resource that names nothing refers to: one frozen value shared by all of them (the store
 * keeps every resource's references; at 100k load assignments, an object and three arrays each).
 */
const noReferences: References = Object.freeze({ routes: frozenEmpty(), endpoints: frozenEmpty(), secrets: frozenEmpty() });

function frozenEmpty(): string[] {
  return Object.freeze([]) as unknown as string[];
}

/** Collects the references of one resource in our JSON form (read-only: the result may be shared). */
export function findReferences(typeUrl: string, json: object): References {
  if (typeUrl !== TypeUrls.listener && typeUrl !== TypeUrls.cluster) return noReferences;
  const refs: References = { routes: [], endpoints: [], secrets: [] };
  if (typeUrl === TypeUrls.cluster) {
    const cluster = json as { name?: string; type?: string | number; eds_cluster_config?: { service_name?: string } };
    if (cluster.type === "EDS" || cluster.type === 3) refs.endpoints.push(cluster.eds_cluster_config?.service_name || cluster.name || "");
  }
  walk(json, refs, typeUrl === TypeUrls.listener);
  if (refs.routes.length + refs.endpoints.length + refs.secrets.length === 0) return noReferences;
  return {
    routes: [...new Set(refs.routes)],
    endpoints: [...new Set(refs.endpoints)],
    secrets: [...new Set(refs.secrets)],
  };
}

// Only secrets fetched over SDS (sds_config set) must be in the snapshot; one without sds_config
// names a static secret of Envoy's bootstrap.
const sdsConfigFields = new Set([
  "tls_certificate_sds_secret_configs",
  "validation_context_sds_secret_config",
  "session_ticket_keys_sds_secret_config",
]);

function walk(value: unknown, refs: References, inListener: boolean): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, refs, inListener);
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    if (inListener && key === "rds" && field && typeof field === "object") {
      const name = (field as { route_config_name?: unknown }).route_config_name;
      if (typeof name === "string" && name !== "") refs.routes.push(name);
    } else if (sdsConfigFields.has(key)) {
      for (const config of Array.isArray(field) ? field : [field]) {
        const sds = config as { name?: unknown; sds_config?: unknown } | null;
        if (sds && typeof sds.name === "string" && sds.sds_config) refs.secrets.push(sds.name);
      }
    }
    walk(field, refs, inListener);
  }
}
