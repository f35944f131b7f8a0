// HTTPProxy and TLSCertificateDelegation checked against the OpenAPI schemas of our CRDs
// (examples/crds/, embedded here as crd-schemas.json by examples/crds/generate.ts), as the API
// server would check them: manifests never went through one, and in a cluster the same rules hold.
import type { KubeObject } from "../sources/types.ts";
import { remembered, type DagCache } from "./cache.ts";
import schemas from "./crd-schemas.json" with { type: "json" };
import gatewayApiSchemas from "./gateway-crd-schemas.json" with { type: "json" };
import { schemaErrors, type StructuralSchema } from "./schema.ts";
import { withSchemaDefaults } from "./schema-defaults.ts";

export type SchemaKind = "HTTPProxy" | "TLSCertificateDelegation";

const bySchema: Record<SchemaKind, StructuralSchema> = schemas as unknown as Record<SchemaKind, StructuralSchema>;

/**
 * The API server's errors for `object` against its kind's CRD schema (`spec.routes[0].conditions[0].prefx: field
 * not declared in schema`, …); empty when valid. `metadata` is the API server's own business and
 * `status` is ours, so neither is checked. With a cache, a rebuild re-checks only what changed.
 */
export function crdSchemaErrors(kind: SchemaKind, object: KubeObject, cache?: DagCache): string[] {
  return remembered(cache?.schemaErrors, object, (o) => schemaErrors(o, bySchema[kind], { skip: ["metadata", "status"] }));
}

/** `object` with its CRD schema's defaults applied, as the API server stores it (schema-defaults.ts); with a cache, the same copy on every build. */
export function crdDefaulted(kind: SchemaKind, object: KubeObject, cache?: DagCache): KubeObject {
  return remembered(cache?.defaulted, object, (o) => withSchemaDefaults(o, bySchema[kind], ["metadata", "status"]));
}

const byApiVersion = gatewayApiSchemas as unknown as Record<string, { bundleVersion: string; schema: StructuralSchema }>;

/**
 * A Gateway API object as an API server with its CRD would store it: the schema's defaults applied
 * (schema-defaults.ts), then checked against the schema of its own apiVersion (the upstream CRDs
 * vendored in examples/crds/gateway-api, embedded by its generate.ts); undefined for an apiVersion
 * and kind no embedded CRD serves. With a cache, a rebuild re-checks only what changed.
 */
export function gatewayCrdChecked<T extends KubeObject>(object: T, cache?: DagCache): { object: T; errors: string[] } | undefined {
  const entry = byApiVersion[`${object.apiVersion} ${object.kind}`];
  if (!entry) return undefined;
  const skip = ["metadata", "status"];
  return remembered(cache?.gatewayChecked, object, (o) => {
    const defaulted = withSchemaDefaults(o, entry.schema, skip);
    return { object: defaulted, errors: schemaErrors(defaulted, entry.schema, { skip }) };
  }) as { object: T; errors: string[] };
}

/** The Gateway API release whose CRDs Contour 1.33 (and so this agent's processing) is built against. */
export const gatewayApiBundleVersion = "v1.3.0";
