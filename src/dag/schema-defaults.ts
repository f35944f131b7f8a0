// The API server's structural defaulting, for objects that never went through one (manifests): a
// field its CRD schema gives a `default` is set to a copy of it when absent (or null where the
// schema does not allow null), and the walk goes on inside what was set, so a defaulted
// `matches: [{path: {}}]` gets its `type` and `value` too. The object is not changed: what changes
// is copied, and an object without anything to default comes back as is.
import type { StructuralSchema } from "./schema.ts";

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** `value` with the defaults of `schema` applied; `skip` names top-level properties left alone (`metadata`, `status`). */
export function withSchemaDefaults<T>(value: T, schema: StructuralSchema, skip: readonly string[] = []): T {
  return defaulted(value, schema, new Set(skip)) as T;
}

function defaulted(value: unknown, schema: StructuralSchema, skip: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) {
    const items = schema.items;
    if (!items) return value;
    let out: unknown[] | undefined;
    value.forEach((item, index) => {
      const next = defaulted(item, items, none);
      if (next !== item) (out ??= [...value])[index] = next;
    });
    return out ?? value;
  }
  if (!isObject(value)) return value;
  let out: Record<string, unknown> | undefined;
  const set = (key: string, next: unknown) => {
    (out ??= { ...value })[key] = next;
  };
  const properties = schema.properties ?? {};
  for (const [key, property] of Object.entries(properties)) {
    if (skip.has(key)) continue;
    const current = value[key];
    let next = current;
    if ((current === undefined || (current === null && property.nullable !== true)) && property.default !== undefined) next = structuredClone(property.default);
    if (next !== undefined && next !== null) next = defaulted(next, property, none);
    if (next !== current) set(key, next);
  }
  const additional = schema.additionalProperties;
  if (typeof additional === "object") {
    for (const [key, current] of Object.entries(value)) {
      if (key in properties || skip.has(key)) continue;
      const next = defaulted(current, additional, none);
      if (next !== current) set(key, next);
    }
  }
  return out ?? value;
}

const none: ReadonlySet<string> = new Set();
