// docs/migrating-from-contour.md is true of the binary: this test reads the guide's tables and
// lists and checks each against the code. Every Contour flag row is parsed as the binary parses it
// and has the verdict the guide gives (a refused one is refused by the compiled binary: one line,
// exit 2); every Contour-only flag isobar knows is in the table; the Contour metrics listed as
// exported are on a running agent's /metrics and those listed as not exported are not; the HTTPProxy
// fields listed as warned are exactly those the DAG warns about; the binary runs under Contour's
// name; the configuration settings listed as refused are refused; the README links the guide.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { argvProblem } from "../src/cli/argv.ts";
import { bootstrapContourOnly, serveContourOnly, shutdownContourOnly, type ContourOnlyTable } from "../src/cli/contour-flags.ts";
import { observeArgs } from "../src/cli/observe-flags.ts";
import { rootCommand } from "../src/cli/root.ts";
import { unimplementedFields } from "../src/dag/httpproxy-unimplemented.ts";
import { configFromFile } from "../src/config/file.ts";
import { agentPath, ensureAgentBinary, runAgent, startAgentBinary } from "./helpers/agent-binary.ts";
import { commandLineProblem } from "./helpers/examples.ts";

setDefaultTimeout(60_000);

const root = join(import.meta.dir, "..");
const guide = readFileSync(join(root, "docs/migrating-from-contour.md"), "utf8");

interface FlagRow {
  argv: string[];
  command: string;
  flag: string;
  verdict: "same" | "ignored" | "refused" | "config";
}

