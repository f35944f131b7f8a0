// `agent envoy shutdown` (the preStop hook) against a real Envoy's admin socket: Envoy's readiness
// fails at once, a client's open keep-alive connection is told to close on its next request, and the
// hook waits for that connection to be gone before it exits 0. Then the examples' shutdown-manager
// pattern, with the command lines as written in examples/split/envoy.yaml.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { startAgentBinary } from "../helpers/agent-binary.ts";
import { loadExample } from "../helpers/examples.ts";
import { admin, eventually, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";

let stack: Stack;
let echo: EchoBackend;

beforeAll(async () => {
  echo = await startEcho("echo");
  stack = await startStack({
    manifests: {
      "app.yaml": `${serviceFor("drain", "echo", [echo])}---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: app, namespace: drain }
spec:
  rules:
    - host: drain.test
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: echo, port: { number: 80 } } } }] }
`,
    },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await echo?.close();
});

/** One HTTP/1.1 keep-alive connection, request after request, that notices when the server closes it. */
function keepAliveConnection(port: number) {
  const socket: Socket = connect(port, "127.0.0.1");
  let buffer = "";
  let closed = false;
  let waiting: (() => void) | undefined;
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    waiting?.();
  });
  socket.on("close", () => {
    closed = true;
    waiting?.();
  });
  socket.on("error", () => {});
  /** A whole response at the front of the buffer: status and headers, once its body is complete. */
  function takeResponse(): { status: number; headers: string } | undefined {
    const end = buffer.indexOf("\r\n\r\n");
    if (end < 0) return undefined;
    const head = buffer.slice(0, end);
    const body = buffer.slice(end + 4);
    const length = /\r\ncontent-length: (\d+)/i.exec(head);
    let consumed: number;
    if (length) {
      if (body.length < Number(length[1])) return undefined;
      consumed = end + 4 + Number(length[1]);
    } else {
      const last = body.indexOf("0\r\n\r\n");
      if (last < 0) return undefined;
      consumed = end + 4 + last + 5;
    }
    buffer = buffer.slice(consumed);
    const headers = head.toLowerCase();
    // As any HTTP/1.1 client does: a response saying `connection: close` ends the connection.
    if (headers.includes("\r\nconnection: close")) socket.end();
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers };
  }
  return {
    isClosed: () => closed,
    get(path: string): Promise<{ status: number; headers: string }> {
      socket.write(`GET ${path} HTTP/1.1\r\nhost: drain.test\r\n\r\n`);
      return new Promise((resolve, reject) => {
        waiting = () => {
          const response = takeResponse();
          if (response) resolve(response);
          else if (closed) reject(new Error("connection closed before a response"));
        };
        waiting();
      });
    },
    waitClosed: () => eventually(() => closed, { what: "the connection closed" }),
    destroy: () => socket.destroy(),
  };
}

const ready = async () => (await send(stack.statsPort, "/ready")).status;

test("readiness fails, the open connection drains, then the hook exits 0", async () => {
  const connection = keepAliveConnection(stack.httpPort);
  try {
    const first = await connection.get("/first");
    expect(first.status).toBe(200);
    expect(first.headers).not.toContain("connection: close");
    expect(await ready()).toBe(200);

    const hook = startAgentBinary(["envoy", "shutdown", "--admin-address", stack.envoy.adminSocket, "--check-interval", "200ms", "--drain-timeout", "30s", "--log-format", "text"]);
    // Readiness fails at once, while the hook waits for the open connection.
    await eventually(async () => (await ready()) === 503, { what: "Envoy's /ready failing" });
    await hook.waitForLine(/1 open connections, waiting for at most 0/);
    expect(connection.isClosed()).toBe(false);

    // The next request on the open connection is answered and told to close, and the connection ends.
    const last = await connection.get("/last");
    expect(last.status).toBe(200);
    expect(last.headers).toContain("connection: close");
    await connection.waitClosed();

    const code = await hook.process.exited;
    expect(code).toBe(0);
    expect(hook.output()).toMatch(/health check now fails/);
    expect(hook.output()).toMatch(/0 open connections \(at most 0 wanted\): drained/);
    expect(echo.received.map((r) => r.path)).toEqual(["/first", "/last"]);
  } finally {
    connection.destroy();
  }
}, 60_000);

test("examples/split/envoy.yaml's shutdown-manager and preStop hook, as written, drain the real Envoy before its /shutdown answers", async () => {
  // The previous test left Envoy's health check failed (as it stays in a stopping pod).
  await admin(stack.envoy.adminSocket, "/healthcheck/ok", "POST");
  expect(await ready()).toBe(200);
  const pod = loadExample("split").find((o) => o.kind === "DaemonSet")!.spec!.template!.spec;
  const manager = pod.containers.find((c) => c.name === "shutdown-manager")!;
  const envoyHook = pod.containers.find((c) => c.name === "envoy")!.lifecycle!.preStop!.httpGet!;
  const preStop = manager.lifecycle!.preStop!.exec!.command;
  expect(manager.command).toEqual(["agent"]);
  expect(preStop[0]).toBe("agent");
  // Only what the pod's mounts and fixed port become here is added: the pod's /admin volume is the
  // directory of the harness's admin socket, and port 8090 a free one.
  const adminDir = dirname(stack.envoy.adminSocket);
  const readyFile = join(adminDir, "ok");
  rmSync(readyFile, { force: true }); // written by the previous test's hook
  const managerRun = startAgentBinary([...manager.args!, `--ready-file=${readyFile}`, "--serve-port=0", "--log-format=text"]);
  const connection = keepAliveConnection(stack.httpPort);
  try {
    const port = Number((await managerRun.waitForLine(/shutdown manager on port (\d+)/))[1]);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await connection.get("/open")).status).toBe(200);

    // The pod stops: the kubelet runs both preStop hooks at once. Envoy's: GET /shutdown, which waits.
    let answered = false;
    const envoyPreStop = fetch(`http://127.0.0.1:${port}${envoyHook.path}`).then((r) => {
      answered = true;
      return r.status;
    });
    await managerRun.waitForLine(/\/shutdown asked/);
    // The shutdown-manager's: the example's exec command.
    const hook = startAgentBinary([...preStop.slice(1), `--admin-address=${stack.envoy.adminSocket}`, "--log-format=text"]);
    await eventually(async () => (await ready()) === 503, { what: "Envoy's /ready failing" });
    await hook.waitForLine(/1 open connections, waiting/);
    expect(answered).toBe(false);
    expect(existsSync(readyFile)).toBe(false);

    // The open connection is told to close on its next request; once it is gone the hook is done.
    const last = await connection.get("/closing");
    expect(last.headers).toContain("connection: close");
    await connection.waitClosed();
    expect(await hook.process.exited).toBe(0);
    expect(hook.output()).toMatch(/drained/);
    expect(existsSync(readyFile)).toBe(true);
    expect(await envoyPreStop).toBe(200);
  } finally {
    connection.destroy();
    await managerRun.stop();
    await admin(stack.envoy.adminSocket, "/healthcheck/ok", "POST");
  }
}, 90_000);
