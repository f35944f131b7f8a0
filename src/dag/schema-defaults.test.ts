// Structural defaulting as the API server does it: absent (or disallowed null) fields get a copy
// of their schema default, the walk continues inside what was set, arrays and maps are walked,
// nothing is mutated and an object with nothing to default is returned as is; and the Gateway API
// CRDs' own defaults land where a cluster would put them.
import { describe, expect, test } from "bun:test";
import { createDagCache } from "./cache.ts";
import { crdDefaulted, gatewayCrdChecked } from "./crd-schema.ts";
import type { StructuralSchema } from "./schema.ts";
import { withSchemaDefaults } from "./schema-defaults.ts";
import type { KubeObject } from "../sources/types.ts";

const schema: StructuralSchema = {
  type: "object",
  properties: {
    metadata: { type: "object", properties: { name: { type: "string", default: "never" } } },
    spec: {
      type: "object",
      properties: {
        mode: { type: "string", default: "Same" },
        maybe: { type: "string", nullable: true, default: "x" },
        match: { type: "object", default: {}, properties: { type: { type: "string", default: "Prefix" }, value: { type: "string", default: "/" } } },
        items: { type: "array", items: { type: "object", properties: { weight: { type: "integer", default: 1 } } } },
        byName: { type: "object", additionalProperties: { type: "object", properties: { on: { type: "boolean", default: true } } } },
      },
    },
  },
};

describe("withSchemaDefaults", () => {
  test("absent fields get their default, and the defaults' own fields theirs", () => {
    const object = { metadata: {}, spec: { items: [{}, { weight: 0 }], byName: { a: {}, b: { on: false } } } };
    const before = structuredClone(object);
    expect(withSchemaDefaults(object, schema, ["metadata"]) as unknown).toEqual({
      metadata: {},
      spec: { mode: "Same", maybe: "x", match: { type: "Prefix", value: "/" }, items: [{ weight: 1 }, { weight: 0 }], byName: { a: { on: true }, b: { on: false } } },
    });
    expect(object).toEqual(before);
  });

  test("null is defaulted only where the schema does not allow it; set values stay", () => {
    const out = withSchemaDefaults({ spec: { mode: null, maybe: null, match: { type: "Exact" } } }, schema);
    expect(out.spec).toMatchObject({ mode: "Same", maybe: null, match: { type: "Exact", value: "/" } });
  });

  test("an object with nothing to default is the same object; two defaults are two copies", () => {
    const full = { spec: { mode: "All", maybe: "y", match: { type: "Exact", value: "/a" } } };
    expect(withSchemaDefaults(full, schema)).toBe(full);
    const a = withSchemaDefaults({ spec: {} }, schema) as { spec: { match: object } };
    const b = withSchemaDefaults({ spec: {} }, schema) as { spec: { match: object } };
    expect(a.spec.match).not.toBe(b.spec.match);
  });
});

