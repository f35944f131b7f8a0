// The typed specs cannot drift from the CRD schemas: src/dag/crd-types.ts is what
// scripts/crd-types.ts renders from src/dag/crd-schemas.json today, every property of the schemas is
// a field of its interface and every field a property; and readCrdSpec passes well-typed specs
// through unchanged and leaves out (and reports, by path) fields of the wrong type.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { crdTypesPath, renderCrdTypes, type SchemaNode } from "../scripts/crd-types.ts";
import schemaFile from "../src/dag/crd-schemas.json" with { type: "json" };
import { readCrdSpec, type CrdKind } from "../src/dag/crd-reader.ts";

const schemas = schemaFile as unknown as Record<CrdKind, SchemaNode>;
const source = readFileSync(crdTypesPath, "utf8");

/** name → field → type, from the generated file's text (one-line and multi-line interfaces). */
function interfaces(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const match of text.matchAll(/export interface (\w+) \{([^}]*)\}/g)) {
    const fields = new Map<string, string>();
    for (const part of match[2]!.split(/[;\n]/)) {
      const field = /^\s*(\w+)\?: (.+?)\s*$/.exec(part);
      if (field) fields.set(field[1]!, field[2]!);
    }
    out.set(match[1]!, fields);
  }
  for (const match of text.matchAll(/export type (\w+) = Record<string, never>;/g)) out.set(match[1]!, new Map());
  return out;
}

describe("crd-types.ts", () => {
  test("is what scripts/crd-types.ts renders from crd-schemas.json (run it after changing the schemas)", () => {
    expect(source).toBe(renderCrdTypes(schemas));
  });

  test("every schema property is a field of its type, and every field a schema property", () => {
    const types = interfaces(source);
    const mismatches: string[] = [];
    const walk = (node: SchemaNode, type: string, path: string): void => {
      const elementType = type.replace(/^\(?(.*?)\)?\[\]$/, "$1");
      if (node.type === "array") {
        if (!type.endsWith("[]")) mismatches.push(`${path}: a list in the schema, ${type} in the type`);
        else if (node.items) walk(node.items, elementType, `${path}[]`);
        return;
      }
      if (node.properties) {
        const fields = types.get(type);
        if (!fields) {
          mismatches.push(`${path}: an object in the schema, ${type} in the type`);
          return;
        }
        const declared = Object.keys(node.properties);
        for (const field of declared) {
          const fieldType = fields.get(field);
          if (fieldType === undefined) mismatches.push(`${path}.${field}: in the schema, not in ${type}`);
          else walk(node.properties[field]!, fieldType, `${path}.${field}`);
        }
        for (const field of fields.keys()) if (!declared.includes(field)) mismatches.push(`${path}.${field}: in ${type}, not in the schema`);
        return;
      }
      const expected = node.type === "integer" ? "number" : node.type === "object" ? "Record<string, " : node.type;
      if (!type.startsWith(expected ?? "?")) mismatches.push(`${path}: ${node.type} in the schema, ${type} in the type`);
    };
    walk(schemas.HTTPProxy.properties!.spec!, "HTTPProxySpec", "HTTPProxy.spec");
    walk(schemas.TLSCertificateDelegation.properties!.spec!, "TLSCertificateDelegationSpec", "TLSCertificateDelegation.spec");
    expect(mismatches).toEqual([]);
  });
});

/** Any value of the schema's types (not necessarily within its patterns and bounds), each field optional. */
function arbitraryOf(node: SchemaNode, depth = 0): fc.Arbitrary<unknown> {
  if (node.properties) {
    const fields = Object.fromEntries(Object.entries(node.properties).map(([field, child]) => [field, arbitraryOf(child, depth + 1)]));
    return fc.record(fields, { requiredKeys: [] });
  }
  switch (node.type) {
    case "array":
      return fc.array(arbitraryOf(node.items ?? {}, depth + 1), { maxLength: depth > 3 ? 1 : 2 });
    case "string":
      return fc.string({ maxLength: 6 });
    case "integer":
      return fc.integer();
    case "boolean":
      return fc.boolean();
    case "object":
      return fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }), { maxKeys: 2 });
    default:
      return fc.constant(undefined);
  }
}

describe("readCrdSpec", () => {
  for (const kind of ["HTTPProxy", "TLSCertificateDelegation"] as const) {
    test(`a well-typed ${kind} spec comes through unchanged, with no problems`, () => {
      fc.assert(
        fc.property(arbitraryOf(schemas[kind].properties!.spec!), (spec) => {
          const read = readCrdSpec(kind, spec);
          expect(read).toEqual({ spec: spec as never, problems: [] });
          // Nothing to leave out: the spec itself, not a copy.
          if (spec !== undefined) expect(read.spec).toBe(spec as never);
        }),
        { numRuns: 200 },
      );
    });
  }

  test("fields of the wrong type are left out and reported by path (in the object's order); unknown fields are dropped", () => {
    const { spec, problems } = readCrdSpec("HTTPProxy", {
      virtualhost: { fqdn: 7, tls: "yes" },
      routes: [{ services: [{ name: "app", port: "80", weight: 2 }, "junk"], permitInsecure: "true", retryPolicy: { retryOn: ["5xx", 3] } }],
      includes: { name: "x" },
      someday: true,
    });
    expect(spec).toEqual({ virtualhost: {}, routes: [{ services: [{ name: "app", weight: 2 }], retryPolicy: { retryOn: ["5xx"] } }] });
    expect(problems).toEqual([
      "spec.virtualhost.fqdn must be a string",
      "spec.virtualhost.tls must be an object",
      "spec.routes[0].services[0].port must be an integer",
      "spec.routes[0].services[1] must be an object",
      "spec.routes[0].permitInsecure must be a boolean",
      "spec.routes[0].retryPolicy.retryOn[1] must be a string",
      "spec.includes must be a list",
    ]);
  });

  test("an absent or null spec is an empty one; a spec that is not an object is reported", () => {
    expect(readCrdSpec("HTTPProxy", undefined)).toEqual({ spec: {}, problems: [] });
    expect(readCrdSpec("TLSCertificateDelegation", null)).toEqual({ spec: {}, problems: [] });
    expect(readCrdSpec("HTTPProxy", "x")).toEqual({ spec: {}, problems: ["spec must be an object"] });
  });
});

