// Fuzzing the manifest reader: random YAML (anchors, aliases to anything or nothing, tags, merge keys,
// directives, flow and block styles, alias chains), random and broken JSON and random bytes are
// written beside valid manifests in a directory the manifest source watches, then rewritten, removed
// and added again. Whatever they hold, the valid manifests are served, exactly, after every batch of
// events; the parser never throws, and what it returns is plain JSON. FUZZ_RUNS raises the run count.
import { afterAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseManifest } from "../src/sources/manifest-parse.ts";
import { createManifestSource } from "../src/sources/manifests.ts";
import { kindKey, type KubeObject, type SourceEvent } from "../src/sources/types.ts";

const runs = (ci: number) => Number(process.env.FUZZ_RUNS ?? ci);
const root = mkdtempSync(join(tmpdir(), "isobar-manifest-fuzz-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// ---- random YAML ------------------------------------------------------------------------------

const anchorName = fc.constantFrom("a", "b", "http", "labels", "x1");
const tag = fc.constantFrom("!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!binary", "!!set", "!!omap", "!!timestamp", "!custom", "!", "!<tag:yaml.org,2002:str>", "!e!x");
const plainScalar = fc.oneof(
  fc.constantFrom("x", "80", "-1", "0x1F", "1e3", ".inf", "-.Inf", ".nan", "~", "null", "true", "no", "2026-01-01", "__proto__", "constructor", "<<", "'quoted'", '"esc \\u00e9 \\x41 \\q"', "|", ">-", "@bad", "`bad", "%", "? k", "- x"),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
);
const props = fc.tuple(fc.option(anchorName, { nil: undefined }), fc.option(tag, { nil: undefined })).map(([anchor, t]) => [anchor ? `&${anchor}` : "", t ?? ""].filter(Boolean).join(" "));
const alias = anchorName.map((name) => `*${name}`);

/** A flow-style node: scalars, aliases, [sequences] and {mappings} with merge keys, with anchors and tags. */
const { flowNode } = fc.letrec<{ flowNode: string }>((tie) => ({
  flowNode: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.tuple(props, plainScalar).map(([p, s]) => `${p} ${s}`.trim()),
    alias,
    fc.tuple(props, fc.array(tie("flowNode"), { maxLength: 4 })).map(([p, items]) => `${p} [${items.join(", ")}]`.trim()),
    fc
      .tuple(
        props,
        fc.array(fc.tuple(fc.oneof(plainScalar, alias, fc.constant("<<")), fc.oneof(tie("flowNode"), alias, fc.array(alias, { minLength: 1, maxLength: 3 }).map((a) => `[${a.join(", ")}]`))), { maxLength: 4 }),
      )
      .map(([p, pairs]) => `${p} {${pairs.map(([k, v]) => `${k}: ${v}`).join(", ")}}`.trim()),
  ),
}));

/** A block-style document: an object that may or may not be a manifest, with flow nodes as values. */
const blockDocument = fc
  .tuple(
    fc.option(fc.constantFrom("%YAML 1.2\n---\n", "%YAML 1.1\n---\n", "%TAG !e! tag:example.com,2000:\n---\n", "--- !!map\n"), { nil: "" }),
    fc.option(fc.constantFrom("apiVersion: v1", "apiVersion: networking.k8s.io/v1", "apiVersion: *a"), { nil: "" }),
    fc.option(fc.constantFrom("kind: Service", "kind: Ingress", "kind: Secret", "kind: List", "kind: !!str Service", "kind: *b"), { nil: "" }),
    fc.option(fc.stringMatching(/^fz[a-z0-9]{0,4}$/).map((name) => `metadata: &meta {name: ${name}, namespace: fuzz}`), { nil: "" }),
    fc.array(fc.tuple(fc.constantFrom("spec", "data", "items", "<<", "x", "? [complex]", "labels"), flowNode, fc.boolean()), { maxLength: 4 }),
  )
  .map(([directive, apiVersion, kind, metadata, fields]) =>
    [
      directive,
      ...[apiVersion, kind, metadata].filter(Boolean),
      ...fields.map(([key, value, nested]) => (nested ? `${key}:\n  nested: ${value}\n  more: [*meta]` : `${key}: ${value}`)),
    ].join("\n"),
  );

/** A chain of anchors, each aliasing the one before `width` times: small ones are fine, big ones bombs. */
const aliasChain = fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 12 })).map(([levels, width]) => {
  const lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: chain, namespace: fuzz}", "data:", "  l0: &l0 [x, y]"];
  for (let i = 1; i <= levels; i++) lines.push(`  l${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(", ")}]`);
  return lines.join("\n");
});

const yamlFile = fc.oneof(
  fc.array(fc.oneof(blockDocument, flowNode), { minLength: 1, maxLength: 4 }).map((docs) => docs.join("\n---\n")),
  aliasChain,
  fc.string({ maxLength: 200 }),
  fc.string({ unit: fc.constantFrom("[", "]", "{", "}", "&a ", "*a ", "!", ":", "-", "\n", " ", "'", '"', "\t", "<<", "#", "|", ">", "x", "---\n", "...\n"), maxLength: 60 }),
);

