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

const defaultedCache = new WeakMap<KubeObject, KubeObject>();

/** `object` with its CRD schema's defaults applied, as the API server stores it (schema-defaults.ts); the same copy on every build. */
export function crdDefaulted(kind: SchemaKind, object: KubeObject): KubeObject {
  let defaulted = defaultedCache.get(object);
  if (!defaulted) defaultedCache.set(object, (defaulted = withSchemaDefaults(object, bySchema[kind], ["metadata", "status"])));
  return defaulted;
}

const byApiVersion = gatewayApiSchemas as unknown as Record<string, { bundleVersion: string; schema: StructuralSchema }>;
const gatewayCache = new WeakMap<KubeObject, { object: KubeObject; errors: string[] }>();

/**
 * A Gateway API object as an API server with its CRD would store it: the schema's defaults applied
 * (schema-defaults.ts), then checked against the schema of its own apiVersion (the upstream CRDs
 * vendored in examples/crds/gateway-api, embedded by its generate.ts); undefined for an apiVersion
 * and kind no embedded CRD serves.
 */
export function gatewayCrdChecked<T extends KubeObject>(object: T): { object: T; errors: string[] } | undefined {
  const cached = gatewayCache.get(object);
  if (cached) return cached as { object: T; errors: string[] };
  const entry = byApiVersion[`${object.apiVersion} ${object.kind}`];
  if (!entry) return undefined;
  const skip = ["metadata", "status"];
  const defaulted = withSchemaDefaults(object, entry.schema, skip);
  const checked = { object: defaulted, errors: schemaErrors(defaulted, entry.schema, { skip }) };
  gatewayCache.set(object, checked);
  return checked;
}

/** The Gateway API release whose CRDs Contour 1.33 (and so this agent's processing) is built against. */
export const gatewayApiBundleVersion = "v1.3.0";
