// Graceful shutdown: `agent serve` in a child process with a connected xDS client gets SIGTERM and
// exits 0, ending the stream; in-process, startAgent's close goes not-ready → xDS closed and the
// Lease released → metrics server closed. `agent envoy shutdown` drains a fake Envoy admin socket.
import { afterAll, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent } from "../src/agent/agent.ts";
import { createMetrics } from "../src/observe/metrics.ts";
import { connectXds } from "../src/xds/client.ts";
import { TypeUrls } from "../src/xds/types.ts";
import { encodeSotwRequest } from "./helpers/ads-client.ts";
import { ensureAgentBinary, startServe } from "./helpers/agent-binary.ts";
import { spawnAgent } from "./helpers/agent-process.ts";
import { fakeEnvoyAdmin } from "./helpers/fake-envoy-admin.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

const quickstart = join(import.meta.dir, "../examples/quickstart");
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

test("SIGTERM with a connected client: the stream ends, the servers close, exit code 0", async () => {
  const agent = spawnAgent(["serve", "--manifests", quickstart, "--port", "0", "--metrics-address", "127.0.0.1", "--metrics-port", "0", "--debug-port", "0", "--shutdown-grace", "3s", "--log-format", "json"]);
  const xdsPort = Number((await agent.waitFor(/xDS server listening on 127\.0\.0\.1:(\d+)/))[1]);
  const metricsPort = Number((await agent.waitFor(/metrics and health on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
  await agent.waitFor(/first snapshot published/);
  expect((await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).status).toBe(200);

  const client = connectXds(`127.0.0.1:${xdsPort}`, { node: { id: "lifecycle" }, subscriptions: [{ typeUrl: TypeUrls.cluster }] });
  expect((await client.next()).resourceCount).toBeGreaterThan(0);
  const streamEnded = client.next().then(
    () => "response",
    (error: Error) => error.message,
  );

  agent.child.kill("SIGTERM");
  expect(await agent.child.exited).toBe(0);
  await agent.pumped;
  expect(await streamEnded).toBe("stream ended by the server");
  const order = agent.lines.map((l) => l.msg).filter((m) => /SIGTERM received|xDS server stopped|stopped in \d+ ms/.test(m));
  expect(order.map((m) => m.replace(/\d+ ms/, "N ms"))).toEqual(["SIGTERM received, shutting down", "xDS server stopped", "stopped in N ms"]);
  expect(await fetch(`http://127.0.0.1:${metricsPort}/healthz`).then(() => "answered", () => "refused")).toBe("refused");
  client.close();
}, 30_000);

/** Ingresses enough for a route config far larger than an HTTP/2 receive window. */
function manyIngresses(count: number): string {
  const service = "apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: default }\nspec: { ports: [{ name: http, port: 80, targetPort: 8080 }] }\n";
  const ingress = (i: number) =>
    `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: ing-${i}, namespace: default }\nspec:\n  rules:\n    - host: host-${i}-${"x".repeat(60)}.example.com\n      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }\n`;
  return [service, ...Array.from({ length: count }, (_, i) => ingress(i))].join("---\n");
}

/**
 * An xDS client that asks for the route config on a few ADS streams and never reads: its HTTP/2
 * receive windows fill and the server's writes wait on it. Resolves once the server has answered
 * (response headers seen).
 */
async function nonReadingClient(port: number, streams: number): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const answered: Promise<unknown>[] = [];
  for (let i = 0; i < streams; i++) {
    const stream = session.request({ ":method": "POST", ":path": "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources", "content-type": "application/grpc", te: "trailers" });
    const body = encodeSotwRequest({ node: { id: `stuck-${i}` }, type_url: TypeUrls.route, resource_names: ["ingress_http"] });
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    stream.write(frame);
    stream.pause();
    stream.on("error", () => {});
    answered.push(new Promise((resolve) => stream.once("response", resolve)));
  }
  session.on("error", () => {});
  await Promise.all(answered);
  return session;
}

test("--shutdown-grace is exact: streams to clients that stopped reading are cut at the deadline (compiled binary)", async () => {
  await ensureAgentBinary();
  const dir = mkdtempSync(join(tmpdir(), "isobar-grace-"));
  dirs.push(dir);
  mkdirSync(join(dir, "manifests"));
  writeFileSync(join(dir, "manifests", "many.yaml"), manyIngresses(3000));
  const serve = await startServe(["--manifests", join(dir, "manifests"), "--shutdown-grace", "1s"]);
  await serve.waitForLine(/first snapshot published/);
  const session = await nonReadingClient(serve.port, 4);
  const before = serve.lineCount();
  expect(await serve.stop()).toBe(0);
  const log = serve.output().split("\n").slice(before).join("\n");
  // Cut by the xDS server at the grace period, not by the shutdown watchdog (grace + 2 s) after it.
  expect(log).toContain("xDS server stopped: connections still open after the 1000 ms grace period were cut");
  expect(log).not.toContain("shutdown did not finish");
  session.destroy();
}, 60_000);

test("close order: not ready first, then xDS ended while the Lease is released, then the metrics server", async () => {
  const steps: string[] = [];
  const agent = await startAgent({
    address: "127.0.0.1",
    port: 0,
    manifests: quickstart,
    holdoffMs: 5,
    maxDelayMs: 20,
    dag: { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => new Date() },
    observe: { metricsAddress: { address: "127.0.0.1", port: 0 }, metrics: createMetrics() },
  });
  agent.attachStatusReporting({
    isLeader: () => true,
    writer: { stats: () => ({ written: 2, skipped: 0, unchanged: 0, conflicts: 0, failed: 0, dropped: 0 }) },
    async stop() {
      const readyz = await fetch(`http://127.0.0.1:${agent.observe.metricsPort}/readyz`);
      steps.push(`lease released (readyz ${readyz.status} ${(await readyz.text()).trim()})`);
    },
  });
  await agent.pipeline.flush();
  const metrics = `http://127.0.0.1:${agent.observe.metricsPort}/metrics`;
  const scraped = await fetch(metrics).then((r) => r.text());
  expect(scraped).toContain("isobar_leader 1");
  expect(scraped).toContain('isobar_status_writes_total{result="written"} 2');
  const client = connectXds(`127.0.0.1:${agent.server.port}`, { node: { id: "order" }, subscriptions: [{ typeUrl: TypeUrls.listener }] });
  await client.next();
  const ended = client.next().catch(() => steps.push("xDS stream ended"));
  await agent.close(1000);
  await ended;
  steps.push(await fetch(metrics).then(() => "metrics answered", () => "metrics closed"));
  expect(steps.toSorted()).toEqual(["lease released (readyz 503 shutting down)", "metrics closed", "xDS stream ended"].toSorted());
  expect(steps.at(-1)).toBe("metrics closed");
  client.close();
});

test("agent envoy shutdown fails the health check and waits for the connections to drain, exit 0", async () => {
  const dir = mkdtempSync(join(tmpdir(), "isobar-envoy-shutdown-"));
  dirs.push(dir);
  const socket = join(dir, "admin.sock");
  const fake = await fakeEnvoyAdmin(socket, [3, 2, 0]);
  try {
    const run = spawnAgent(["envoy", "shutdown", "--admin-address", socket, "--check-interval", "10ms", "--drain-timeout", "10s", "--log-format", "json"]);
    expect(await run.child.exited).toBe(0);
    await run.pumped;
    expect(fake.requests[0]).toBe("POST /healthcheck/fail");
    expect(fake.requests.length).toBe(4);
    expect(run.lines.map((l) => l.msg)).toEqual([
      "Envoy's health check now fails: no new connections are sent to it",
      "6 open connections, waiting for at most 0",
      "4 open connections, waiting for at most 0",
      "0 open connections (at most 0 wanted): drained",
      // For Contour's shutdown-manager, whose /shutdown (Envoy's own preStop hook) waits on it.
      `created ${join(dir, "ok")}: shutdown is complete`,
    ]);
    expect(existsSync(join(dir, "ok"))).toBe(true);
  } finally {
    await new Promise<void>((resolve) => fake.server.close(() => resolve()));
  }
});

test("agent envoy shutdown exits 0 even when Envoy is already gone", async () => {
  const run = spawnAgent(["envoy", "shutdown", "--admin-address", "/nonexistent/admin.sock", "--log-format", "json"]);
  expect(await run.child.exited).toBe(0);
  await run.pumped;
  expect(run.lines[0]?.msg).toStartWith("Envoy's admin socket /nonexistent/admin.sock does not answer");
});
