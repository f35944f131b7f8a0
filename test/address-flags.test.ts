// Address flags as a user writes them: `[::1]` and `::1` are the same address and are printed as
// `[::1]:PORT` (was `[[::1]]`), a zone index (`::1%lo`) or a malformed address is one line and exit
// 2 (a zone index crashed the debug server with ERR_INVALID_ARG_TYPE).
import { expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { runSource, spawnAgent } from "./helpers/agent-process.ts";

setDefaultTimeout(30_000);

const quickstart = join(import.meta.dir, "../examples/quickstart");
const serve = ["serve", "--manifests", quickstart, "--port", "0", "--metrics-port", "0", "--debug-port", "0"];

test("a zone index or a malformed address in any address flag: one line, exit 2", async () => {
  const cases: Array<[string, string, string]> = [
    ["--debug-address", "::1%lo", "--debug-address must be an IP address or a DNS name (a zone index such as %lo is not supported), got \"::1%lo\""],
    ["--metrics-address", "[fe80::1%eth0]", "--metrics-address must be an IP address or a DNS name (a zone index such as %lo is not supported), got \"[fe80::1%eth0]\""],
    ["--address", "127.0.0.1:8001", "--address must be an IP address or a DNS name, got \"127.0.0.1:8001\""],
    ["--debug-address", "[[::1]]", "--debug-address must be an IP address or a DNS name, got \"[[::1]]\""],
  ];
  for (const [flag, value, message] of cases) expect({ flag, ...(await runSource([...serve, flag, value])) }).toEqual({ flag, code: 2, stdout: "", stderr: `agent: ${message}\n` });
});

test("[::1] for the xDS, metrics and debug addresses: bound, printed once bracketed, reachable", async () => {
  const agent = spawnAgent([...serve, "--address", "[::1]", "--metrics-address", "[::1]", "--debug-address", "[::1]", "--log-format", "json"]);
  try {
    const xds = await agent.waitFor(/^xDS server listening on (\S+)$/);
    const metrics = await agent.waitFor(/^metrics and health on (http:\/\/\S+) /);
    const debug = await agent.waitFor(/^debug views on (http:\/\/\S+)\/debug\//);
    expect(xds[1]).toMatch(/^\[::1\]:\d+$/);
    expect(metrics[1]).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect(debug[1]).toMatch(/^http:\/\/\[::1\]:\d+$/);
    await agent.waitFor(/first snapshot published/);
    expect((await fetch(`${metrics[1]}/healthz`)).status).toBe(200);
    expect((await fetch(`${debug[1]}/debug/status`)).status).toBe(200);
    expect((await agent.waitFor(/^look at what is served: agent xds --server (\S+) /))[1]).toBe(xds[1]!);
  } finally {
    agent.child.kill("SIGTERM");
    await agent.child.exited;
  }
});

test("bootstrap --xds-address takes [IPv6] and writes the bare address", async () => {
  const run = await runSource(["bootstrap", "-", "--xds-address", "[fd00::1]"]);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout).static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address).toBe("fd00::1");
});
