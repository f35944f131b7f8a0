// Reads the spec of an HTTPProxy or a TLSCertificateDelegation into the types of crd-types.ts (both
// generated from the same schema), so processors work on typed fields. It runs after the schema
// check (crd-schema.ts), which refuses a manifest that does not match; for objects from a cluster,
// which skip that check, a field of the wrong type is left out and reported with its path, and a
// field the schema does not know (a newer Contour's) is left out silently.
import type { HTTPProxySpec, TLSCertificateDelegationSpec } from "./crd-types.ts";
import schemas from "./crd-schemas.json" with { type: "json" };
import type { StructuralSchema as SchemaNode } from "./schema.ts";

interface SpecOf {
  HTTPProxy: HTTPProxySpec;
  TLSCertificateDelegation: TLSCertificateDelegationSpec;
}

export type CrdKind = keyof SpecOf;

const specSchemas: Record<CrdKind, SchemaNode> = {
  HTTPProxy: (schemas.HTTPProxy as unknown as SchemaNode).properties!.spec!,
  TLSCertificateDelegation: (schemas.TLSCertificateDelegation as unknown as SchemaNode).properties!.spec!,
};

export interface ReadSpec<T> {
  spec: T;
  /** `spec.routes[0].services[1].port must be an integer`, … */
  problems: string[];
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

const expected: Record<string, string> = { string: "a string", integer: "an integer", number: "a number", boolean: "a boolean", array: "a list", object: "an object" };

const absent = (value: unknown): boolean => value === undefined || value === null;

/**
 * `value` as `node` describes it; undefined (and a problem) when it has another type. Copy on
 * write: a value with nothing to leave out is returned as it is, so reading a well-formed spec
 * allocates nothing.
 */
function read(value: unknown, node: SchemaNode, path: string, problems: string[]): unknown {
  if (absent(value)) return undefined;
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
    case "array":
      return Array.isArray(value) ? readArray(value, node.items, path, problems) : fail();
    case "object": {
      if (!isRecord(value)) return fail();
      const fields = node.properties;
      const values = typeof node.additionalProperties === "object" ? node.additionalProperties : undefined;
      if (!fields && !values) return value;
      let out: Record<string, unknown> | undefined;
      for (const key in value) {
        const item = value[key];
        const child = fields ? (Object.hasOwn(fields, key) ? fields[key] : undefined) : values;
        const read_ = child ? read(item, child, `${path}.${key}`, problems) : undefined;
        if (read_ === item && read_ !== undefined) {
          if (out) out[key] = read_;
          continue;
        }
        // Something to leave out or replace: from here on the value is copied.
        if (!out) {
          out = {};
          for (const earlier in value) {
            if (earlier === key) break;
            out[earlier] = value[earlier];
          }
        }
        if (read_ !== undefined) out[key] = read_;
      }
      return out ?? value;
    }
    default:
      return value;
  }
}

function readArray(value: unknown[], items: SchemaNode | undefined, path: string, problems: string[]): unknown[] {
  if (!items) return value;
  let out: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    const read_ = read(item, items, `${path}[${i}]`, problems);
    if (read_ === item && read_ !== undefined) {
      out?.push(read_);
      continue;
    }
    out ??= value.slice(0, i);
    if (read_ !== undefined) out.push(read_);
  }
  return out ?? value;
}

/** The spec of an object of `kind`, typed, and the fields that were not (always an object: `{}` when absent). */
export function readCrdSpec<K extends CrdKind>(kind: K, raw: unknown): ReadSpec<SpecOf[K]> {
  const problems: string[] = [];
  const spec = (read(raw, specSchemas[kind], "spec", problems) ?? {}) as SpecOf[K];
  return { spec, problems };
}
