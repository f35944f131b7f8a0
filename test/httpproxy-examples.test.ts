// The HTTPProxy CRDs (examples/crds) and the quickstart's HTTPProxy examples, across stages: every
// HTTPProxy and TLSCertificateDelegation in the quickstart passes the CRD's OpenAPI schema; the
// schema refuses what Contour's refuses; the whole quickstart builds with every HTTPProxy valid and
// translates into resources that pass Envoy's validation rules.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { buildDag } from "../src/dag/builder.ts";
import { schemaErrors, type StructuralSchema } from "../src/dag/schema.ts";
import { fakeInput, testOptions } from "../src/dag/testing.ts";
import { expectTranslationValid } from "../src/envoy/testing.ts";
import { translate } from "../src/envoy/translate.ts";
import { loadManifests } from "../src/sources/manifests.ts";
import type { KubeObject } from "../src/sources/types.ts";

type Schema = Record<string, unknown>;
const root = new URL("..", import.meta.url).pathname;

function schemaOf(file: string): Schema {
  const crd = parse(readFileSync(`${root}examples/crds/${file}`, "utf8")) as { spec: { versions: Array<{ schema: { openAPIV3Schema: Schema } }> } };
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
}

/** The schema check the agent itself runs (src/dag/schema.ts), with paths written `.spec.…`. */
function validate(schema: Schema, value: unknown): string[] {
  return schemaErrors(value, schema as StructuralSchema, { skip: ["metadata", "status"], maxErrors: 100 }).map((error) => `.${error}`);
}

const httpProxySchema = schemaOf("httpproxy.yaml");
const delegationSchema = schemaOf("tlscertificatedelegation.yaml");

async function quickstart(): Promise<KubeObject[]> {
  const { objects, problems } = await loadManifests(`${root}examples/quickstart`);
  expect(problems).toEqual([]);
  return objects.map((o) => o.object);
}

describe("CRDs", () => {
  test("both CRDs: projectcontour.io/v1, namespaced, status subresource; HTTPProxy's printer columns", () => {
    for (const file of ["httpproxy.yaml", "tlscertificatedelegation.yaml"]) {
      const crd = parse(readFileSync(`${root}examples/crds/${file}`, "utf8"));
      expect(crd.spec.group).toBe("projectcontour.io");
      expect(crd.spec.scope).toBe("Namespaced");
      expect(crd.spec.versions.map((v: { name: string; served: boolean; storage: boolean }) => [v.name, v.served, v.storage])).toEqual([["v1", true, true]]);
      expect(crd.spec.versions[0].subresources).toEqual({ status: {} });
    }
    const crd = parse(readFileSync(`${root}examples/crds/httpproxy.yaml`, "utf8"));
    expect(crd.spec.versions[0].additionalPrinterColumns.map((c: { name: string; jsonPath: string }) => [c.name, c.jsonPath])).toEqual([
      ["FQDN", ".spec.virtualhost.fqdn"],
      ["TLS Secret", ".spec.virtualhost.tls.secretName"],
      ["Status", ".status.currentStatus"],
      ["Status Description", ".status.description"],
    ]);
  });

  test("the quickstart's HTTPProxies and TLSCertificateDelegations pass the schemas", async () => {
    const objects = await quickstart();
    const checked = objects.filter((o) => o.kind === "HTTPProxy" || o.kind === "TLSCertificateDelegation");
    expect(checked.length).toBeGreaterThanOrEqual(6);
    for (const object of checked) {
      const schema = object.kind === "HTTPProxy" ? httpProxySchema : delegationSchema;
      expect({ name: object.metadata.name, errors: validate(schema, object) }).toEqual({ name: object.metadata.name, errors: [] });
    }
  });

  test("the schema refuses what Contour's refuses", () => {
    const proxy = (spec: unknown) => ({ apiVersion: "projectcontour.io/v1", kind: "HTTPProxy", metadata: { name: "x" }, spec });
    const refused: Array<[unknown, string]> = [
      [{ virtualhost: { fqdn: "Bad_Host" } }, ".spec.virtualhost.fqdn"],
      [{ routes: [{ services: [{ name: "a", port: 70000 }] }] }, ".spec.routes[0].services[0].port"],
      [{ routes: [{ services: [{ name: "a", port: 80, protocol: "grpc" }] }] }, ".spec.routes[0].services[0].protocol"],
      [{ routes: [{ timeoutPolicy: { response: "soon" } }] }, ".spec.routes[0].timeoutPolicy.response"],
      [{ routes: [{ retryPolicy: { retryOn: ["sometimes"] } }] }, ".spec.routes[0].retryPolicy.retryOn[0]"],
      [{ routes: [{ directResponsePolicy: { statusCode: 99 } }] }, ".spec.routes[0].directResponsePolicy.statusCode"],
      [{ routes: [{ requestRedirectPolicy: { statusCode: 304 } }] }, ".spec.routes[0].requestRedirectPolicy.statusCode"],
      [{ routes: [{ cookieRewritePolicies: [{ name: "a;b", secure: true }] }] }, ".spec.routes[0].cookieRewritePolicies[0].name"],
      [{ virtualhost: { fqdn: "a.example.com", ipAllowPolicy: [{ cidr: "10.0.0.0/8", source: "Nowhere" }] } }, ".spec.virtualhost.ipAllowPolicy[0].source"],
      [{ virtualhost: { fqdn: "a.example.com", rateLimitPolicy: { local: { requests: 1, unit: "day" } } } }, ".spec.virtualhost.rateLimitPolicy.local.unit"],
      [{ includes: [{ namespace: "x" }] }, ".spec.includes[0].name"],
    ];
    for (const [spec, path] of refused) {
      expect(validate(httpProxySchema, proxy(spec)).some((e) => e.startsWith(`${path}:`))).toBe(true);
    }
    expect(validate(httpProxySchema, proxy({ virtualhost: { fqdn: "*.example.com" }, routes: [{ services: [{ name: "a", port: 80, weight: 0 }] }] }))).toEqual([]);
    expect(validate(delegationSchema, { apiVersion: "projectcontour.io/v1", kind: "TLSCertificateDelegation", metadata: { name: "d" }, spec: { delegations: [{ secretName: "s" }] } })).toEqual([
      ".spec.delegations[0].targetNamespaces: Required value",
    ]);
  });
});

