// isobar's CRDs (HTTPProxy, TLSCertificateDelegation, ContourConfiguration, ExtensionService) are
// Contour 1.33's: the same group, version, names and scope, and every field path, type, enum,
// default, bound, pattern and required list of Contour's CRD (checked in under
// test/contour-crd-shape/, read from Contour's examples/contour/01-crds.yaml) is in ours, and ours
// has nothing more. So an object valid under Contour's CRD is valid under ours, defaulted the same.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import embedded from "../src/dag/crd-schemas.json" with { type: "json" };
import { crdSchemaErrors } from "../src/dag/crd-schema.ts";
import type { KubeObject } from "../src/sources/types.ts";
import { crdShape, schemaShape } from "./contour-crd-shape/shape.ts";

const here = new URL(".", import.meta.url).pathname;

function contourShape(file: string): string[] {
  return readFileSync(`${here}contour-crd-shape/${file}`, "utf8")
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"));
}

function ourCrd(file: string): Record<string, unknown> {
  return parse(readFileSync(`${here}../examples/crds/${file}`, "utf8")) as Record<string, unknown>;
}

describe("CRD schemas match Contour 1.33's, field by field", () => {
  for (const name of ["httpproxy", "tlscertificatedelegation", "contourconfiguration", "extensionservice"]) {
    test(`examples/crds/${name}.yaml`, () => {
      expect(crdShape(ourCrd(`${name}.yaml`))).toEqual(contourShape(`${name}.txt`));
    });
  }
  for (const [kind, shapeFile] of [
    ["HTTPProxy", "httpproxy.txt"],
    ["TLSCertificateDelegation", "tlscertificatedelegation.txt"],
  ] as const) {
    test(`${kind}: the schema the agent checks manifests against`, () => {
      const spec = (embedded[kind] as { properties: { spec: Record<string, unknown> } }).properties.spec;
      expect(schemaShape(spec, "spec")).toEqual(contourShape(shapeFile).filter((line) => !line.startsWith("crd ")));
    });
  }

  test("the fields that used to drift: Contour's spellings and enum values are accepted", () => {
    const proxy = {
      apiVersion: "projectcontour.io/v1",
      kind: "HTTPProxy",
      metadata: { namespace: "default", name: "drift" },
      spec: {
        virtualhost: { fqdn: "a.example.com", tls: { secretName: "s", clientValidation: { caSecret: "ca", crlSecret: "crl", crlOnlyVerifyLeafCert: true } } },
        routes: [
          { requestRedirectPolicy: { statusCode: 308 } },
          { retryPolicy: { retryOn: ["reset-before-request", "envoy-ratelimited", "http3-post-connect-failure"] }, services: [{ name: "s", port: 80, slowStartPolicy: { window: "5s", minWeightPercent: 20 } }] },
        ],
      },
    } as unknown as KubeObject;
    expect(crdSchemaErrors("HTTPProxy", proxy)).toEqual([]);
    const old = structuredClone(proxy) as unknown as { spec: { routes: Array<{ services?: Array<{ slowStartPolicy: Record<string, unknown> }> }> } };
    old.spec.routes[1]!.services![0]!.slowStartPolicy = { window: "5s", minimumWeightPercent: 20 };
    expect(crdSchemaErrors("HTTPProxy", old as unknown as KubeObject)).toEqual(["spec.routes[1].services[0].slowStartPolicy.minimumWeightPercent: field not declared in schema"]);
  });
});
