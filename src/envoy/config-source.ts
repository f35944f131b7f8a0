// Where Envoy fetches the resources our resources name (RDS from a listener, EDS from a cluster, SDS
// from a TLS context). With an ADS bootstrap (the default `agent bootstrap`) that is `ads: {}`; an
// Envoy bootstrapped for the per-type services has no ADS stream, and Envoy refuses an `ads` config
// source then, so those names must point at the xDS cluster's per-type gRPC services instead. The
// translator passes the chosen source to each translator that names a resource (listener, cluster, TLS).
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
