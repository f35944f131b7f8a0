// The embedded CRD schemas: the same as examples/crds (so the binary checks what a cluster would),
// and every HTTPProxy/TLSCertificateDelegation the project ships (quickstart, golden inputs) passes
// them, except the golden objects that show Contour's processor checks on what our CRD refuses.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { parse } from "yaml";
import { loadManifests } from "../sources/manifests.ts";
import type { KubeObject } from "../sources/types.ts";
import { crdSchemaErrors } from "./crd-schema.ts";
import embedded from "./crd-schemas.json" with { type: "json" };

const root = new URL("../..", import.meta.url).pathname;

function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "description").map(([key, v]) => [key, withoutDescriptions(v)]));
}

function errorsOf(objects: KubeObject[]): string[] {
  return objects
    .filter((o) => o.kind === "HTTPProxy" || o.kind === "TLSCertificateDelegation")
    .flatMap((o) => crdSchemaErrors(o.kind as "HTTPProxy", o).map((e) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}: ${e}`));
}

describe("embedded CRD schemas", () => {
  test("equal examples/crds/*.yaml without descriptions (run examples/crds/generate.ts after editing it)", () => {
    for (const [kind, file] of [
      ["HTTPProxy", "httpproxy.yaml"],
      ["TLSCertificateDelegation", "tlscertificatedelegation.yaml"],
    ] as const) {
      const crd = parse(readFileSync(`${root}examples/crds/${file}`, "utf8")) as { spec: { versions: Array<{ schema: { openAPIV3Schema: unknown } }> } };
      expect(embedded[kind]).toEqual(withoutDescriptions(crd.spec.versions[0]!.schema.openAPIV3Schema) as never);
    }
  });

  test("the quickstart passes them", async () => {
    const loaded = await loadManifests(`${root}examples/quickstart`);
    expect(loaded.problems).toEqual([]);
    const objects = loaded.objects.map((o) => o.object);
    expect(objects.some((o) => o.kind === "HTTPProxy")).toBe(true);
    expect(errorsOf(objects)).toEqual([]);
  });

  test("every golden input passes them, but the objects made to show Contour's own checks", async () => {
    const errors: string[] = [];
    for (const name of readdirSync(`${root}test/testdata`).filter((n) => !n.endsWith(".md")).sort()) {
      const objects = (await loadManifests(`${root}test/testdata/${name}`)).objects.map((o) => o.object);
      errors.push(...errorsOf(objects).map((e) => `${name}: ${e}`));
    }
    const fqdnPattern = "'^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'";
    expect(errors.filter((e) => !e.startsWith("httpproxy-unknown-field:"))).toEqual([
      expect.stringMatching(/^httpproxy-policies: HTTPProxy default\/bad-timeout: spec\.routes\[0\]\.timeoutPolicy\.response: Invalid value: "forever": .* in body should match /),
      `httpproxy-wildcard-fqdn: HTTPProxy default/middle: spec.virtualhost.fqdn: Invalid value: "a.*.example.com": spec.virtualhost.fqdn in body should match ${fqdnPattern}`,
      "httpproxy-wildcard-fqdn: HTTPProxy default/nameless: spec.virtualhost.fqdn: Required value",
    ]);
  });
});
