// One golden case built as the golden tests build it: its input.yaml through the object cache and
// buildResources, with its options.json and its config.yaml (Contour's configuration file, applied as
// serve applies it), at the golden clock. Shared by the golden tests and the
// real-Envoy check of the goldens (test/e2e/golden.e2e.test.ts), which passes its own ports.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfigFile } from "../../src/config/file.ts";
import { defaultGlobalConfig } from "../../src/config/defaults.ts";
import { globalDagOptions } from "../../src/config/dag-options.ts";
import type { ListenerOptions } from "../../src/dag/listeners.ts";
import type { DagOptions } from "../../src/dag/processor.ts";
import type { TranslateOptions } from "../../src/envoy/translate.ts";
import { buildResources, type BuildResult } from "../../src/pipeline/build.ts";
import { createObjectCache } from "../../src/pipeline/cache.ts";
import { loadManifests, type LoadedManifests } from "../../src/sources/manifests.ts";
import type { KubeObject } from "../../src/sources/types.ts";

export const goldenRoot = join(import.meta.dir, "../testdata");
/** Every golden is built at this instant, so certificate expiry is reproducible. */
export const goldenNow = new Date("2026-11-22T00:00:00Z");

/** The case folders (those with an input.yaml), sorted. */
export function goldenCases(): string[] {
  return readdirSync(goldenRoot, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(goldenRoot, entry.name, "input.yaml")))
    .map((entry) => entry.name)
    .sort();
}

/**
 * Builds one case; `ports` are where its listeners listen (DagOptions.listeners) and the rest of the
 * translate options; `transform`, when given, is applied to each object before the cache (as a source would).
 */
export async function buildGolden(
  name: string,
  ports: { listeners?: ListenerOptions; translate?: TranslateOptions; transform?: (object: KubeObject) => KubeObject | undefined } = {},
): Promise<{ loaded: LoadedManifests; result: BuildResult }> {
  const dir = join(goldenRoot, name);
  const loaded = await loadManifests(join(dir, "input.yaml"));
  const extra = existsSync(join(dir, "options.json")) ? (JSON.parse(readFileSync(join(dir, "options.json"), "utf8")) as Partial<DagOptions>) : {};
  const global = existsSync(join(dir, "config.yaml")) ? loadConfigFile(join(dir, "config.yaml")).config : defaultGlobalConfig();
  const fromConfig: Partial<DagOptions> = {
    ...globalDagOptions(global),
    ...(global.fallbackCertificate ? { fallbackCertificate: global.fallbackCertificate } : {}),
    ...(global.clientCertificate ? { upstreamClientCertificate: global.clientCertificate } : {}),
    ...(global.enableExternalNameService !== undefined ? { enableExternalNameService: global.enableExternalNameService } : {}),
  };
  const dagOptions: DagOptions = { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => goldenNow, checkCrdSchema: true, ...fromConfig, ...extra, ...(ports.listeners ? { listeners: ports.listeners } : {}) };
  const cache = createObjectCache({ ingressClassNames: dagOptions.ingressClassNames, fallbackCertificate: dagOptions.fallbackCertificate, upstreamClientCertificate: dagOptions.upstreamClientCertificate });
  const objects = loaded.objects.map(({ object }) => (ports.transform ? ports.transform(structuredClone(object)) : object));
  cache.applyAll(objects.flatMap((object) => (object ? [{ type: "upsert" as const, object }] : [])));
  return { loaded, result: buildResources(cache, { dag: dagOptions, translate: { global, ...ports.translate } }) };
}
