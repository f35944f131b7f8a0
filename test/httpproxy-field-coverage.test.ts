// Nothing in an HTTPProxy is silently ignored. The test walks every field path of the CRD schema
// the agent checks manifests against (Contour 1.33's, see contour-crd-shape.test.ts). Each field is
// either implemented, and then some golden input (test/testdata/*/input.yaml) sets it, or it is
// not: then setting it, alone, on an otherwise valid proxy gives that proxy a condition naming it:
// an IgnoredField warning (src/dag/httpproxy-unimplemented.ts) or, where ignoring it would serve a
// host unprotected, an error.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import schemas from "../src/dag/crd-schemas.json" with { type: "json" };
import { crdSchemaErrors } from "../src/dag/crd-schema.ts";
import { build, proxy, statusOf } from "../src/dag/httpproxy-testing.ts";
import { unimplementedFields } from "../src/dag/httpproxy-unimplemented.ts";
import type { StructuralSchema } from "../src/dag/schema.ts";
import { service } from "../src/dag/testing.ts";
import type { KubeObject } from "../src/sources/types.ts";
import { re2Matches } from "../src/base/regex.ts";

const root = new URL("..", import.meta.url).pathname;
const specSchema = (schemas as unknown as { HTTPProxy: { properties: { spec: StructuralSchema } } }).HTTPProxy.properties.spec;

/** Every field path of the schema: `spec.routes[].services[].port`, arrays' items as `[]`. */
function fieldPaths(schema: StructuralSchema, path: string, out: Map<string, StructuralSchema>): Map<string, StructuralSchema> {
  out.set(path, schema);
  for (const [name, child] of Object.entries(schema.properties ?? {})) fieldPaths(child, `${path}.${name}`, out);
  if (schema.items) fieldPaths(schema.items, `${path}[]`, out);
  return out;
}

/** The field paths an object sets. */
function setPaths(value: unknown, path: string, out: Set<string>): void {
  out.add(path);
  if (Array.isArray(value)) for (const item of value) setPaths(item, `${path}[]`, out);
  else if (typeof value === "object" && value !== null) for (const [name, child] of Object.entries(value)) setPaths(child, `${path}.${name}`, out);
}

/** Fields that would leave a host unprotected if ignored: setting them is an error with these reasons. */
const failClosed: Array<{ path: string; reasons: string[] }> = [
  { path: "spec.virtualhost.authorization.extensionRef.name", reasons: ["AuthNotPermitted", "ExtensionServiceNotFound"] },
  { path: "spec.virtualhost.jwtProviders", reasons: ["JWTVerificationNotPermitted", "JWTVerificationNotSupported"] },
  { path: "spec.routes[].jwtVerificationPolicy.require", reasons: ["JWTProviderNotDefined"] },
];

const under = (path: string, top: string): boolean => path === top || path.startsWith(`${top}.`) || path.startsWith(`${top}[]`);

/** A string the schema accepts: the first candidate matching its pattern and length bounds. */
function sampleString(schema: StructuralSchema): string {
  if (schema.enum) return schema.enum[0] as string;
  const candidates = ["a", "1s", "/a", "1", "a.example.com", "x-a"];
  const fits = candidates.find((c) => (schema.pattern === undefined || re2Matches(schema.pattern, c)) && c.length >= (schema.minLength ?? 0));
  if (fits === undefined) throw new Error(`no sample string for pattern ${schema.pattern}`);
  return fits;
}

/** A minimal value valid under `schema`, that also sets the field at `rest` (path segments below it). */
function sample(schema: StructuralSchema, rest: string[]): unknown {
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case "string":
      return sampleString(schema);
    case "integer":
      return Math.max(schema.minimum ?? 1, 1);
    case "boolean":
      return true;
    case "array": {
      const [next, ...after] = rest;
      return [sample(schema.items!, next === "[]" ? after : rest)];
    }
    default: {
      const out: Record<string, unknown> = {};
      const [next, ...after] = rest;
      const wanted = next?.replace(/\[\]$/, "");
      for (const name of schema.required ?? []) if (name !== wanted) out[name] = sample(schema.properties![name]!, []);
      if (wanted !== undefined) {
        const property = schema.properties![wanted]!;
        out[wanted] = sample(property, next!.endsWith("[]") ? ["[]", ...after] : after);
      } else if (typeof schema.additionalProperties === "object") out.key = sample(schema.additionalProperties, []);
      return out;
    }
  }
}