/** The rows of the guide's flag table: `| \`command line\` | verdict | notes |`. */
function flagRows(): FlagRow[] {
  return [...guide.matchAll(/^\| `([^`]+)` \| (same|ignored|refused|config) \|/gm)].map((m) => {
    const argv = m[1]!.split(" ");
    const command = argv[0] === "envoy" ? `${argv[0]} ${argv[1]}` : argv[0]!;
    return { argv, command, flag: argv.at(-1)!.split("=")[0]!.replace(/^--/, ""), verdict: m[2] as FlagRow["verdict"] };
  });
}

const contourOnly: Record<string, ContourOnlyTable> = { serve: serveContourOnly, bootstrap: bootstrapContourOnly, "envoy shutdown": shutdownContourOnly };

/** The items of the Markdown list that follows `<!-- marker -->`: the first code span of each. */
function listAfter(marker: string): string[] {
  const start = guide.indexOf(`<!-- ${marker} -->`);
  expect(start).toBeGreaterThan(0);
  const items: string[] = [];
  for (const line of guide.slice(start).split("\n").slice(1)) {
    const item = /^- `([^`]+)`/.exec(line);
    if (!item) break;
    items.push(item[1]!);
  }
  return items;
}

beforeAll(async () => {
  await ensureAgentBinary();
}, 120_000);

describe("Contour's flags", () => {
  const rows = flagRows();

  test("the table covers the five commands, and every Contour-only flag isobar knows", () => {
    expect(rows.length).toBeGreaterThan(70);
    expect(new Set(rows.map((r) => r.command))).toEqual(new Set(["serve", "bootstrap", "certgen", "envoy shutdown-manager", "envoy shutdown"]));
    for (const [command, table] of Object.entries(contourOnly)) {
      const listed = new Set(rows.filter((r) => r.command === command).map((r) => r.flag));
      expect({ command, missing: Object.keys(table).filter((flag) => !listed.has(flag)) }).toEqual({ command, missing: [] });
    }
  });

  test("same and ignored: accepted by the binary's parser; ignored ones are Contour-only flags (a log line says so), same ones are isobar's own", async () => {
    for (const row of rows.filter((r) => r.verdict === "same" || r.verdict === "ignored")) {
      expect({ line: row.argv.join(" "), problem: await commandLineProblem(row.argv) }).toEqual({ line: row.argv.join(" "), problem: undefined });
      const isContourOnly = row.flag in (contourOnly[row.command] ?? {});
      expect({ line: row.argv.join(" "), contourOnly: isContourOnly }).toEqual({ line: row.argv.join(" "), contourOnly: row.verdict === "ignored" });
    }
  });

  test("refused: the compiled binary says what is missing in one line and exits 2", async () => {
    const refused = rows.filter((r) => r.verdict === "refused");
    // Exactly the rows whose value the Contour-only flag table refuses are listed as refused (judged
    // beside the other flags' defaults, as the binary judges them).
    const defaults = Object.fromEntries(Object.entries(observeArgs).map(([name, def]) => [name, (def as { default?: unknown }).default]));
    const refusedByTable = rows.filter((r) => {
      const flag = contourOnly[r.command]?.[r.flag];
      const given = r.argv.at(-1)!;
      return flag !== undefined && "missing" in flag.check(given.includes("=") ? given.slice(given.indexOf("=") + 1) : true, defaults);
    });
    expect(refused.map((r) => r.argv.join(" "))).toEqual(refusedByTable.map((r) => r.argv.join(" ")));
    expect(refused.length).toBeGreaterThan(0);
    for (const row of refused) {
      const run = await runAgent(row.argv);
      expect({ line: row.argv.join(" "), code: run.code, stdout: run.stdout }).toEqual({ line: row.argv.join(" "), code: 2, stdout: "" });
      expect(run.stderr).toMatch(new RegExp(`^agent: --${row.flag}: [^\\n]+\\n$`));
    }
  });

  test("config: the configuration-file flags parse (what they do is the Configuration file section's)", async () => {
    const config = rows.filter((r) => r.verdict === "config");
    expect(config.map((r) => r.flag).sort()).toEqual(["config-path", "contour-config-name"]);
    // Only the parser, not the value: --config-path names a file, and both are being implemented.
    for (const row of config) expect(await argvProblem(rootCommand, row.argv)).toBeUndefined();
  });
});

describe("metrics", () => {
  let agent: ReturnType<typeof startAgentBinary> | undefined;
  afterAll(async () => {
    if (agent) expect(await agent.stop()).toBe(0);
  });

  test("the Contour series listed as exported are on /metrics, those listed as not exported are not", async () => {
    agent = startAgentBinary(["serve", "--manifests", join(root, "examples/quickstart"), "--allow-loopback-endpoints", "--xds-port=0", "--http-address=127.0.0.1", "--http-port=0", "--debug-http-port=0"]);
    const port = (await agent.waitForLine(/metrics and health on http:\/\/127\.0\.0\.1:(\d+)/))[1];
    await agent.waitForLine(/first snapshot published/);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const served = new Set([...text.matchAll(/^# TYPE (contour_\w+) /gm)].map((m) => m[1]!));
    const exported = listAfter("contour-metrics: exported");
    const notExported = listAfter("contour-metrics: not exported");
    expect(exported.length).toBeGreaterThan(5);
    expect(notExported.length).toBeGreaterThan(0);
    expect([...served].sort()).toEqual([...exported].sort());
    expect(notExported.filter((name) => served.has(name))).toEqual([]);
  });
});

test("the HTTPProxy fields listed as warned about are exactly those isobar warns about", () => {
  expect(listAfter("httpproxy: ignored fields").sort()).toEqual(unimplementedFields.map((f) => f.path).sort());
});

test("the binary runs under Contour's name, as the guide's image has it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "contour-name-"));
  try {
    const contour = join(dir, "contour");
    copyFileSync(agentPath, contour);
    const proc = Bun.spawn([contour, "certgen", "--help"], { stdout: "pipe", stderr: "pipe" });
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    expect(out).toContain("--secrets-format");
    const bootstrap = Bun.spawn([contour, "bootstrap", "-", "--xds-address=contour", "--xds-resource-version=v3"], { stdout: "pipe", stderr: "pipe" });
    const [config, bootstrapCode] = await Promise.all([new Response(bootstrap.stdout).text(), bootstrap.exited]);
    expect(bootstrapCode).toBe(0);
    expect(config).toContain('"address": "contour"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the configuration settings listed as refused are refused by the configuration reader, each naming itself; the README links the guide", () => {
  const keys = listAfter("refused-config-keys");
  expect(keys.length).toBeGreaterThan(5);
  for (const key of keys) {
    // The setting given a value that is not empty, at its place in the file.
    const document = key.split(".").reduceRight<unknown>((inner, part) => ({ [part]: inner }), { set: "something" });
    expect(() => configFromFile(document)).toThrow(new RegExp(`^${key.replace(/[.]/g, "\\.")} is not implemented`));
  }
  expect(readFileSync(join(root, "README.md"), "utf8")).toContain("(docs/migrating-from-contour.md)");
});
