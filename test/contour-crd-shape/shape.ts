// The shape of a CRD's OpenAPI schema as text, one line per field path: its type and every keyword
// that decides what validates or what a field defaults to (format, enum, default, bounds, lengths,
// pattern, required, CEL rules, additionalProperties); descriptions are left out. Two CRDs with
// the same lines accept the same objects and default them the same way.
type Schema = Record<string, unknown>;

const keywords = [
  "format",
  "enum",
  "default",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "required",
  "nullable",
  "additionalProperties",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-int-or-string",
  "x-kubernetes-validations",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "oneOf",
  "anyOf",
];

function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "description").map(([key, v]) => [key, withoutDescriptions(v)]));
}

/** `spec.routes[].retryPolicy.count integer format="int64" default=1 minimum=-1`, … for every path under `root`. */
export function schemaShape(schema: Schema, root: string): string[] {
  const lines: string[] = [];
  const walk = (node: Schema, path: string): void => {
    const facts = [String(node.type ?? "any")];
    for (const keyword of keywords) {
      let value = node[keyword];
      if (value === undefined) continue;
      if (keyword === "required") value = [...(value as string[])].sort();
      facts.push(`${keyword}=${JSON.stringify(withoutDescriptions(value))}`);
    }
    lines.push(`${path} ${facts.join(" ")}`);
    for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, Schema>)) walk(child, `${path}.${name}`);
    if (node.items) walk(node.items as Schema, `${path}[]`);
  };
  walk(schema, root);
  return lines.sort();
}

/** A CRD's identity (group, version, names, scope) and the shape of its storage version's spec. */
export function crdShape(crd: Schema): string[] {
  const spec = crd.spec as { group: string; names: Record<string, unknown>; scope: string; versions: Array<{ name: string; storage: boolean; schema: { openAPIV3Schema: { properties: { spec: Schema } } } }> };
  const version = spec.versions.find((v) => v.storage)!;
  const names = spec.names as { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[] };
  const identity = `crd ${spec.group}/${version.name} kind=${names.kind} listKind=${names.listKind} plural=${names.plural} singular=${names.singular} shortNames=${JSON.stringify(names.shortNames ?? [])} scope=${spec.scope}`;
  return [identity, ...schemaShape(version.schema.openAPIV3Schema.properties.spec, "spec")];
}