/** The segments of `path` below `top`: `[]` (items of `top` itself), `name` or `name[]`. */
function segmentsBelow(path: string, top: string): string[] {
  return path
    .slice(top.length)
    .replace(/^\[\]/, "[].")
    .split(".")
    .filter((s) => s !== "");
}

/** A valid proxy with the field at `path` (under the unimplemented field `top`) set. */
function proxyWith(path: string, top: string, paths: Map<string, StructuralSchema>): KubeObject {
  const tcp = top.startsWith("spec.tcpproxy");
  const spec: Record<string, unknown> = tcp
    ? { virtualhost: { fqdn: "a.example.com", tls: { passthrough: true } }, tcpproxy: { services: [{ name: "app", port: 80 }] } }
    : { virtualhost: { fqdn: "a.example.com" }, routes: [{ services: [{ name: "app", port: 80 }] }] };
  // Walk from spec to the holder of `top`, taking item 0 of arrays and creating what is missing.
  const segments = top.split(".").slice(1);
  const last = segments.pop()!;
  let holder = spec;
  for (const segment of segments) {
    const name = segment.replace(/\[\]$/, "");
    if (segment.endsWith("[]")) holder = (holder[name] as Array<Record<string, unknown>>)[0]!;
    else holder = (holder[name] ??= {}) as Record<string, unknown>;
  }
  const topSchema = paths.get(top)!;
  holder[last.replace(/\[\]$/, "")] = sample(topSchema, segmentsBelow(path, top));
  return proxy("default", "p", spec);
}

const paths = fieldPaths(specSchema, "spec", new Map());
const unimplemented = unimplementedFields.map((f) => f.path);

describe("every HTTPProxy field is implemented or reported when set", () => {
  test("the lists name fields of the schema", () => {
    for (const path of [...unimplemented, ...failClosed.map((f) => f.path)]) expect(paths.has(path)).toBe(true);
  });

  test("each implemented field is set by a golden input", () => {
    const covered = new Set<string>();
    for (const name of readdirSync(`${root}test/testdata`)) {
      if (name.endsWith(".md")) continue;
      for (const doc of parseAllDocuments(readFileSync(`${root}test/testdata/${name}/input.yaml`, "utf8"))) {
        const object = doc.toJSON() as KubeObject | null;
        if (object?.kind === "HTTPProxy") setPaths(object.spec, "spec", covered);
      }
    }
    const reported = [...unimplemented, ...failClosed.map((f) => f.path)];
    // A field below a reported one is reported with it; one above only holds it.
    const missing = [...paths.keys()].filter((path) => !reported.some((top) => under(path, top) || under(top, path)) && !covered.has(path));
    expect(missing).toEqual([]);
  });

  const backend = service("default", "app");
  for (const entry of unimplementedFields) {
    const below = [...paths.keys()].filter((path) => under(path, entry.path) && !failClosed.some((f) => under(path, f.path)));
    test(`${entry.field}: setting it or any field below it warns (${below.length} paths)`, () => {
      for (const path of below) {
        const object = proxyWith(path, entry.path, paths);
        expect({ path, schema: crdSchemaErrors("HTTPProxy", object) }).toEqual({ path, schema: [] });
        const status = statusOf(build([backend, object], { checkCrdSchema: true }), "default", "p");
        expect({ path, errors: status?.errors ?? [] }).toEqual({ path, errors: [] });
        expect({ path, warnings: status?.warnings.map((w) => w.message) }).toEqual({ path, warnings: [`ignoring field "${entry.field}"; ${entry.why}`] });
      }
    });
  }

  for (const entry of failClosed) {
    const below = [...paths.keys()].filter((path) => under(path, entry.path));
    test(`${entry.path}: setting it or any field below it is an error (${below.length} paths)`, () => {
      for (const path of below) {
        const object = proxyWith(path, entry.path, paths);
        expect({ path, schema: crdSchemaErrors("HTTPProxy", object) }).toEqual({ path, schema: [] });
        const status = statusOf(build([backend, object], { checkCrdSchema: true }), "default", "p");
        const reasons = (status?.errors ?? []).map((c) => c.reason);
        expect({ path, failed: reasons.some((r) => entry.reasons.includes(r)) }).toEqual({ path, failed: true });
      }
    });
  }
});
