// The DAG's cache across builds (schema errors, typed specs, parsed Secrets by object; DagOptions.cache)
// is only a shortcut: for every golden input, a second build through a warm cache gives what a build
// without one gives (resources, statuses, rejections).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createDagCache } from "../src/dag/cache.ts";
import type { DagOptions } from "../src/dag/processor.ts";
import { buildResources } from "../src/pipeline/build.ts";
import { createObjectCache } from "../src/pipeline/cache.ts";
import { loadManifests } from "../src/sources/manifests.ts";

/** The goldens' instant (golden.test.ts; imported, it would run the goldens here too). */
const goldenNow = new Date("2026-11-22T00:00:00Z");
const root = join(import.meta.dir, "testdata");
const cases = readdirSync(root, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, "input.yaml")))
  .map((entry) => entry.name)
  .sort();

describe("DAG cache", () => {
  for (const name of cases) {
    test(`${name}: a warm cache builds what no cache builds`, async () => {
      const dir = join(root, name);
      const loaded = await loadManifests(join(dir, "input.yaml"));
      const extra = existsSync(join(dir, "options.json")) ? (JSON.parse(readFileSync(join(dir, "options.json"), "utf8")) as Partial<DagOptions>) : {};
      const dag: DagOptions = { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => goldenNow, checkCrdSchema: true, ...extra };
      const objects = createObjectCache({ ingressClassNames: dag.ingressClassNames, fallbackCertificate: dag.fallbackCertificate, upstreamClientCertificate: dag.upstreamClientCertificate });
      objects.applyAll(loaded.objects.map(({ object }) => ({ type: "upsert" as const, object })));
      const view = (options: DagOptions) => {
        const result = buildResources(objects, { dag: options });
        return { resources: result.resources, statuses: result.statuses, rejected: result.rejected };
      };
      const cached = { ...dag, cache: createDagCache() };
      view(cached);
      expect(view(cached)).toEqual(view(dag));
    });
  }
});
