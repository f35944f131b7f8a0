// The embedded Gateway API schemas (gateway-crd-schemas.json) are the vendored upstream CRDs'
// (examples/crds/gateway-api/, run its generate.ts after changing them), and every apiVersion the
// sources accept for a Gateway API kind has one.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { acceptedApiVersions, watchedKinds } from "../sources/types.ts";
import embedded from "./gateway-crd-schemas.json" with { type: "json" };

const vendored = join(import.meta.dir, "..", "..", "examples", "crds", "gateway-api");

function stripped(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripped);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "description" && key !== "x-kubernetes-validations").map(([key, v]) => [key, stripped(v)]));
}

test("each embedded schema is its vendored CRD version's, without descriptions and CEL rules", () => {
  const schemas = embedded as Record<string, { bundleVersion: string; schema: unknown }>;
  for (const [key, { bundleVersion, schema }] of Object.entries(schemas)) {
    const [apiVersion, kind] = key.split(" ") as [string, string];
    const version = apiVersion.slice(apiVersion.indexOf("/") + 1);
    const dir = join(vendored, bundleVersion, "experimental");
    const file = readdirSync(dir).find((f) => (parse(readFileSync(join(dir, f), "utf8")) as { spec: { names: { kind: string } } }).spec.names.kind === kind);
    expect({ key, file: file !== undefined }).toEqual({ key, file: true });
    const crd = parse(readFileSync(join(dir, file!), "utf8")) as { spec: { versions: Array<{ name: string; schema: { openAPIV3Schema: unknown } }> } };
    expect(schema).toEqual(stripped(crd.spec.versions.find((v) => v.name === version)!.schema.openAPIV3Schema));
  }
}, 30_000); // parses every vendored Gateway API CRD: seconds on a loaded machine

test("every accepted Gateway API apiVersion has an embedded schema; v1.3.0 is preferred where it has the version, but for HTTPRoute", () => {
  const schemas = embedded as Record<string, { bundleVersion: string }>;
  for (const kind of watchedKinds.filter((k) => k.group === "gateway.networking.k8s.io")) {
    for (const apiVersion of acceptedApiVersions(kind)) expect({ key: `${apiVersion} ${kind.kind}`, embedded: `${apiVersion} ${kind.kind}` in schemas }).toEqual({ key: `${apiVersion} ${kind.kind}`, embedded: true });
  }
  expect(schemas["gateway.networking.k8s.io/v1 Gateway"]!.bundleVersion).toBe("v1.3.0");
  expect(schemas["gateway.networking.k8s.io/v1 TLSRoute"]!.bundleVersion).toBe("v1.6.1");
  // HTTPRoute from v1.6.1: v1.3.0 refuses 303/307/308 redirects, and its CORS filter `*` and wildcard origins.
  expect(schemas["gateway.networking.k8s.io/v1 HTTPRoute"]!.bundleVersion).toBe("v1.6.1");
  expect(schemas["gateway.networking.k8s.io/v1beta1 HTTPRoute"]!.bundleVersion).toBe("v1.6.1");
});