describe("the HTTPProxy processor reads the typed spec", () => {
  test("from a cluster (no schema check), a mistyped field is an error naming its path, and is ignored", async () => {
    const { build, proxy, routesOf, statusOf } = await import("../src/dag/httpproxy-testing.ts");
    const { service } = await import("../src/dag/testing.ts");
    const root = proxy("apps", "root", {
      virtualhost: { fqdn: "app.example.com" },
      routes: [{ conditions: [{ prefix: "/api" }], enableWebsockets: "yes", services: [{ name: "app", port: 80, weight: "ten" }] }],
    });
    const dag = build([service("apps", "app"), root]);
    expect(statusOf(dag, "apps", "root")?.errors).toEqual([
      { type: "SpecError", reason: "SpecNotValid", message: "spec.routes[0].enableWebsockets must be a boolean; the field is ignored" },
      { type: "SpecError", reason: "SpecNotValid", message: "spec.routes[0].services[0].weight must be an integer; the field is ignored" },
    ]);
    const [route] = routesOf(dag, "app.example.com");
    expect(route?.websocket).toBeUndefined();
    expect(route?.clusters.map((c) => c.weight)).toEqual([1]);
  });

  test("the same object is read once across builds sharing a cache", async () => {
    const { build, proxy } = await import("../src/dag/httpproxy-testing.ts");
    const { createDagCache } = await import("../src/dag/cache.ts");
    const cache = createDagCache();
    const root = proxy("apps", "root", { virtualhost: { fqdn: "app.example.com" }, routes: [{ services: [{ name: "app", port: 80 }] }] });
    build([root], { cache });
    const first = cache.specs.get(root);
    build([root], { cache });
    expect(first).toBeDefined();
    expect(cache.specs.get(root)).toBe(first!);
  });
});

describe("TLSCertificateDelegation read through readCrdSpec", () => {
  test("from a cluster, a mistyped entry is an error on the delegation and grants nothing; the rest still delegates", async () => {
    const { build } = await import("../src/dag/httpproxy-testing.ts");
    const { delegation } = await import("../src/dag/testing.ts");
    const good = delegation("certs", "d", "wild", ["team-a"]);
    const mistyped = { ...delegation("certs", "e", "other", ["team-b"]), spec: { delegations: [{ secretName: "other", targetNamespaces: "team-b" }, { secretName: 7 }] } };
    const dag = build([good, mistyped]);
    expect(dag.status.get({ kind: "TLSCertificateDelegation", namespace: "certs", name: "d" })).toBeUndefined();
    expect(dag.status.get({ kind: "TLSCertificateDelegation", namespace: "certs", name: "e" })?.errors).toEqual([
      { type: "SpecError", reason: "SpecNotValid", message: "spec.delegations[0].targetNamespaces must be a list; the field is ignored" },
      { type: "SpecError", reason: "SpecNotValid", message: "spec.delegations[1].secretName must be a string; the field is ignored" },
    ]);
    const { delegationPermitted } = await import("../src/dag/secrets.ts");
    const { fakeInput } = await import("../src/dag/testing.ts");
    expect(delegationPermitted(fakeInput([good, mistyped]), { namespace: "certs", name: "wild", targetNamespace: "team-a" })).toBe(true);
    expect(delegationPermitted(fakeInput([good, mistyped]), { namespace: "certs", name: "other", targetNamespace: "team-b" })).toBe(false);
  });
});

describe("typed policies keep what absent, zero and negative fields meant", () => {
  test("health check counts that are not positive take Contour's defaults", async () => {
    const { httpHealthCheck, tcpHealthCheck } = await import("../src/dag/httpproxy-policies.ts");
    const defaults = { intervalSeconds: 5, timeoutSeconds: 2, unhealthyThresholdCount: 3, healthyThresholdCount: 2 };
    expect(tcpHealthCheck({})).toEqual(defaults);
    expect(tcpHealthCheck({ intervalSeconds: 0, timeoutSeconds: -1, unhealthyThresholdCount: 0, healthyThresholdCount: -5 })).toEqual(defaults);
    expect(httpHealthCheck({ path: "/h", intervalSeconds: 0, timeoutSeconds: 7 })).toEqual({ ok: { path: "/h", ...defaults, timeoutSeconds: 7 } });
  });

  test("retry counts: absent or 0 is one retry, -1 none, a fraction rounds down", async () => {
    const { retryPolicy } = await import("../src/dag/httpproxy-policies.ts");
    expect(retryPolicy({})).toEqual({ retryOn: ["5xx"], numRetries: 1 });
    expect(retryPolicy({ count: 0 })?.numRetries).toBe(1);
    expect(retryPolicy({ count: -1 })?.numRetries).toBe(0);
    expect(retryPolicy({ count: 2.7, retryOn: ["reset"] })).toEqual({ retryOn: ["reset"], numRetries: 2 });
    expect(retryPolicy(undefined)).toBeUndefined();
  });
});
