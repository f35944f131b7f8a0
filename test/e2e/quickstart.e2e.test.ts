// `npm start`'s runner (scripts/quickstart.ts) on a copy of the quickstart whose backend ports are
// free ones: it installs or finds Envoy, starts the echo backends, runs the agent with --envoy, and
// prints curl commands. Those commands, run as printed, get their answers from the right backends
// (HTTPS with SNI and mutual TLS included, the broken Ingress a 503, the Gateway's HTTPRoute); a gRPC
// call through Envoy reaches the gRPC backend (by the Ingress and by the GRPCRoute); editing a manifest changes the answer; SIGTERM stops everything.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { Subprocess } from "bun";
import { ensureAgentBinary } from "../helpers/agent-binary.ts";
import { HEALTH_CHECK_PATH, HEALTH_SERVING } from "../helpers/grpc-echo.ts";
import { readLines } from "../helpers/lines.ts";
import { envoyBinary, eventually, freePort, send, type EchoReply } from "./harness.ts";

const root = join(import.meta.dir, "../..");
const scratch = mkdtempSync(join(tmpdir(), "isobar-quickstart-e2e-"));
const manifests = join(scratch, "quickstart");
/** The quickstart's backend port → the free port standing in for it in the copy. */
const ports = new Map<number, number>();
let runner: Subprocess<"ignore", "pipe", "pipe">;
const lines: string[] = [];
let httpPort: number;
let commands: string[] = [];

function shell(command: string): string {
  const run = spawnSync("bash", ["-c", command], { cwd: scratch, encoding: "utf8", timeout: 30_000 });
  if (run.status !== 0) throw new Error(`${command} exited ${run.status}: ${run.stderr}`);
  return run.stdout;
}

