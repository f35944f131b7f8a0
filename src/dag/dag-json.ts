// The DAG of one build as plain JSON, for the DAG-level goldens (test/testdata/<case>/dag.json) and
// for reading: deterministic (every map as a list sorted by name), each cluster and secret written
// once and named wherever it is used, no key material (a secret's name carries a hash of its content).
import type { Cluster, Dag, Listener, Secret } from "./types.ts";

type Json = unknown;

const byName = <T extends { name: string }>(items: Iterable<T>): T[] => [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** The DAG as JSON: listeners (naming their hosts), virtual hosts, TLS virtual hosts, clusters, secrets. */
export function dagJson(dag: Dag): Json {
  return {
    listeners: dag.listeners.map(listenerJson),
    virtualHosts: byName(dag.virtualHosts.values()).map((vhost) => nested(vhost)),
    secureVirtualHosts: byName(dag.secureVirtualHosts.values()).map((vhost) => nested(vhost)),
    clusters: byName(dag.clusters.values()).map((cluster) => nested(cluster, cluster)),
    secrets: byName(dag.secrets.values()).map(secretJson),
    ...(dag.fallbackSecret ? { fallbackSecret: dag.fallbackSecret.name } : {}),
  };
}

function listenerJson(listener: Listener): Json {
  return {
    ...listener,
    virtualHosts: listener.virtualHosts.map((vhost) => vhost.name),
    filterChains: listener.filterChains.map((chain) => ({
      ...chain,
      virtualHost: chain.virtualHost.name,
      ...(chain.clientValidationSecret ? { clientValidationSecret: chain.clientValidationSecret.name } : {}),
    })),
    ...(listener.fallback
      ? { fallback: { ...listener.fallback, secret: listener.fallback.secret.name, virtualHosts: listener.fallback.virtualHosts.map((vhost) => vhost.name) } }
      : {}),
  };
}

function secretJson(secret: Secret): Json {
  return { name: secret.name, kind: secret.kind, ref: secret.ref };
}

const isCluster = (value: object): value is Cluster => "edsServiceName" in value && "service" in value;
const isSecret = (value: object): value is Secret => "certificateChain" in value && "ref" in value;

/** A copy of `value` with every cluster and secret inside it (other than `self`) replaced by its name. */
function nested(value: Json, self?: object): Json {
  if (Array.isArray(value)) return value.map((item) => nested(item));
  if (value === null || typeof value !== "object") return value;
  if (value !== self && (isCluster(value) || isSecret(value))) return (value as { name: string }).name;
  const out: Record<string, Json> = {};
  for (const [key, field] of Object.entries(value)) if (field !== undefined) out[key] = nested(field);
  return out;
}

