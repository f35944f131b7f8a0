// `agent serve --envoy` from the compiled binary with the real Envoy 1.40: the agent writes the
// bootstrap into a private directory, starts Envoy, serves it, forwards its logs, restarts it when it
// is killed, makes /readyz wait for it, and on SIGTERM drains it (an open client connection is waited
// for until Envoy closes it) and stops it (exit 0, no Envoy left).
// Envoy's answers come through its stats listener, which the agent serves over xDS and which forwards
// to the private admin socket: an answer there proves Envoy runs on the agent's configuration.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { Agent, request, type IncomingHttpHeaders } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ensureAgentBinary, runAgent, startServe, type RunningBinary } from "../helpers/agent-binary.ts";
import { admin, envoyBinary, eventually, freePort, send } from "./harness.ts";

const scratch = mkdtempSync(join(tmpdir(), "isobar-serve-envoy-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** GET / on drain.example.com through the given (keep-alive) agent. */
function get(port: number, agent: Agent): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", headers: { host: "drain.example.com" }, agent }, (response) => {
      response.resume();
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function metricsPort(agent: RunningBinary): Promise<number> {
  return Number((await agent.waitForLine(/metrics and health on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
}

/** A fake Envoy: a shell script (for what a real Envoy would not do on demand). */
function fakeEnvoy(name: string, script: string): string {
  const path = join(scratch, name);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return path;
}

test("serve --envoy runs a real Envoy on its own bootstrap, restarts it when killed, and on SIGTERM drains and stops it", async () => {
  await ensureAgentBinary();
  const manifests = join(scratch, "manifests");
  rmSync(manifests, { recursive: true, force: true });
  mkdirSync(manifests);
  // One route, answered by Envoy itself (503: its Service does not exist), over keep-alive connections.
  writeFileSync(join(manifests, "ingress.yaml"), `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: drain, namespace: default }
spec:
  rules:
    - host: drain.example.com
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: nothing, port: { number: 80 } } } }] }
`);
  const [httpPort, httpsPort, statsPort] = [await freePort(), await freePort(), await freePort()];
  const agent = await startServe(["--manifests", manifests, "--envoy", "--envoy-bin", envoyBinary(), "--envoy-log-level", "info", "--envoy-service-http-port", String(httpPort), "--envoy-service-https-port", String(httpsPort), "--stats-port", String(statsPort), "--log-format", "json"]);
  let stopped = false;
  try {
    const started = await agent.waitForLine(/Envoy started \(pid (\d+)\): \S+ -c (\S+)\/bootstrap\.json --use-dynamic-base-id/);
    const firstPid = Number(started[1]);
    const dir = started[2]!;
    // The private directory: 0700, the bootstrap `agent bootstrap` would write, the admin socket in it.
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const bootstrap = JSON.parse(readFileSync(join(dir, "bootstrap.json"), "utf8"));
    expect(bootstrap.admin.address.pipe.path).toBe(join(dir, "admin.sock"));
    const expected = await runAgent(["bootstrap", "-", "--xds-port", String(agent.port), "--admin-address", join(dir, "admin.sock"), "--node-id", bootstrap.node.id, "--node-cluster", bootstrap.node.cluster]);
    expect(bootstrap).toEqual(JSON.parse(expected.stdout));

    // Ready once Envoy is LIVE; Envoy's stats listener (from xDS) reaches the private admin socket.
    const metrics = await metricsPort(agent);
    await eventually(async () => (await send(metrics, "/readyz")).status === 200, { timeoutMs: 30_000, what: "/readyz 200" });
    expect((await send(statsPort, "/ready")).body.trim()).toBe("LIVE");
    expect((await admin(join(dir, "admin.sock"), "/ready")).body.trim()).toBe("LIVE");
    // Envoy's own log lines come through the agent's logger, tagged envoy.
    await agent.waitForLine(/"component":"envoy","msg":"main: /);

    // Killed, it is restarted (the log says why) and serves the agent's configuration again.
    const killedAt = agent.lineCount();
    process.kill(firstPid, "SIGKILL");
    await agent.waitForLine(/"level":"warn","component":"envoy","msg":"Envoy was killed by SIGKILL; restarting it in 0\.5s"/, { after: killedAt });
    const restarted = Number((await agent.waitForLine(/Envoy started \(pid (\d+)\)/, { after: killedAt }))[1]);
    expect(restarted).not.toBe(firstPid);
    await eventually(async () => (await send(statsPort, "/ready")).body.trim() === "LIVE", { timeoutMs: 30_000, what: "the restarted Envoy serving its stats listener" });
    expect((await send(metrics, "/readyz")).status).toBe(200);

    // SIGTERM with a client connection open: Envoy's health check fails, the agent waits while the
    // connection stays open, Envoy closes it after its next answer, then it is stopped; exit 0.
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const first = await eventually(async () => {
      const answer = await get(httpPort, keepAlive);
      return answer.status === 503 && answer;
    }, { what: "drain.example.com answered by Envoy" });
    expect(first.headers.connection).not.toBe("close");
    const stoppedAt = agent.lineCount();
    const exit = agent.stop();
    stopped = true;
    await agent.waitForLine(/"msg":"1 open connections, waiting for at most 0"/, { after: stoppedAt });
    const last = await get(httpPort, keepAlive);
    expect(last.headers.connection).toBe("close");
    expect(await exit).toBe(0);
    keepAlive.destroy();
    const output = agent.output();
    expect(output).toContain("Envoy's health check now fails");
    expect(output).toContain("0 open connections (at most 0 wanted): drained");
    expect(output).toContain('"msg":"Envoy stopped"');
    expect(output.indexOf("Envoy stopped")).toBeLessThan(output.indexOf("xDS server stopped"));
    expect(alive(restarted)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  } finally {
    if (!stopped) await agent.stop();
  }
}, 120_000);

test("/readyz waits for the agent's own Envoy; an Envoy that keeps dying is restarted with a growing backoff, saying why", async () => {
  await ensureAgentBinary();
  // An "Envoy" that runs but never answers on its admin socket.
  const silent = await startServe(["--manifests", join(import.meta.dir, "../../examples/quickstart"), "--envoy", "--envoy-bin", fakeEnvoy("silent-envoy", "exec sleep 600"), "--log-format", "json"]);
  try {
    const metrics = await metricsPort(silent);
    await silent.waitForLine(/Envoy started/);
    await eventually(async () => {
      const ready = await send(metrics, "/readyz");
      return ready.status === 503 && ready.body.startsWith("envoy's admin does not answer") && ready.body;
    }, { what: "/readyz 503 naming Envoy" });
  } finally {
    expect(await silent.stop()).toBe(0);
  }
  // An "Envoy" that fails at once, as a bad bootstrap would.
  const failing = await startServe(["--manifests", join(import.meta.dir, "../../examples/quickstart"), "--envoy", "--envoy-bin", fakeEnvoy("failing-envoy", "echo 'critical|main|error initializing configuration: no good' >&2; exit 3"), "--log-format", "json"]);
  try {
    await failing.waitForLine(/Envoy exited with code 3 \(last error: error initializing configuration: no good\); restarting it in 0\.5s/);
    await failing.waitForLine(/Envoy exited with code 3 .*; restarting it in 1\.0s/);
    await failing.waitForLine(/"level":"error","component":"envoy","msg":"main: error initializing configuration: no good"/);
    const metrics = await metricsPort(failing);
    expect((await send(metrics, "/readyz")).status).toBe(503);
  } finally {
    expect(await failing.stop()).toBe(0);
  }
}, 60_000);

test("serve --envoy without an Envoy, or with a bad one: one line, exit 2, nothing started", async () => {
  await ensureAgentBinary();
  const base = ["serve", "--manifests", "examples/quickstart", "--port", "0", "--metrics-port", "0", "--debug-port", "0", "--envoy"];
  const cwd = join(import.meta.dir, "../..");
  const none = await runAgent(base, { cwd, env: { ENVOY_BIN: "", PATH: dirname(process.execPath) } });
  expect(none).toEqual({ code: 2, stdout: "", stderr: "agent: --envoy: no Envoy found: give --envoy-bin PATH, set ENVOY_BIN, or put envoy on PATH (bash scripts/envoy.sh installs Envoy 1.40.0)\n" });
  expect(await runAgent([...base, "--envoy-bin", "/nonexistent/envoy"], { cwd })).toEqual({ code: 2, stdout: "", stderr: "agent: --envoy: /nonexistent/envoy (--envoy-bin) is not an executable file\n" });
  expect(await runAgent(base.filter((a) => a !== "--envoy").concat("--envoy-bin", envoyBinary()), { cwd })).toEqual({ code: 2, stdout: "", stderr: "agent: --envoy-bin needs --envoy\n" });
  expect(await runAgent([...base, "--envoy-log-level", "loud"], { cwd })).toMatchObject({ code: 2, stderr: expect.stringContaining("--envoy-log-level must be one of trace, debug, info, warning, error, critical, off") });
}, 30_000); // four runs of the binary: over 5 s on a loaded machine
