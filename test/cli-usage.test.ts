// `--help` and usage errors as a user meets them from the command line: help fits the terminal (80
// columns when piped), flags left-aligned, `agent` in every usage line; a missing command, flag or
// flag value is one line and exit 2; one rule for bare numbers in every duration flag.
import { expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSource } from "./helpers/agent-process.ts";

setDefaultTimeout(60_000);

const commands = [[], ["serve"], ["xds"], ["validate"], ["bootstrap"], ["certs"], ["certs", "init"], ["certs", "issue"], ["certs", "rotate"], ["certs", "inspect"], ["envoy"], ["envoy", "shutdown"], ["envoy", "shutdown-manager"]];

async function help(command: string[], env: Record<string, string> = {}): Promise<string> {
  const run = await runSource([...command, "--help"], { env });
  expect({ command, code: run.code, stderr: run.stderr }).toEqual({ command, code: 0, stderr: "" });
  return run.stdout;
}

test("every command's help fits 80 columns when piped, and $COLUMNS when set; `agent` in every usage line", async () => {
  for (const command of commands) {
    for (const [env, width] of [[{}, 80], [{ COLUMNS: "60" }, 60]] as const) {
      const text = await help(command, env);
      const lines = text.split("\n");
      const tooWide = lines.filter((line) => line.length > width);
      expect({ command, width, tooWide }).toEqual({ command, width, tooWide: [] });
      expect(lines.filter((line) => line.startsWith("USAGE "))).toEqual([expect.stringMatching(new RegExp(`^USAGE ${["agent", ...command].join(" ")}( |$)`))]);
      expect(text).not.toContain("\u001b[");
      expect(text).not.toMatch(/\(Default|\(default: \)/);
      // No `--no-*` twin on a line of its own: a boolean that defaults to on is `--[no-]name`.
      expect(lines.filter((line) => /^\s+--no-/.test(line))).toEqual([]);
    }
  }
});

test("options are left-aligned with their descriptions in one wrapped column", async () => {
  const text = await help(["serve"]);
  const options = text.slice(text.indexOf("\nOPTIONS\n") + 9).split("\n\n")[0]!.split("\n");
  // Every option line starts at column 2; continuation lines are indented to the description column.
  // Contour's spelling comes first where a flag has two (a label too long for the column has its own line).
  expect(options).toContain("  --xds-address, --address ADDRESS");
  const holdoff = options.find((line) => line.startsWith("  --holdoff "))!;
  const column = holdoff.indexOf("quiet time before a rebuild");
  expect(column).toBeGreaterThan(10);
  const misaligned = options.filter((line) => !/^  --?[a-z[]/.test(line) && (line.length <= column || line.slice(0, column).trim() !== "" || line[column] === " "));
  expect(misaligned).toEqual([]);
  expect(text).toContain("  --[no-]debug-views");
  expect(text).toContain("  -d, --debug ");
  expect(text).toContain("  --http-port, --metrics-port PORT");
  expect(text).toContain("--holdoff DURATION");
  expect(text).toContain("(default: 100ms)");
  expect(text).toMatch(/a bare number\s+is an error/);
  expect(await help(["bootstrap"])).toContain("  --[no-]overwrite");
});

test("a command that needs a subcommand, or a required flag, without it: one line with a hint to --help, exit 2", async () => {
  expect(await runSource([])).toEqual({ code: 2, stdout: "", stderr: "agent: `agent` needs a command: one of serve, xds, certs, certgen, bootstrap, validate, envoy (see `agent --help`)\n" });
  expect(await runSource(["certs"])).toEqual({ code: 2, stdout: "", stderr: "agent: `agent certs` needs a command: one of init, issue, rotate, inspect (or Contour's certgen flags --kube, --yaml or --pem) (see `agent certs --help`)\n" });
  expect(await runSource(["envoy", "--log-level", "info"].slice(0, 1))).toEqual({ code: 2, stdout: "", stderr: "agent: `agent envoy` needs a command: one of shutdown, shutdown-manager (see `agent envoy --help`)\n" });
  expect(await runSource(["certs", "issue", "--dir", "/nonexistent"])).toEqual({ code: 2, stdout: "", stderr: "agent: `agent certs issue` needs --name (see `agent certs issue --help`)\n" });
});

test("a flag that takes a value given none says so, exit 2", async () => {
  expect(await runSource(["serve", "--manifests"])).toEqual({ code: 2, stdout: "", stderr: "agent: --manifests needs a value (see `agent serve --help`)\n" });
  expect(await runSource(["serve", "--manifests", "--port", "0"])).toEqual({ code: 2, stdout: "", stderr: "agent: --manifests needs a value (see `agent serve --help`)\n" });
  expect(await runSource(["xds", "--type"])).toEqual({ code: 2, stdout: "", stderr: "agent: --type needs a value (see `agent xds --help`)\n" });
});

test("durations: a bare number is an error for every duration flag; ms, s and m are understood", async () => {
  const dir = mkdtempSync(join(tmpdir(), "isobar-usage-"));
  const bare = [
    [["serve", "--manifests", dir, "--holdoff", "100"], "--holdoff"],
    [["serve", "--manifests", dir, "--max-holdoff", "500"], "--max-holdoff"],
    [["serve", "--manifests", dir, "--shutdown-grace", "10"], "--shutdown-grace"],
    [["xds", "--timeout", "5"], "--timeout"],
    [["envoy", "shutdown", "--drain-timeout", "60"], "--drain-timeout"],
  ] as const;
  for (const [args, flag] of bare) {
    const value = args.at(-1)!;
    expect(await runSource([...args])).toEqual({ code: 2, stdout: "", stderr: `agent: ${flag} must be a duration like 500ms, 10s or 2m, got "${value}": give a unit, ms, s or m\n` });
  }
  expect(await runSource(["xds", "--type", "cds", "--server", "127.0.0.1:1", "--timeout", "0.2s"])).toEqual({ code: 1, stdout: "", stderr: "agent: cannot connect to 127.0.0.1:1 within 0.2s\n" });
});

test("a kubeconfig that is not YAML is named with its line, without quoting it; exit 2", async () => {
  const dir = mkdtempSync(join(tmpdir(), "isobar-kubeconfig-"));
  const file = join(dir, "config");
  writeFileSync(file, 'apiVersion: v1\nusers:\n- name: u\n  user: {token: "sk-secret-token\n');
  const run = await runSource(["serve", "--kubeconfig", file, "--port", "0", "--metrics-port", "0", "--debug-port", "0"]);
  expect(run.code).toBe(2);
  expect(run.stderr).toStartWith(`agent: kubeconfig ${file} is not valid YAML at line 5, column 1: `);
  expect(run.stderr).not.toContain("sk-secret");
  expect(run.stderr.trim().split("\n")).toHaveLength(1);
});
