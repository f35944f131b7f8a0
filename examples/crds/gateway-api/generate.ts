// Embeds the OpenAPI schemas of the Gateway API CRDs vendored here (verbatim from
// kubernetes-sigs/gateway-api, Apache-2.0, see LICENSE) into src/dag/gateway-crd-schemas.json, one
// per apiVersion and kind, without descriptions and CEL rules (which the agent does not evaluate),
// so manifest mode checks objects as an API server with these CRDs would. The experimental channel
// is used: it holds every field of the standard channel, so a standard-channel object passes too.
// v1.3.0 is the release Contour 1.33 is built against; the versions it does not serve yet (TLSRoute,
// TCPRoute, ReferenceGrant and BackendTLSPolicy v1) come from v1.6.1, the first release with all of
// them. HTTPRoute is taken from v1.6.1 first: v1.3.0 refuses the redirect status codes 303, 307 and
// 308 (allowed since v1.5.0), and its experimental CORS filter refuses the origins GEP-1767 settled on
// (`*`, `https://*.example.com`).
// Run: ./node_modules/.bin/bun run examples/crds/gateway-api/generate.ts
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { parse } from "yaml";

const here = new URL(".", import.meta.url).pathname;
/** Releases in order of preference: a version already taken from an earlier one is not replaced. */
const releases = ["v1.3.0", "v1.6.1"];
/** Kinds whose preference is the other way round: the newest release first. */
const newestFirst = new Set(["HTTPRoute"]);

interface Crd {
  metadata: { annotations?: Record<string, string> };
  spec: { group: string; names: { kind: string }; versions: Array<{ name: string; served: boolean; schema: { openAPIV3Schema: unknown } }> };
}

function stripped(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripped);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => key !== "description" && key !== "x-kubernetes-validations")
      .map(([key, v]) => [key, stripped(v)]),
  );
}

const schemas: Record<string, { bundleVersion: string; schema: unknown }> = {};
const crds = releases.flatMap((release) => {
  const dir = `${here}${release}/experimental/`;
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((file) => ({ release, crd: parse(readFileSync(dir + file, "utf8")) as Crd }));
});
for (const newest of [false, true]) {
  for (const { release, crd } of newest ? [...crds].reverse() : crds) {
    if (newestFirst.has(crd.spec.names.kind) !== newest) continue;
    for (const version of crd.spec.versions) {
      if (!version.served) continue;
      const key = `${crd.spec.group}/${version.name} ${crd.spec.names.kind}`;
      const taken = schemas[key];
      if (taken && !(newestFirst.has(crd.spec.names.kind) && releases.indexOf(taken.bundleVersion) < releases.indexOf(release))) continue;
      schemas[key] = { bundleVersion: crd.metadata.annotations?.["gateway.networking.k8s.io/bundle-version"] ?? release, schema: stripped(version.schema.openAPIV3Schema) };
    }
  }
}
const sorted = Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => (a < b ? -1 : 1)));
writeFileSync(new URL("../../../src/dag/gateway-crd-schemas.json", import.meta.url).pathname, `${JSON.stringify(sorted)}\n`);
console.log(Object.keys(sorted).join("\n"));
