// Where Envoy fetches the resources our resources name (RDS from a listener, EDS from a cluster, SDS
// from a TLS context). With an ADS bootstrap (the default `agent bootstrap`) that is `ads: {}`; an
// Envoy bootstrapped for the per-type services has no ADS stream, and Envoy refuses an `ads` config
// source then, so those names must point at the xDS cluster's per-type gRPC services instead.
import type { JsonObject } from "./common.ts";

export type XdsConfigSourceMode = { kind: "ads" } | { kind: "per-type"; cluster: string };

/** The config source for `mode`. */
export function configSourceFor(mode: XdsConfigSourceMode): JsonObject {
  if (mode.kind === "ads") return { ads: {}, resource_api_version: "V3" };
  return {
    api_config_source: { api_type: "GRPC", transport_api_version: "V3", grpc_services: [{ envoy_grpc: { cluster_name: mode.cluster } }] },
    resource_api_version: "V3",
  };
}

/**
 * Replaces every ADS config source inside `resources` (listeners, clusters) with the per-type one.
 * The translators write ADS sources; this rewrites a finished translation once, so they stay simple.
 */
export function withConfigSource(resources: JsonObject[], mode: XdsConfigSourceMode): JsonObject[] {
  if (mode.kind === "ads") return resources;
  const source = configSourceFor(mode);
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== "object") return value;
    const object = value as JsonObject;
    if (isAdsSource(object)) return source;
    return Object.fromEntries(Object.entries(object).map(([key, inner]) => [key, rewrite(inner)]));
  };
  return resources.map((resource) => rewrite(resource) as JsonObject);
}

function isAdsSource(object: JsonObject): boolean {
  const keys = Object.keys(object);
  return keys.length === 2 && "ads" in object && object.resource_api_version === "V3";
}
