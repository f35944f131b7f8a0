// The layering of src/ (ARCHITECTURE.md, "Who imports whom"): dependency-cruiser checks the rules of
// .dependency-cruiser.cjs (no module or folder cycles, dag never imports envoy or xds, only cli imports
// cli, ...) and every violation is printed. Two checks keep that verdict honest: dependency-cruiser
// parses our TypeScript with its fallback parser (see the config), so the imports it saw must be the
// ones a plain reading of the sources finds, and each rule must catch a planted violation. And no
// src/ file is over 400 lines.
import { expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, normalize } from "node:path";

const root = join(import.meta.dir, "..");
const cruiser = join(root, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");
/** Violations that predate the rules and are being removed (ARCHITECTURE.md, "Known exceptions"). */
const knownViolations = ".dependency-cruiser-known-violations.json";

const generated = join("src", "xds", "generated");

/** The modules dependency-cruiser checks: src/**\/*.ts except unit tests and generated code. */
function sourceFiles(): string[] {
  return readdirSync(join(root, "src"), { recursive: true, encoding: "utf8" })
    .map((path) => join("src", path))
    .filter((path) => path.endsWith(".ts") && !path.startsWith(generated))
    .sort();
}

interface CruiseResult {
  modules: { source: string; followable?: boolean; dependencies: { module: string; resolved: string; couldNotResolve: boolean }[] }[];
  summary: { violations: { from: string; to: string; rule: { name: string; severity: string }; cycle?: { name: string }[] }[] };
}

function cruise(files: string[], cwd = root, baseline = ["--ignore-known", knownViolations]): CruiseResult {
  const run = Bun.spawnSync([process.execPath, cruiser, "--config", join(root, ".dependency-cruiser.cjs"), ...baseline, "--output-type", "json", ...files], { cwd, stdout: "pipe", stderr: "pipe" });
  if (!run.success) throw new Error(`dependency-cruiser failed (exit ${run.exitCode}): ${run.stderr.toString()}`);
  return JSON.parse(run.stdout.toString()) as CruiseResult;
}

/** What a line reading finds: every relative specifier after `from`, `import` or `import(`. */
function relativeImports(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const found = new Set<string>();
  for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm)) {
    const target = normalize(join(dirname(file), match[1]!));
    if (!target.startsWith(generated)) found.add(target);
  }
  return [...found].sort();
}

const files = sourceFiles().filter((file) => !file.endsWith(".test.ts"));
const result = cruise(files);
// Without a TypeScript parser a .ts file reached through an import is listed once more, unfollowed; the
// files given are the ones cruised.
const cruised = result.modules.filter((m) => m.source.startsWith("src/") && m.followable !== false);

const violationText = (v: CruiseResult["summary"]["violations"][number]) => `${v.rule.name}: ${v.from} -> ${v.to}${v.cycle?.length ? ` (cycle: ${[v.from, ...v.cycle.map((c) => c.name)].join(" -> ")})` : ""}`;

test("src/ keeps its layering: no cycles, no forbidden imports", () => {
  const violations = result.summary.violations.filter((v) => v.rule.severity !== "ignore").map(violationText);
  if (violations.length) console.error(`layering violations (rules in .dependency-cruiser.cjs, ARCHITECTURE.md):\n  ${violations.join("\n  ")}`);
  expect(violations).toEqual([]);
});

test("every known violation still occurs: a fixed one leaves the baseline", () => {
  const known = (JSON.parse(readFileSync(join(root, knownViolations), "utf8")) as { from: string; to: string; rule: { name: string } }[]).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
  const stillThere = result.summary.violations.filter((v) => v.rule.severity === "ignore").map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
  // One fixed? Take it out of .dependency-cruiser-known-violations.json.
  expect(stillThere.sort()).toEqual(known.sort());
});

test("dependency-cruiser saw every module and every relative import of src/", () => {
  expect(cruised.map((m) => m.source).sort()).toEqual(files);
  for (const file of files) {
    const seen = cruised.find((m) => m.source === file)!.dependencies.filter((d) => d.module.startsWith(".")).map((d) => (d.couldNotResolve ? normalize(join(dirname(file), d.module)) : d.resolved));
    expect({ file, imports: [...new Set(seen)].sort() }).toEqual({ file, imports: relativeImports(file) });
  }
});

test("each rule catches what it forbids, type-only imports included", () => {
  const tree: Record<string, string> = {
    "src/dag/a.ts": 'import { b } from "../envoy/b.ts";\nexport const a = b;\n',
    "src/dag/types.ts": 'import { b } from "../envoy/b.ts";\nexport type A = typeof b;\n',
    "src/envoy/b.ts": 'import type { A } from "../dag/types.ts";\nexport const b = 1;\nexport type B = A;\n',
    "src/envoy/t.ts": 'import { s } from "../xds/server-x.ts";\nexport const t = s;\n',
    "src/xds/server-x.ts": "export const s = 1;\n",
    "src/observe/c.ts": 'import { e } from "../cli/errors.ts";\nexport const c = e;\n',
    "src/cli/errors.ts": "export const e = 1;\n",
    "src/sources/k.ts": 'import { h } from "../../test/helper.ts";\nexport const k = h;\n',
    "test/helper.ts": "export const h = 1;\n",
  };
  const dir = mkdtempSync(join(tmpdir(), "isobar-layering-"));
  try {
    for (const [path, text] of Object.entries(tree)) {
      mkdirSync(join(dir, dirname(path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const found = cruise(Object.keys(tree).filter((path) => path.startsWith("src/")), dir, []).summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
    expect(found.sort()).toEqual([
      "dag-not-envoy-xds: src/dag/a.ts -> src/envoy/b.ts",
      "dag-not-envoy-xds: src/dag/types.ts -> src/envoy/b.ts",
      "envoy-not-xds-server: src/envoy/t.ts -> src/xds/server-x.ts",
      "no-folder-cycle: src/dag -> src/envoy",
      "no-folder-cycle: src/envoy -> src/dag",
      "no-module-cycle: src/dag/types.ts -> src/envoy/b.ts",
      "only-cli-imports-cli: src/observe/c.ts -> src/cli/errors.ts",
      "src-not-test-bench: src/sources/k.ts -> test/helper.ts",
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("no src/ file is over 400 lines", () => {
  const long = sourceFiles()
    .map((file) => ({ file, lines: readFileSync(join(root, file), "utf8").split("\n").length - 1 }))
    .filter(({ lines }) => lines > 400)
    .map(({ file, lines }) => `${file}: ${lines} lines`);
  expect(long).toEqual([]);
});
