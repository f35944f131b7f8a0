// The observe flags of `agent serve` in a child process: a debug address beyond loopback is refused
// with one line and exit 2; --log-level debug reaches the loggers every module made at load time.
import { expect, test, setDefaultTimeout } from "bun:test";
import { join } from "node:path";
import { spawnAgent } from "./helpers/agent-process.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

const quickstart = join(import.meta.dir, "../examples/quickstart");

test("--debug-address beyond loopback: one line on stderr, exit 2, nothing started", async () => {
  const child = Bun.spawn([process.execPath, "src/main.ts", "serve", "--debug-address", "0.0.0.0", "--port", "0", "--metrics-port", "0"], { cwd: join(import.meta.dir, ".."), stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  expect(code).toBe(2);
  expect(stdout).toBe("");
  expect(stderr).toBe('agent: --debug-address must be a loopback address (127.0.0.1, ::1, localhost), got "0.0.0.0": the debug views show the whole routing state\n');
});

test("--log-level debug and --log-format json apply to every component's logger", async () => {
  const agent = spawnAgent(["serve", "--manifests", quickstart, "--port", "0", "--metrics-address", "127.0.0.1", "--metrics-port", "0", "--debug-port", "0", "--log-level", "debug", "--log-format", "json"]);
  await agent.waitFor(/^source manifests synced$/);
  agent.child.kill("SIGTERM");
  expect(await agent.child.exited).toBe(0);
  await agent.pumped;
  expect(agent.lines.find((l) => l.msg === "source manifests synced")).toMatchObject({ level: "debug", component: "pipeline" });
});
