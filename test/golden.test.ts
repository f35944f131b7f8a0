// Golden tests: each folder under test/testdata/ holds `input.yaml` (Kubernetes objects) and the
// expected output of one full build as JSON: the DAG (`dag.json`, dag/dag-json.ts), listeners, routes,
// clusters, endpoints, secrets (Envoy resources as served) and status (every object's conditions),
// plus `rejected.json` when the validator left anything out. A processor change shows in dag.json,
// a translator change in the Envoy resources: two diffs. An optional `options.json` sets DagOptions (`rootNamespaces`,
// `fallbackCertificate`, `ingressClassNames`, `enableExternalNameService`), and an optional
// `config.yaml` is Contour's configuration file (`serve --config-path`), applied as serve applies it.
// `UPDATE_GOLDEN=1 bun test test/golden.test.ts` rewrites the outputs and deletes stale ones.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dagJson } from "../src/dag/dag-json.ts";
import { buildResources } from "../src/pipeline/build.ts";
import { createObjectCache } from "../src/pipeline/cache.ts";
import { loadManifests } from "../src/sources/manifests.ts";
import { encodeStrict } from "../src/xds/registry.ts";
import { findReferences } from "../src/xds/references.ts";
import { resourceTypes, TypeUrls } from "../src/xds/types.ts";
import { buildGolden, goldenCases, goldenNow, goldenRoot as root } from "./helpers/golden-build.ts";

const update = process.env.UPDATE_GOLDEN === "1";
const outputs = ["dag", "listeners", "routes", "clusters", "endpoints", "secrets", "status", "rejected"] as const;

const cases = goldenCases();

describe("golden", () => {
  test("there are golden cases", () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const name of cases) {
    test(name, async () => {
      const dir = join(root, name);
      const { loaded, result } = await buildGolden(name);
      expect(loaded.problems.map((p) => p.message)).toEqual([]);

      // Whatever is published must encode strictly: the goldens never show a resource Envoy can't parse.
      for (const info of resourceTypes) for (const resource of result.resources[info.kind] ?? []) encodeStrict(info.typeUrl, resource);
      // Every published secret is one a published listener or cluster fetches over SDS: SDS scoping serves it to the Envoy that needs it.
      const fetched = new Set([
        ...result.resources.listeners.flatMap((l) => findReferences(TypeUrls.listener, l).secrets),
        ...result.resources.clusters.flatMap((c) => findReferences(TypeUrls.cluster, c).secrets),
      ]);
      expect(result.resources.secrets.map((s) => (s as { name: string }).name).filter((n) => !fetched.has(n))).toEqual([]);

      const actual: Record<(typeof outputs)[number], unknown> = {
        dag: dagJson(result.dag),
        ...result.resources,
        status: result.statuses,
        rejected: result.rejected,
      };
      for (const output of outputs) {
        const file = join(dir, `${output}.json`);
        const value = actual[output];
        const empty = Array.isArray(value) && value.length === 0 && (output === "rejected" || output === "secrets");
        if (update) {
          if (empty) rmSync(file, { force: true });
          else writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
          continue;
        }
        const expected = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : empty ? value : undefined;
        expect({ output, value: JSON.parse(JSON.stringify(value)) }).toEqual({ output, value: expected });
      }
    });
  }

  test("deterministic: the same input builds byte-identical output", async () => {
    const build = async () => {
      const loaded = await loadManifests(join(root, cases[0]!, "input.yaml"));
      const cache = createObjectCache({ ingressClassNames: [] });
      cache.applyAll(loaded.objects.reverse().map(({ object }) => ({ type: "upsert" as const, object })));
      return JSON.stringify(buildResources(cache, { dag: { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => goldenNow } }).resources);
    };
    expect(await build()).toBe(await build());
  });
});
