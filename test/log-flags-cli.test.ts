// --log-level and --log-format on the commands besides serve (certs, bootstrap, validate, xds),
// through the compiled binary: a bad value is one line and exit 2 on each; at debug level the log
// lines go to stderr, so what a command writes on stdout (a bootstrap, Secret YAML, a report) stays
// exactly its output.
import { afterAll, beforeAll, expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ensureAgentBinary, runAgent } from "./helpers/agent-binary.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

let dir: string;

beforeAll(async () => {
  await ensureAgentBinary();
  dir = mkdtempSync(join(tmpdir(), "isobar-log-flags-"));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a bad --log-level or --log-format is one line and exit 2 on every command", async () => {
  const commands = [["certs", "init", "--out", join(dir, "unused")], ["certs", "issue", "--name", "x"], ["certs", "rotate"], ["certs", "inspect"], ["bootstrap"], ["validate", "examples/quickstart"], ["xds"]];
  for (const command of commands) {
    const level = await runAgent([...command, "--log-level", "loud"]);
    expect({ command, stderr: level.stderr, code: level.code }).toEqual({ command, stderr: 'agent: --log-level must be one of silent, error, warn, info, debug, trace, got "loud"\n', code: 2 });
    const format = await runAgent([...command, "--log-format", "xml"]);
    expect({ command, stderr: format.stderr, code: format.code }).toEqual({ command, stderr: 'agent: --log-format must be one of auto, text, json, got "xml"\n', code: 2 });
  }
});

test("at debug level the log lines go to stderr: stdout is still only the bootstrap, or the Secret YAML", async () => {
  const bootstrap = await runAgent(["bootstrap", "-", "--log-level", "debug", "--log-format", "text"]);
  expect(bootstrap.code).toBe(0);
  expect(JSON.parse(bootstrap.stdout)).toHaveProperty("dynamic_resources");
  expect(bootstrap.stderr).toMatch(/^\d\d:\d\d:\d\d\.\d{3} DEBUG \[bootstrap\] node \S+ \(cluster envoy\), xDS delta to 127\.0\.0\.1:8001, plaintext\n$/);

  const secrets = await runAgent(["certs", "init", "--format", "secrets", "--log-level", "debug", "--log-format", "json"]);
  expect(secrets.code).toBe(0);
  expect(parseAllDocuments(secrets.stdout).map((d) => (d.toJS() as { metadata: { name: string } }).metadata.name)).toEqual(["isobar-ca", "isobarcert", "envoycert"]);
  const lines = secrets.stderr.trim().split("\n").map((line) => JSON.parse(line) as { level: string; component: string; msg: string });
  expect(lines.map((l) => [l.level, l.component])).toEqual([["debug", "certs"]]);
  expect(lines[0]!.msg).toStartWith("created CA CN=isobar CA (serial ");

  const quiet = await runAgent(["certs", "init", "--format", "secrets"]);
  expect(quiet.stderr).toBe("");
});
