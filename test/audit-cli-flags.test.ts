// The README's promise for every command: a bad flag (or an unknown command) is one line on stderr
// and exit code 2, never citty's silent ignore or a usage dump; well-formed command lines still run.
import { expect, test, setDefaultTimeout } from "bun:test";
import { join } from "node:path";
import { runSource } from "./helpers/agent-process.ts";


// Spawns the agent from source: seconds each on a loaded 2-core machine.
setDefaultTimeout(30_000);

const agent = runSource;
const main = join(import.meta.dir, "../src/main.ts");

test("an unknown flag on any command is one line on stderr and exit 2, before anything starts", async () => {
  const cases: [string[], string][] = [
    [["--bogus"], "agent: unknown flag --bogus for `agent` (see `agent --help`)\n"],
    [["serve", "--manifests", "examples/quickstart", "--metric-port", "9000"], "agent: unknown flag --metric-port for `agent serve` (see `agent serve --help`)\n"],
    [["xds", "--typ", "cds"], "agent: unknown flag --typ for `agent xds` (see `agent xds --help`)\n"],
    [["validate", "examples/quickstart", "--route"], "agent: unknown flag --route for `agent validate` (see `agent validate --help`)\n"],
    [["bootstrap", "-", "--xds-adress=10.0.0.1"], "agent: unknown flag --xds-adress for `agent bootstrap` (see `agent bootstrap --help`)\n"],
    [["certs", "init", "--out", "/nonexistent/never-written", "--overwite"], "agent: unknown flag --overwite for `agent certs init` (see `agent certs init --help`)\n"],
    [["envoy", "shutdown", "--drain", "1s"], "agent: unknown flag --drain for `agent envoy shutdown` (see `agent envoy shutdown --help`)\n"],
  ];
  for (const [args, stderr] of cases) expect({ args, ...(await agent(args)) }).toEqual({ args, code: 2, stdout: "", stderr });
});

test("an unknown command is one line naming the commands, exit 2", async () => {
  expect(await agent(["serv"])).toEqual({ code: 2, stdout: "", stderr: 'agent: unknown command "serv" for `agent`: one of serve, xds, certs, certgen, bootstrap, validate, envoy\n' });
  expect(await agent(["certs", "renew"])).toEqual({ code: 2, stdout: "", stderr: 'agent: unknown command "renew" for `agent certs`: one of init, issue, rotate, inspect\n' });
});

test("declared flags in every form still run: --flag value, --flag=value, --no-flag, -, --help", async () => {
  const bootstrap = await agent(["bootstrap", "-", "--xds-mode=sotw", "--node-id", "n1", "--no-overwrite"]);
  expect(bootstrap.code).toBe(0);
  expect(JSON.parse(bootstrap.stdout).node.id).toBe("n1");
  expect(JSON.parse(bootstrap.stdout).dynamic_resources.ads_config.api_type).toBe("GRPC");
  const down = await agent(["xds", "--no-ads", "--type=cds", "--server", "127.0.0.1:1", "--timeout", "100ms"]);
  expect(down).toEqual({ code: 1, stdout: "", stderr: "agent: cannot connect to 127.0.0.1:1 within 0.1s\n" });
  const help = await agent(["serve", "--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("--manifests");
  expect(help.stdout).not.toContain("\u001b["); // piped: no colour codes
  expect(help.stdout).toContain("USAGE agent serve [OPTIONS]");
  expect((await agent(["--version"])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
});

test("serve --manifests on a path that is not a directory: one line, exit 2, nothing started", async () => {
  for (const path of ["/nonexistent-isobar-audit", main]) {
    expect(await agent(["serve", "--manifests", path, "--port", "0", "--metrics-port", "0", "--debug-port", "0"])).toEqual({ code: 2, stdout: "", stderr: `agent: --manifests ${path}: no such directory\n` });
  }
});

test("serve on an xDS port in use: one line naming --port, exit 1; gRPC's own message comes through our JSON log, not as a bare `E …` line", async () => {
  const { createServer } = await import("node:net");
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  try {
    const port = String((blocker.address() as { port: number }).port);
    const run = await agent(["serve", "--manifests", "examples/quickstart", "--port", port, "--metrics-port", "0", "--debug-port", "0", "--log-format", "json"]);
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines.at(-1)).toBe(`agent: cannot listen for xDS (--port) on 127.0.0.1:${port}: address already in use`);
    expect(lines.at(-1)!.startsWith("agent: ")).toBe(true);
    for (const line of lines.slice(0, -1)) expect(JSON.parse(line)).toMatchObject({ level: expect.any(String), component: expect.any(String) });
    expect(lines.some((line) => line.includes('"component":"grpc"'))).toBe(true);
  } finally {
    blocker.close();
  }
});

test("serve on a metrics or debug port in use: one line naming which port flag, exit 1", async () => {
  const { createServer } = await import("node:net");
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  try {
    const port = String((blocker.address() as { port: number }).port);
    const base = ["serve", "--manifests", "examples/quickstart", "--port", "0", "--log-level", "silent"];
    expect(await agent([...base, "--metrics-address", "127.0.0.1", "--metrics-port", port, "--debug-port", "0"])).toEqual({ code: 1, stdout: "", stderr: `agent: cannot listen for metrics and health (--metrics-port) on 127.0.0.1:${port}: address already in use\n` });
    expect(await agent([...base, "--metrics-port", "0", "--debug-port", port])).toEqual({ code: 1, stdout: "", stderr: `agent: cannot listen for the debug views (--debug-port) on 127.0.0.1:${port}: address already in use\n` });
  } finally {
    blocker.close();
  }
});