/** The printed command whose text contains `part`. */
function command(part: string): string {
  const found = commands.find((c) => c.includes(part));
  if (!found) throw new Error(`no printed command with ${part}:\n${commands.join("\n")}`);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  await ensureAgentBinary();
  cpSync(join(root, "examples/quickstart"), manifests, { recursive: true });
  // Every fixed backend port (18081, 18082, …) becomes a free one, the same in every file.
  for (const file of readdirSync(manifests).filter((f) => f.endsWith(".yaml"))) {
    const path = join(manifests, file);
    let text = readFileSync(path, "utf8");
    for (const match of text.matchAll(/\b(180\d\d)\b/g)) if (!ports.has(Number(match[1]))) ports.set(Number(match[1]), await freePort());
    text = text.replace(/\b(180\d\d)\b/g, (port) => String(ports.get(Number(port))));
    writeFileSync(path, text);
  }
  expect(ports.size).toBe(12);
  httpPort = await freePort();
  const flags = { "envoy-service-http-port": httpPort, "envoy-service-https-port": await freePort(), "stats-port": await freePort(), "xds-port": await freePort(), "metrics-port": await freePort(), "debug-port": await freePort() };
  runner = Bun.spawn([process.execPath, join(root, "scripts/quickstart.ts"), "--manifests", manifests, ...Object.entries(flags).flatMap(([flag, port]) => [`--${flag}`, String(port)])], {
    cwd: scratch,
    env: { ...process.env, ENVOY_BIN: envoyBinary() },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const pumped = readLines([runner.stdout, runner.stderr], (line) => lines.push(line));
  const exitedEarly = runner.exited.then(async (code) => {
    await pumped;
    throw new Error(`the quickstart exited with ${code}:\n${lines.join("\n")}`);
  });
  exitedEarly.catch(() => {});
  await Promise.race([eventually(() => lines.includes("Ctrl-C stops everything."), { timeoutMs: 60_000, what: "the quickstart's curl commands" }), exitedEarly]);
  commands = lines.filter((line) => /^ {2}(curl|for) /.test(line)).map((line) => line.trim());
}, 90_000);

afterAll(async () => {
  if (runner && runner.exitCode === null) {
    runner.kill("SIGTERM");
    await runner.exited;
  }
  rmSync(scratch, { recursive: true, force: true });
});

test("every printed curl command, run as printed, is answered by the backend it names", () => {
  const echo = JSON.parse(shell(command("Host: echo.example.com' http://127.0.0.1:" + httpPort + "/hello"))) as EchoReply;
  expect(echo).toMatchObject({ backend: "quickstart/echo", method: "GET", path: "/hello", host: "echo.example.com" });
  expect(echo.headers["user-agent"]).toStartWith("curl/");
  expect((JSON.parse(shell(command("/v2/hello"))) as EchoReply).backend).toBe("quickstart/echo-v2");
  expect(JSON.parse(shell(command("/blog/posts")))).toMatchObject({ backend: "proxy-blog/blog", path: "/posts", host: "www.example.com" });
  expect(JSON.parse(shell(command("x-canary: always")))).toMatchObject({ backend: "proxy-canary/shop-canary", headers: { "x-canary": "always" } });
  expect(JSON.parse(shell(command("x-api-version: 2")))).toMatchObject({ backend: "proxy-headers/api-v2", path: "/items" });
  // Gateway API: the HTTPRoute's /v2 rule on the Gateway's port-80 listener.
  expect(JSON.parse(shell(command("Host: gateway.example.com")))).toMatchObject({ backend: "quickstart/echo-v2", path: "/v2/hello", host: "gateway.example.com" });
  // The canary loop prints counts per backend; only the two shop backends answer, 20 in all.
  const counts = shell(command("for i in $(seq 20)")).trim().split("\n").map((line) => /^\s*(\d+) "backend":"(.+)"$/.exec(line)!);
  expect(counts.every((m) => m !== null && ["proxy-canary/shop-stable", "proxy-canary/shop-canary"].includes(m[2]!))).toBe(true);
  expect(counts.reduce((sum, m) => sum + Number(m[1]), 0)).toBe(20);
  // HTTPS: SNI picks the certificate, curl checks it against the quickstart's CA file.
  const secure = command("https://secure.example.com:");
  expect(secure).toContain("--cacert quickstart/ca.pem");
  expect(JSON.parse(shell(secure))).toMatchObject({ backend: "quickstart/echo", headers: { "x-forwarded-proto": "https" } });
  expect(JSON.parse(shell(command("https://mtls.example.com:")))).toMatchObject({ backend: "proxy-mtls/secure-app", headers: { "x-forwarded-proto": "https" } });
  expect(shell(command("broken.example.com"))).toStartWith("HTTP/1.1 503 ");
});

test("the canary takes about a tenth of shop.example.com (200 requests; 3% to 25% accepted, a >5-sigma band)", async () => {
  let canary = 0;
  for (let i = 0; i < 200; i++) if ((await send(httpPort, "/", { host: "shop.example.com" })).json().backend === "proxy-canary/shop-canary") canary++;
  expect(canary).toBeGreaterThanOrEqual(6);
  expect(canary).toBeLessThanOrEqual(50);
});

test.each([["echo.example.com", "the Ingress"], ["grpc.example.com", "the GRPCRoute"]])("a gRPC call through Envoy for %s (%s) reaches the gRPC backend over HTTP/2", async (authority, _by) => {
  const client = new grpc.Client(`127.0.0.1:${httpPort}`, grpc.credentials.createInsecure(), { "grpc.default_authority": authority });
  try {
    const identity = (bytes: Buffer) => bytes;
    let backend = "";
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const call = client.makeUnaryRequest(HEALTH_CHECK_PATH, identity, identity, Buffer.alloc(0), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (error, value) => (error ? reject(error) : resolve(value!)));
      call.on("metadata", (metadata) => (backend = String(metadata.get("x-backend")[0])));
    });
    expect(reply).toEqual(HEALTH_SERVING);
    expect(backend).toBe("quickstart/grpc-echo");
  } finally {
    client.close();
  }
});

test("editing a manifest changes what curl gets; SIGTERM stops the agent, its Envoy and the backends", async () => {
  // quickstart/echo's EndpointSlice now points at echo-v2's backend.
  const services = join(manifests, "services.yaml");
  const [echoPort, echoV2Port] = [ports.get(18081)!, ports.get(18082)!];
  writeFileSync(services, readFileSync(services, "utf8").replace(`{ name: http, port: ${echoPort}, protocol`, `{ name: http, port: ${echoV2Port}, protocol`));
  const hello = command(`Host: echo.example.com' http://127.0.0.1:${httpPort}/hello`);
  await eventually(() => (JSON.parse(shell(hello)) as EchoReply).backend === "quickstart/echo-v2", { what: "the edited EndpointSlice served" });

  const envoyPid = Number(/Envoy started \(pid (\d+)\)/.exec(lines.join("\n"))![1]);
  expect(alive(envoyPid)).toBe(true);
  runner.kill("SIGTERM");
  expect(await runner.exited).toBe(0);
  const output = lines.join("\n");
  expect(output).toContain("Envoy's health check now fails");
  expect(output).toContain("Envoy stopped");
  expect(alive(envoyPid)).toBe(false);
  await expect(send(echoV2Port, "/")).rejects.toThrow(/ECONNREFUSED|refused/i);
}, 60_000);
