import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { KubeObject } from "../sources/types.ts";
import { buildDag } from "./builder.ts";
import { readIngressSpec } from "./ingress-spec.ts";
import { fakeInput, ingress, rule, service, testOptions } from "./testing.ts";

describe("readIngressSpec", () => {
  test("a well-formed spec reads without problems", () => {
    const { spec, problems } = readIngressSpec({
      defaultBackend: { service: { name: "web", port: { name: "http" } } },
      tls: [{ hosts: ["a.com"], secretName: "tls" }],
      rules: [rule("a.com", [["/", "Prefix", "web", 80]])],
    });
    expect(problems).toEqual([]);
    expect(spec).toEqual({
      defaultBackend: { service: { name: "web", port: "http" } },
      tls: [{ hosts: ["a.com"], secretName: "tls" }],
      rules: [{ host: "a.com", paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: 80 } } }] }],
    });
  });

  test("fields of the wrong type are reported and left out with what holds them", () => {
    const { spec, problems } = readIngressSpec({
      tls: "all",
      rules: [
        { host: 42, http: { paths: [{ path: "/" }] } },
        { host: "b.com", http: { paths: [{ path: ["/x"], backend: {} }, { path: "/ok", pathType: "Prefix", backend: { service: { name: "web", port: { number: "80" } } } }] } },
      ],
    });
    expect(problems).toEqual([
      "spec.tls must be a list",
      "spec.rules[0].host must be a string",
      "spec.rules[1].http.paths[0].path must be a string",
      "spec.rules[1].http.paths[1].backend.service.port must have a name or an integer number",
    ]);
    expect(spec).toEqual({ tls: [], rules: [{ host: "b.com", paths: [] }] });
  });
});

test("a malformed field is an error on the Ingress; the rest serves", () => {
  const dag = buildDag(
    fakeInput([service("default", "web"), ingress("default", "a", { rules: [{ host: 7 }, rule("ok.com", [["/", "Prefix", "web", 80]])] })]),
    testOptions(),
  );
  expect([...dag.virtualHosts.keys()]).toEqual(["ok.com"]);
  expect(dag.status.get({ kind: "Ingress", namespace: "default", name: "a" })?.errors).toEqual([
    { type: "SpecError", reason: "SpecNotValid", message: "spec.rules[0].host must be a string; the field is ignored" },
  ]);
});

test("annotations written as YAML numbers or booleans are read as text", () => {
  const annotations = { "projectcontour.io/retry-on": "5xx", "projectcontour.io/num-retries": 3, "kubernetes.io/ingress.allow-http": false } as unknown as Record<string, string>;
  const dag = buildDag(fakeInput([service("default", "web"), ingress("default", "a", { rules: [rule("a.com", [["/", "Prefix", "web", 80]])] }, { annotations })]), testOptions());
  // allow-http false and no TLS: nothing served, and no crash on the non-string values.
  expect(dag.virtualHosts.size).toBe(0);
  expect(dag.status.get({ kind: "Ingress", namespace: "default", name: "a" })?.warnings).toEqual([]);
});

test("property: arbitrary Ingress specs never crash the builder, and every Ingress gets a status", () => {
  const text = fc.oneof(fc.constantFrom("/", "/api", "foo.com", "*.foo.com", "web", "http", "Prefix", "Exact", "ImplementationSpecific", "/[a-z]+", "(?=x)*"), fc.string({ maxLength: 8 }));
  const junk = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined));
  const port = fc.oneof(fc.record({ number: fc.oneof(fc.constant(80), fc.integer(), text) }), fc.record({ name: fc.oneof(text, fc.integer()) }), junk);
  const backend = fc.oneof(fc.record({ service: fc.oneof(fc.record({ name: fc.oneof(fc.constant("web"), junk), port }), junk) }), fc.record({ resource: fc.record({ kind: junk }) }), junk);
  const path = fc.oneof(fc.record({ path: fc.oneof(text, junk), pathType: fc.oneof(text, junk), backend }, { requiredKeys: [] }), junk);
  const ruleArb = fc.oneof(fc.record({ host: fc.oneof(text, junk), http: fc.oneof(fc.record({ paths: fc.oneof(fc.array(path, { maxLength: 4 }), junk) }), junk) }, { requiredKeys: [] }), junk);
  const tls = fc.oneof(fc.record({ hosts: fc.oneof(fc.array(fc.oneof(text, junk), { maxLength: 3 }), junk), secretName: fc.oneof(text, junk) }, { requiredKeys: [] }), junk);
  const spec = fc.oneof(
    fc.record({ defaultBackend: backend, tls: fc.oneof(fc.array(tls, { maxLength: 2 }), junk), rules: fc.oneof(fc.array(ruleArb, { maxLength: 4 }), junk) }, { requiredKeys: [] }),
    junk,
  );
  const annotations = fc.dictionary(
    fc.constantFrom("projectcontour.io/response-timeout", "projectcontour.io/retry-on", "projectcontour.io/num-retries", "projectcontour.io/per-try-timeout", "projectcontour.io/websocket-routes", "projectcontour.io/tls-minimum-protocol-version", "ingress.kubernetes.io/force-ssl-redirect", "kubernetes.io/ingress.allow-http"),
    fc.oneof(text, fc.integer(), fc.boolean()),
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(spec, annotations), { minLength: 1, maxLength: 4 }), (items) => {
      const objects: KubeObject[] = items.map(([s, a], i) => ({
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: { namespace: "default", name: `i${i}`, annotations: a as Record<string, string> },
        spec: s,
      }));
      const dag = buildDag(fakeInput([service("default", "web", { ports: [{ name: "http", port: 80 }] }), ...objects]), testOptions());
      for (const object of objects) expect(dag.status.get({ kind: "Ingress", namespace: "default", name: object.metadata.name })).toBeDefined();
      for (const vhost of dag.virtualHosts.values()) for (const route of vhost.routes) expect(route.clusters.length > 0 || route.directResponse !== undefined).toBe(true);
    }),
    { numRuns: 300, seed: 20261122 },
  );
});