describe("quickstart HTTPProxy examples", () => {
  test("every HTTPProxy is valid, each example serves its host, and the translation passes Envoy's rules", async () => {
    const objects = await quickstart();
    const dag = buildDag(fakeInput(objects), testOptions({ now: () => new Date() }));
    const proxies = dag.status.all().filter((s) => s.ref.kind === "HTTPProxy");
    expect(proxies.map((s) => [`${s.ref.namespace}/${s.ref.name}`, s.currentStatus, s.errors])).toEqual([
      ["proxy-blog/blog", "valid", []],
      ["proxy-canary/shop", "valid", []],
      ["proxy-headers/api", "valid", []],
      ["proxy-mtls/mtls", "valid", []],
      ["proxy-root/www", "valid", []],
    ]);
    for (const host of ["www.example.com", "shop.example.com", "api.example.com", "mtls.example.com"]) expect(dag.virtualHosts.has(host)).toBe(true);
    const mtls = dag.secureVirtualHosts.get("mtls.example.com");
    expect(mtls?.secret?.ref).toEqual({ kind: "Secret", namespace: "proxy-certs", name: "mtls-example-tls" });
    expect(mtls?.downstreamValidation?.caSecret?.ref).toEqual({ kind: "Secret", namespace: "proxy-mtls", name: "client-ca" });
    const blog = dag.virtualHosts.get("www.example.com")!.routes.map((r) => [r.pathMatch.value, r.pathRewrite?.prefixReplacement]);
    expect(blog).toEqual([["/blog/admin", undefined], ["/blog", "/"], ["/blog/", "/"], ["/", undefined]]);
    const canary = dag.virtualHosts.get("shop.example.com")!.routes.at(-1)!;
    expect(canary.clusters.map((c) => [c.cluster.service.name, c.weight])).toEqual([["shop-stable", 90], ["shop-canary", 10]]);
    expectTranslationValid(translate(dag));
  });
});
