// Reads the spec of an HTTPProxy or a TLSCertificateDelegation into the types of crd-types.ts (both
// generated from the same schema), so processors work on typed fields. It runs after the schema
// check (crd-schema.ts), which refuses a manifest that does not match; for objects from a cluster,
// which skip that check, a field of the wrong type is left out and reported with its path, and a
// field the schema does not know (a newer Contour's) is left out silently.
import type { HTTPProxySpec, TLSCertificateDelegationSpec } from "./crd-types.ts";
import schemas from "./crd-schemas.json" with { type: "json" };

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
}

interface SpecOf {
  HTTPProxy: HTTPProxySpec;
  TLSCertificateDelegation: TLSCertificateDelegationSpec;
}

export type CrdKind = keyof SpecOf;

const specSchemas: Record<CrdKind, SchemaNode> = {
  HTTPProxy: (schemas.HTTPProxy as SchemaNode).properties!.spec!,
  TLSCertificateDelegation: (schemas.TLSCertificateDelegation as SchemaNode).properties!.spec!,
};

export interface ReadSpec<T> {
  spec: T;
  /** `spec.routes[0].services[1].port must be an integer`, … */
  problems: string[];
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

const expected: Record<string, string> = { string: "a string", integer: "an integer", number: "a number", boolean: "a boolean", array: "a list", object: "an object" };

/** `value` as `node` describes it; undefined (and a problem) when it has another type. */
function read(value: unknown, node: SchemaNode, path: string, problems: string[]): unknown {
  if (value === undefined || value === null) return undefined;
  const fail = (): undefined => {
    problems.push(`${path} must be ${expected[node.type ?? ""] ?? node.type}`);
    return undefined;
  };
  switch (node.type) {
    case "string":
      return typeof value === "string" ? value : fail();
    case "boolean":
      return typeof value === "boolean" ? value : fail();
    // Integer-ness and bounds are the schema check's: what a processor rounds today it still rounds.
    case "integer":
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? value : fail();
    case "array": {
      if (!Array.isArray(value)) return fail();
      const out: unknown[] = [];
      for (const [i, item] of value.entries()) {
        const read_ = node.items ? read(item, node.items, `${path}[${i}]`, problems) : item;
        if (read_ !== undefined) out.push(read_);
      }
      return out;
    }
    case "object": {
      if (!isRecord(value)) return fail();
      const out: Record<string, unknown> = {};
      if (node.properties) {
        for (const [field, child] of Object.entries(node.properties)) {
          const read_ = read(value[field], child, `${path}.${field}`, problems);
          if (read_ !== undefined) out[field] = read_;
        }
        return out;
      }
      if (typeof node.additionalProperties !== "object") return value;
      for (const [key, item] of Object.entries(value)) {
        const read_ = read(item, node.additionalProperties, `${path}.${key}`, problems);
        if (read_ !== undefined) out[key] = read_;
      }
      return out;
    }
    default:
      return value;
  }
}

/** The spec of an object of `kind`, typed, and the fields that were not (always an object: `{}` when absent). */
export function readCrdSpec<K extends CrdKind>(kind: K, raw: unknown): ReadSpec<SpecOf[K]> {
  const problems: string[] = [];
  const spec = (read(raw, specSchemas[kind], "spec", problems) ?? {}) as SpecOf[K];
  return { spec, problems };
}