const jsonFile = fc.oneof(
  fc.json(),
  fc.json().map((text) => text.slice(0, Math.max(0, text.length - 1))),
  fc.jsonValue().map((value) => JSON.stringify({ apiVersion: "v1", kind: "Service", metadata: { name: "fz", namespace: "fuzz" }, spec: value })),
  fc.string({ maxLength: 100 }),
  fc.integer({ min: 300, max: 2000 }).map((depth) => `${"[".repeat(depth)}${"]".repeat(depth)}`),
);

const randomFile = fc.oneof(
  fc.tuple(fc.constantFrom(".yaml", ".yml"), yamlFile).map(([ext, text]) => ({ ext, text })),
  jsonFile.map((text) => ({ ext: ".json", text })),
);

// ---- the valid manifests --------------------------------------------------------------------------

const validFiles: Record<string, string> = {
  "valid-service.yaml": [
    "x-labels: &labels {app: web, tier: back}",
    "apiVersion: v1",
    "kind: Service",
    "metadata:",
    "  name: web",
    "  namespace: valid",
    "  labels:",
    "    <<: *labels",
    "    tier: front",
    "spec:",
    "  ports: [&http {name: http, port: 80}, {<<: *http, name: https, port: 443}]",
  ].join("\n"),
  "valid-ingress.json": JSON.stringify({
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "web", namespace: "valid" },
    spec: { rules: [{ host: "web.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { name: "http" } } } }] } }] },
  }),
  "valid-list.yml": "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Secret, metadata: {name: one, namespace: valid}, stringData: {a: b}}\n  - {apiVersion: v1, kind: Secret, metadata: {name: two, namespace: valid}, data: {a: eA==}}\n",
};

const expected = new Map<string, KubeObject>();
for (const [file, text] of Object.entries(validFiles)) for (const { object } of parseManifest(text, file).objects) expected.set(kindKey(object), object);

describe("the manifest reader, fuzzed", () => {
  test("the valid manifests parse as kubectl reads them (the oracle below)", () => {
    expect([...expected.keys()].sort()).toEqual(["Ingress valid/web", "Secret valid/one", "Secret valid/two", "Service valid/web"]);
    const service = expected.get("Service valid/web")!;
    expect(service.metadata.labels).toEqual({ app: "web", tier: "front" });
    expect(service.spec).toEqual({ ports: [{ name: "http", port: 80 }, { name: "https", port: 443 }] });
    expect(expected.get("Secret valid/one")!.data).toEqual({ a: "Yg==" });
  });

  test("parseManifest never throws, and returns plain JSON objects", () => {
    fc.assert(
      fc.property(randomFile, ({ ext, text }) => {
        const parsed = parseManifest(text, `f${ext}`);
        for (const { object } of parsed.objects) expect(JSON.parse(JSON.stringify(object))).toEqual(object);
        if (parsed.failed) expect(parsed.objects).toEqual([]);
      }),
      { numRuns: runs(400) },
    );
  });

  test("in a watched directory, the valid manifests are served after every batch, whatever the other files hold", async () => {
    const action = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.option(randomFile, { nil: undefined, freq: 3 }));
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(randomFile, { minLength: 1, maxLength: 4 }), fc.array(action, { maxLength: 6 }), async (initial, actions) => {
        const dir = join(root, `run-${round++}`);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
        for (const [file, text] of Object.entries(validFiles)) writeFileSync(join(dir, file), text);
        const names = initial.map(({ ext }, i) => `random-${i}${ext}`);
        initial.forEach(({ text }, i) => writeFileSync(join(dir, names[i]!), text));

        const served = new Map<string, KubeObject>();
        const failures: string[] = [];
        let synced = false;
        let sentinel = -1;
        const waiters: (() => void)[] = [];
        const check = (when: string) => {
          for (const [key, object] of expected) {
            if (!Bun.deepEquals(served.get(key), object)) failures.push(`${when}: ${key} is ${served.has(key) ? "changed" : "not served"}`);
          }
        };
        const source = createManifestSource(dir, { coalesceMs: 5, pollIntervalMs: 50 });
        await source.start({
          onEvents(events: SourceEvent[]) {
            for (const event of events) {
              if (event.type === "upsert") served.set(kindKey(event.object), event.object);
              else served.delete(kindKey(event.object));
              if (event.object.metadata.name === "sentinel" && event.type === "upsert") sentinel = Number(event.object.metadata.labels?.round);
            }
            if (synced) check("after a batch");
            for (const wake of waiters.splice(0)) wake();
          },
          onSynced() {
            synced = true;
            check("at sync");
          },
          onProblem() {},
        });
        try {
          expect(synced).toBe(true);
          for (const [index, file] of actions) {
            const path = join(dir, names[index % names.length]!);
            if (file === undefined) rmSync(path, { force: true });
            else writeFileSync(path, file.text);
          }
          // A sentinel written last: once it is served, a scan has run after every change above.
          const sentinelFile = join(dir, "000-sentinel.yaml");
          writeFileSync(sentinelFile, `apiVersion: v1\nkind: Service\nmetadata: {name: sentinel, namespace: fuzz, labels: {round: "${round}"}}\n`);
          while (sentinel !== round) await new Promise<void>((resolve) => waiters.push(resolve));
          check("at the end");
          unlinkSync(sentinelFile);
        } finally {
          await source.stop();
          rmSync(dir, { recursive: true, force: true });
        }
        expect(failures).toEqual([]);
      }),
      { numRuns: runs(25) },
    );
  }, 120_000);
});
