// HTTPProxy and TLSCertificateDelegation checked against the OpenAPI schemas of our CRDs
// (examples/crds/, embedded here as crd-schemas.json by examples/crds/generate.ts), as the API
// server would check them: manifests never went through one, and in a cluster the same rules hold.
import type { KubeObject } from "../sources/types.ts";
import { remembered, type DagCache } from "./cache.ts";
import schemas from "./crd-schemas.json" with { type: "json" };
import { schemaErrors, type StructuralSchema } from "./schema.ts";

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