describe("the Gateway API CRDs' defaults, in manifest mode", () => {
  const checked = (object: object) => gatewayCrdChecked(object as KubeObject)!;

  test("HTTPRoute: parentRef group and kind, the rule's catch-all match, a match's path type and value, header and query types, backend group, kind and weight", () => {
    const route = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "r", namespace: "n" },
      spec: {
        parentRefs: [{ name: "web" }],
        rules: [
          { backendRefs: [{ name: "app", port: 80 }] },
          { matches: [{ path: { value: "/api" }, headers: [{ name: "x", value: "1" }], queryParams: [{ name: "q", value: "2" }] }], filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https" } }] },
        ],
      },
    };
    const { object, errors } = checked(route);
    expect(errors).toEqual([]);
    expect(object.spec).toEqual({
      parentRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "web" }],
      rules: [
        { matches: [{ path: { type: "PathPrefix", value: "/" } }], backendRefs: [{ group: "", kind: "Service", name: "app", port: 80, weight: 1 }] },
        {
          matches: [{ path: { type: "PathPrefix", value: "/api" }, headers: [{ type: "Exact", name: "x", value: "1" }], queryParams: [{ type: "Exact", name: "q", value: "2" }] }],
          filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 302 } }],
        },
      ],
    });
  });

  test("an HTTPRoute without rules gets the one catch-all rule", () => {
    const { object } = checked({ apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name: "r" }, spec: { parentRefs: [{ name: "web" }] } });
    expect((object as unknown as { spec: { rules: unknown } }).spec.rules).toEqual([{ matches: [{ path: { type: "PathPrefix", value: "/" } }] }]);
  });

  test("Gateway: a listener's allowedRoutes default to the Gateway's namespace, a TLS listener's mode to Terminate", () => {
    const gateway = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: { name: "web", namespace: "infra" },
      spec: { gatewayClassName: "c", listeners: [{ name: "tls", port: 9443, protocol: "TLS", tls: { certificateRefs: [{ name: "cert" }] } }] },
    };
    const { object, errors } = checked(gateway);
    expect(errors).toEqual([]);
    expect((object as unknown as { spec: { listeners: unknown[] } }).spec.listeners[0]).toEqual({
      name: "tls",
      port: 9443,
      protocol: "TLS",
      allowedRoutes: { namespaces: { from: "Same" } },
      tls: { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: "cert" }] },
    });
  });

  test("GRPCRoute: a method match's type is Exact", () => {
    const route = { apiVersion: "gateway.networking.k8s.io/v1", kind: "GRPCRoute", metadata: { name: "g" }, spec: { rules: [{ matches: [{ method: { service: "echo.Echo" } }] }] } };
    const { object } = checked(route);
    expect((object as unknown as { spec: { rules: Array<{ matches: unknown }> } }).spec.rules[0]!.matches).toEqual([{ method: { type: "Exact", service: "echo.Echo" } }]);
  });
});

test("HTTPRoute redirects with 303, 307 and 308 pass the schema manifests are checked against (v1.6.1's; v1.3.0's allowed 301 and 302 only)", () => {
  for (const statusCode of [301, 302, 303, 307, 308, 304]) {
    const route = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: { name: "r" },
      spec: { rules: [{ filters: [{ type: "RequestRedirect", requestRedirect: { statusCode } }] }] },
    };
    const errors = gatewayCrdChecked(route as unknown as KubeObject)!.errors;
    expect({ statusCode, errors }).toEqual({ statusCode, errors: statusCode === 304 ? [expect.stringContaining("spec.rules[0].filters[0].requestRedirect.statusCode: Unsupported value: 304")] : [] });
  }
});

test("HTTPProxy manifests get their CRD's defaults by the same walk (slow start aggression and minimum weight, the authorization body's size)", () => {
  const proxy = {
    apiVersion: "projectcontour.io/v1",
    kind: "HTTPProxy",
    metadata: { name: "p", namespace: "n" },
    spec: {
      virtualhost: { fqdn: "a.example.com", authorization: { extensionRef: { name: "auth" }, withRequestBody: {} } },
      routes: [{ services: [{ name: "app", port: 80, slowStartPolicy: { window: "5s" } }] }],
    },
  };
  const cache = createDagCache();
  const defaulted = crdDefaulted("HTTPProxy", proxy as unknown as KubeObject, cache) as unknown as typeof proxy;
  expect(defaulted.spec.routes[0]!.services[0]!.slowStartPolicy as unknown).toEqual({ window: "5s", aggression: "1.0", minWeightPercent: 10 });
  expect(defaulted.spec.virtualhost.authorization.withRequestBody).toMatchObject({ maxRequestBytes: 1024 });
  // The build's cache keeps the copy, so every build gets the same one.
  expect(crdDefaulted("HTTPProxy", proxy as unknown as KubeObject, cache)).toBe(defaulted as unknown as KubeObject);
  expect(proxy.spec.routes[0]!.services[0]!.slowStartPolicy).toEqual({ window: "5s" });
});
