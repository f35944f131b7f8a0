// `agent envoy shutdown` (the preStop hook) against a real Envoy's admin socket: Envoy's readiness
// fails at once, a client's open keep-alive connection is told to close on its next request, and the
// hook waits for that connection to be gone before it exits 0.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import { startAgentBinary } from "../helpers/agent-binary.ts";
import { eventually, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";

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
