// A small validator for Kubernetes structural OpenAPI v3 schemas (the subset CRDs use), with the
// API server's error texts, so a manifest that never went through an API server is held to what
// a cluster would hold it to. Unknown fields are errors (the API server would prune them, which can
// silently turn a misspelled `prefx: /api` into a catch-all), not warnings.
import { re2Matches } from "../base/regex.ts"; // RE2, as the API server's Go regexp: matches anywhere unless anchored

/** The keywords of a structural schema this validator understands. */
export interface StructuralSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: boolean | StructuralSchema;
  required?: string[];
  items?: StructuralSchema;
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  oneOf?: StructuralSchema[];
  anyOf?: StructuralSchema[];
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  [keyword: string]: unknown;
}

export interface SchemaOptions {
  /** Path of `value` in its object, e.g. "spec" (the API server's field path form). */
  path?: string;
  /** Properties not checked at this level (e.g. `metadata`, `status` of a whole object). */
  skip?: string[];
  /** Stop after this many errors (default 20). */
  maxErrors?: number;
}

/** Every way `value` breaks `schema`, as the API server words them (`spec.port: Required value`); empty when valid. */
export function schemaErrors(value: unknown, schema: StructuralSchema, options: SchemaOptions = {}): string[] {
  const out: string[] = [];
  const max = options.maxErrors ?? 20;
  const report = (message: string): void => {
    if (out.length < max) out.push(message);
  };
  check(value, schema, options.path ?? "", report, new Set(options.skip ?? []));
  return out;
}

type Report = (message: string) => void;

const none: ReadonlySet<string> = new Set();

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** How the API server shows a value in "Invalid value: …". */
function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  return JSON.stringify(typeOf(value));
}

function matchesType(value: unknown, schema: StructuralSchema): boolean {
  const actual = typeOf(value);
  if (schema["x-kubernetes-int-or-string"]) return actual === "integer" || actual === "string";
  if (schema.type === undefined) return true;
  if (schema.type === "number") return actual === "number" || actual === "integer";
  return actual === schema.type;
}

function check(value: unknown, schema: StructuralSchema, path: string, report: Report, skip: ReadonlySet<string>): void {
  if (value === null && schema.nullable) return;
  if (!matchesType(value, schema)) {
    const expected = schema["x-kubernetes-int-or-string"] ? "integer or string" : schema.type;
    report(`${path}: Invalid value: ${JSON.stringify(typeOf(value))}: ${path} in body must be of type ${expected}: ${JSON.stringify(typeOf(value))}`);
    return;
  }
  if (schema.enum && !schema.enum.some((allowed) => allowed === value)) {
    report(`${path}: Unsupported value: ${shown(value)}: supported values: ${schema.enum.map((v) => shown(v)).join(", ")}`);
  }
  if (typeof value === "string") checkString(value, schema, path, report);
  else if (typeof value === "number") checkNumber(value, schema, path, report);
  else if (Array.isArray(value)) checkArray(value, schema, path, report);
  else if (typeof value === "object" && value !== null) checkObject(value as Record<string, unknown>, schema, path, report, skip);
  checkCombinators(value, schema, path, report);
}

function checkString(value: string, schema: StructuralSchema, path: string, report: Report): void {
  // The API server counts characters (Unicode code points), not UTF-16 units.
  const length = [...value].length;
  if (schema.minLength !== undefined && length < schema.minLength) {
    report(`${path}: Invalid value: ${shown(value)}: ${path} in body should be at least ${schema.minLength} chars long`);
  }
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    report(`${path}: Too long: may not be more than ${schema.maxLength} bytes`);
  }
  if (schema.pattern !== undefined && !re2Matches(schema.pattern, value)) {
    report(`${path}: Invalid value: ${shown(value)}: ${path} in body should match '${schema.pattern}'`);
  }
}

function checkNumber(value: number, schema: StructuralSchema, path: string, report: Report): void {
  if (schema.minimum !== undefined) {
    const below = schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum;
    if (below) report(`${path}: Invalid value: ${value}: ${path} in body should be greater than ${schema.exclusiveMinimum ? "" : "or equal to "}${schema.minimum}`);
  }
  if (schema.maximum !== undefined) {
    const above = schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum;
    if (above) report(`${path}: Invalid value: ${value}: ${path} in body should be less than ${schema.exclusiveMaximum ? "" : "or equal to "}${schema.maximum}`);
  }
}

function checkArray(value: unknown[], schema: StructuralSchema, path: string, report: Report): void {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    report(`${path}: Invalid value: ${value.length}: ${path} in body should have at least ${schema.minItems} items`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    report(`${path}: Too many: ${value.length}: must have at most ${schema.maxItems} items`);
  }
  if (!schema.items) return;
  for (const [index, item] of value.entries()) check(item, schema.items, `${path}[${index}]`, report, none);
}

function childPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function checkObject(value: Record<string, unknown>, schema: StructuralSchema, path: string, report: Report, skip: ReadonlySet<string>): void {
  const keys = Object.keys(value);
  if (schema.minProperties !== undefined && keys.length < schema.minProperties) {
    report(`${path}: Invalid value: ${keys.length}: ${path} in body should have at least ${schema.minProperties} properties`);
  }
  if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) {
    report(`${path}: Too many: ${keys.length}: must have at most ${schema.maxProperties} items`);
  }
  for (const name of schema.required ?? []) {
    if (!(name in value) && !skip.has(name)) report(`${childPath(path, name)}: Required value`);
  }
  const properties = schema.properties ?? {};
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  for (const key of keys) {
    if (skip.has(key)) continue;
    const fieldPath = childPath(path, key);
    const property = Object.hasOwn(properties, key) ? properties[key] : undefined;
    if (property) {
      check(value[key], property, fieldPath, report, none);
    } else if (typeof schema.additionalProperties === "object") {
      check(value[key], schema.additionalProperties, fieldPath, report, none);
    } else if (schema.additionalProperties !== true && !preserve) {
      report(`${fieldPath}: field not declared in schema`);
    }
  }
}

function passes(value: unknown, schema: StructuralSchema): boolean {
  return schemaErrors(value, schema, { maxErrors: 1 }).length === 0;
}

/** oneOf/anyOf as value validations (structural schemas declare the fields themselves outside them). */
function checkCombinators(value: unknown, schema: StructuralSchema, path: string, report: Report): void {
  const lenient = (sub: StructuralSchema): StructuralSchema => ({ ...sub, "x-kubernetes-preserve-unknown-fields": true });
  if (schema.anyOf && !schema.anyOf.some((sub) => passes(value, lenient(sub)))) {
    report(`${path}: Invalid value: ${shown(value)}: ${path} in body must validate at least one schema (anyOf)`);
  }
  if (schema.oneOf && schema.oneOf.filter((sub) => passes(value, lenient(sub))).length !== 1) {
    report(`${path}: Invalid value: ${shown(value)}: ${path} in body must validate one and only one schema (oneOf)`);
  }
}
