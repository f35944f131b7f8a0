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
