// Signals a running `agent serve` may get besides SIGTERM: SIGHUP (a closed terminal, a reload
// habit), SIGUSR1 and SIGUSR2 are logged and ignored, the agent keeps serving; SIGQUIT stops it
// gracefully like SIGTERM (exit 0). Their default action killed it at once without a word.
import { expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { connectXds } from "../src/xds/client.ts";
import { TypeUrls } from "../src/xds/types.ts";
import { spawnAgent } from "./helpers/agent-process.ts";

setDefaultTimeout(30_000);

test("SIGHUP, SIGUSR1 and SIGUSR2 are logged and ignored; SIGQUIT shuts down gracefully, exit 0", async () => {
  const agent = spawnAgent(["serve", "--manifests", join(import.meta.dir, "../examples/quickstart"), "--port", "0", "--metrics-port", "0", "--debug-port", "0", "--log-format", "json"]);
  const xdsPort = Number((await agent.waitFor(/xDS server listening on 127\.0\.0\.1:(\d+)/))[1]);
  await agent.waitFor(/first snapshot published/);
  for (const signal of ["SIGHUP", "SIGUSR1", "SIGUSR2"] as const) {
    agent.child.kill(signal);
    await agent.waitFor(new RegExp(`^${signal} received and ignored`));
  }
  expect(agent.lines.filter((l) => /received and ignored/.test(l.msg)).map((l) => l.level)).toEqual(["warn", "warn", "warn"]);
  // Still serving after all three.
  const client = connectXds(`127.0.0.1:${xdsPort}`, { node: { id: "signals" }, subscriptions: [{ typeUrl: TypeUrls.cluster }] });
  expect((await client.next()).resourceCount).toBeGreaterThan(0);
  client.close();
  agent.child.kill("SIGQUIT");
  expect(await agent.child.exited).toBe(0);
  await agent.pumped;
  expect(agent.lines.map((l) => l.msg).filter((m) => /SIGQUIT received|xDS server stopped/.test(m))).toEqual(["SIGQUIT received, shutting down", "xDS server stopped"]);
});
