// Property test of the whole translation: random Ingresses and HTTPProxies (odd hosts, paths, regexes,
// headers with `%` and unicode, weights, missing Services, include cycles and dangling includes) with
// Services, EndpointSlices and Secrets go through the object cache and buildResources. The build never
// throws, every served object gets a status, nothing it makes is rejected by the validator, and what it
// publishes encodes strictly, passes Envoy's rules and is a consistent snapshot.
import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { refKey } from "../src/dag/status.ts";
import { buildResources } from "../src/pipeline/build.ts";
import { createObjectCache } from "../src/pipeline/cache.ts";
import { encodeStrict } from "../src/xds/registry.ts";
import { resourceTypes } from "../src/xds/types.ts";
import { validateResource } from "../src/xds/validate.ts";
import { validateSnapshot } from "../src/xds/validate-snapshot.ts";
import { dagOptionsOf, loadSecretBodies, objectsOf, world, type World } from "./helpers/fuzz-world.ts";

beforeAll(async () => {
  expect(await loadSecretBodies()).toEqual(expect.arrayContaining(["good", "opaque", "mismatch", "expired", "client-ca", "client-crl"]));
});

function check(w: World): void {
  const options = dagOptionsOf(w);
  const cache = createObjectCache({ ingressClassNames: [] });
  cache.applyAll(objectsOf(w).map((object) => ({ type: "upsert" as const, object })));
  const result = buildResources(cache, { dag: options });

  const statusKeys = new Set(result.statuses.map((s) => refKey(s.ref)));
  for (const object of [...cache.ingresses(), ...cache.httpProxies()]) {
    expect(statusKeys.has(refKey({ kind: object.kind, namespace: object.metadata.namespace ?? "", name: object.metadata.name }))).toBe(true);
  }
  // The DAG and translator make only what Envoy accepts: the validator is a safety net, not a filter.
  if (result.rejected.length > 0) throw new Error(`rejected: ${JSON.stringify(result.rejected)}`);
  for (const info of resourceTypes) {
    for (const resource of result.resources[info.kind] ?? []) {
      encodeStrict(info.typeUrl, resource);
      expect(validateResource(info.typeUrl, resource)).toEqual([]);
    }
  }
  expect(validateSnapshot(result.resources).rejected).toEqual([]);
  // What encodeStrict and Envoy's field rules do not catch: integers that wrap in 32 bits, and
  // Envoy's own check that a route's cluster weights add up within 32 bits.
  for (const info of resourceTypes) for (const resource of result.resources[info.kind] ?? []) expect(integerProblems(resource)).toEqual([]);
}

function integerProblems(value: unknown, path = ""): string[] {
  if (typeof value === "number") return Number.isInteger(value) && Math.abs(value) > 4294967295 ? [`${path}: ${value}`] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => integerProblems(item, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  const problems = Object.entries(value).flatMap(([key, item]) => integerProblems(item, `${path}.${key}`));
  const clusters = (value as { clusters?: unknown }).clusters;
  if (path.endsWith("weighted_clusters") && Array.isArray(clusters)) {
    const total = clusters.reduce((sum: number, c: { weight?: number }) => sum + (c.weight ?? 0), 0);
    if (total > 4294967295) problems.push(`${path}: weights add up to ${total}`);
  }
  return problems;
}

describe("translation fuzz", () => {
  test("random Ingresses and HTTPProxies: no throw, a status for every object, only valid consistent resources", () => {
    fc.assert(fc.property(world, check), { numRuns: Number(process.env.FUZZ_RUNS ?? 250), includeErrorInReport: true });
  }, 60_000);
});
