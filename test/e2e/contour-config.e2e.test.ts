// Contour's configuration through the compiled agent and a real Envoy 1.40: a configuration file
// (`serve --config-path`) and a ContourConfiguration in the manifest directory
// (`serve --contour-config-name`) change what Envoy does: the request timeout (408 for a request
// whose body never comes), JSON access log lines with the configured fields, TLS 1.2 refused when
// the minimum is 1.3, global request and response headers, gzip (brotli from the
// ContourConfiguration), disablePermitInsecure redirecting a permitInsecure route.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { admin, eventually, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";
import { serverCertificate, testCa, tlsRequest, tlsSecret, type PemPair } from "./pki.ts";

const configFile = `
timeouts:
  request-timeout: 1s
accesslog-format: json
json-fields: [method, path, response_code, "host=%REQ(:AUTHORITY)%"]
tls:
  minimum-protocol-version: "1.3"
policy:
  request-headers: { set: { x-env: e2e } }
  response-headers: { set: { x-served-by: isobar-config } }
disablePermitInsecure: true
compression: { algorithm: gzip }
`;

function proxies(echo: EchoBackend): Record<string, string> {
  return {
    "service.yaml": serviceFor("default", "echo", [echo]),
    "plain.yaml": `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: plain, namespace: default }
spec:
  virtualhost: { fqdn: plain.example.com }
  routes:
    - services: [{ name: echo, port: 80 }]
`,
  };
}

/** Sends a request's headers promising a body that never comes; resolves with Envoy's status line. */
function requestWithoutBody(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write("POST / HTTP/1.1\r\nHost: plain.example.com\r\nContent-Length: 100\r\n\r\npart"));
    let answer = "";
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString("latin1");
      if (answer.includes("\r\n")) {
        resolve(answer.split("\r\n")[0]!);
        socket.destroy();
      }
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(answer.split("\r\n")[0] ?? ""));
  });
}

describe("serve --config-path with a real Envoy", () => {
  let stack: Stack;
  let echo: EchoBackend;
  let ca: PemPair;

  beforeAll(async () => {
    echo = await startEcho("echo");
    ca = await testCa("contour-config e2e CA");
    const cert = await serverCertificate(ca, ["secure.example.com"]);
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const configPath = join(mkdtempSync(join(tmpdir(), "isobar-contour-config-")), "contour.yaml");
    writeFileSync(configPath, configFile);
    stack = await startStack({
      manifests: {
        ...proxies(echo),
        "secret.yaml": tlsSecret("default", "secure-tls", cert),
        "secure.yaml": `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: secure, namespace: default }
spec:
  virtualhost: { fqdn: secure.example.com, tls: { secretName: secure-tls } }
  routes:
    - conditions: [{ prefix: /insecure }]
      permitInsecure: true
      services: [{ name: echo, port: 80 }]
    - services: [{ name: echo, port: 80 }]
`,
      },
      serveArgs: ["--config-path", configPath],
      listeners: ["ingress_http", "ingress_https"],
    });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await echo?.close();
  });

  test("global request and response headers reach the backend and the client", async () => {
    const response = await send(stack.httpPort, "/", { host: "plain.example.com" });
    expect(response.status).toBe(200);
    expect(response.json().headers["x-env"]).toBe("e2e");
    expect(response.headers["x-served-by"]).toBe("isobar-config");
  });

  test("a request whose body does not arrive within the request timeout is answered 408", async () => {
    expect(await requestWithoutBody(stack.httpPort)).toBe("HTTP/1.1 408 Request Timeout");
  });

  test("access log lines are JSON with the configured fields", async () => {
    await send(stack.httpPort, "/logged-path", { host: "plain.example.com" });
    const line = await eventually(() =>
      stack.envoy
        .output()
        .split("\n")
        .find((l) => l.includes('"/logged-path"')),
      // Envoy flushes its access log every 10 s (the bootstrap's file_flush_interval_msec default).
      { timeoutMs: 25_000, what: "the access log line of /logged-path" },
    );
    expect(JSON.parse(line)).toEqual({ method: "GET", path: "/logged-path", response_code: 200, host: "plain.example.com" });
  }, 30_000);

  test("gzip: a compressible answer is compressed for a client that accepts it", async () => {
    const { request } = await import("node:http");
    const body = await new Promise<{ encoding: string | undefined; bytes: Buffer }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: stack.httpPort, path: `/${"x".repeat(200)}`, headers: { host: "plain.example.com", "accept-encoding": "gzip" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ encoding: res.headers["content-encoding"], bytes: Buffer.concat(chunks) }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(body.encoding).toBe("gzip");
    expect(JSON.parse(gunzipSync(body.bytes).toString("utf8")).backend).toBe("echo");
  });

  test("TLS 1.2 is refused and TLS 1.3 served when the minimum is 1.3", async () => {
    const old = await tlsRequest(stack.httpsPort, { servername: "secure.example.com", ca: ca.certificatePem, maxVersion: "TLSv1.2" });
    expect(old.status).toBeUndefined();
    expect(old.error).toBeDefined();
    const current = await tlsRequest(stack.httpsPort, { servername: "secure.example.com", ca: ca.certificatePem });
    expect([current.protocol, current.status]).toEqual(["TLSv1.3", 200]);
  });

  test("disablePermitInsecure: a permitInsecure route of a TLS host still redirects to https", async () => {
    const response = await send(stack.httpPort, "/insecure", { host: "secure.example.com" });
    expect(response.status).toBe(301);
    expect(response.headers.location).toBe("https://secure.example.com/insecure");
  });
});

describe("serve --contour-config-name with a real Envoy", () => {
  test("the ContourConfiguration in the manifest directory configures Envoy (brotli, a response header)", async () => {
    const echo = await startEcho("echo");
    // The ContourConfiguration served, with brotli compression and the given policy lines.
    const contourConfig = (policy: string) => `apiVersion: projectcontour.io/v1alpha1
kind: ContourConfiguration
metadata: { name: contour, namespace: projectcontour }
spec:
  envoy:
    listener:
      compression: { algorithm: brotli }
  policy:
${policy}
`;
    const stack = await startStack({
      manifests: {
        ...proxies(echo),
        "contour-config.yaml": contourConfig("    responseHeaders: { set: { x-config: from-crd } }"),
      },
      serveArgs: ["--contour-config-name", "contour"],
    });
    try {
      const { request } = await import("node:http");
      const answer = await new Promise<{ encoding: string | undefined; header: unknown; bytes: Buffer }>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port: stack.httpPort, path: `/${"y".repeat(200)}`, headers: { host: "plain.example.com", "accept-encoding": "br" } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ encoding: res.headers["content-encoding"], header: res.headers["x-config"], bytes: Buffer.concat(chunks) }));
        });
        req.on("error", reject);
        req.end();
      });
      expect([answer.encoding, answer.header]).toEqual(["br", "from-crd"]);
      expect(JSON.parse(brotliDecompressSync(answer.bytes).toString("utf8")).backend).toBe("echo");

      // A bad edit is reported naming the field, and the last good configuration keeps being served.
      stack.write("contour-config.yaml", contourConfig("    responseHeaders: { set: { x-config: bad } }\n    requestHeaderz: {}"));
      await stack.agent.waitForLine(/ContourConfiguration projectcontour\/contour: unknown setting spec\.policy\.requestHeaderz; still serving the last good configuration/);
      expect((await send(stack.httpPort, "/", { host: "plain.example.com" })).headers["x-config"]).toBe("from-crd");
      // A good edit is applied without a restart.
      stack.write("contour-config.yaml", contourConfig("    responseHeaders: { set: { x-config: edited } }"));
      await eventually(async () => (await send(stack.httpPort, "/", { host: "plain.example.com" })).headers["x-config"] === "edited", { what: "the edited ContourConfiguration served" });
    } finally {
      await stack.stop();
      await echo.close();
    }
  }, 60_000);
});

/** Opens a connection, sends one keep-alive request and resolves with the status line, or "closed" if Envoy closes it first. */
function keepAliveRequest(port: number, preface: string, host: string): Promise<{ status: string; socket: import("node:net").Socket }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(`${preface}GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
    let answer = "";
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString("latin1");
      if (answer.includes("\r\n\r\n")) resolve({ status: answer.split("\r\n")[0]!, socket });
    });
    socket.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" ? resolve({ status: "closed", socket }) : reject(error)));
    socket.on("close", () => resolve({ status: answer ? answer.split("\r\n")[0]! : "closed", socket }));
  });
}

describe("every setting of the golden configuration file, with a real Envoy", () => {
  test("Envoy accepts them all; the PROXY protocol, the per-listener connection limit and the overload manager apply", async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const golden = join(import.meta.dir, "../testdata/contour-config");
    const configPath = join(mkdtempSync(join(tmpdir(), "isobar-contour-config-")), "contour.yaml");
    writeFileSync(configPath, `${readFileSync(join(golden, "config.yaml"), "utf8")}  max-connections-per-listener: 2\n`);
    const echo = await startEcho("echo");
    const stack = await startStack({
      manifests: { "golden.yaml": readFileSync(join(golden, "input.yaml"), "utf8"), ...proxies(echo) },
      serveArgs: ["--config-path", configPath, "--use-proxy-protocol"],
      bootstrapArgs: ["--config-path", configPath, "--overload-max-heap", "1073741824"],
      listeners: ["ingress_http", "ingress_https"],
    });
    const sockets: import("node:net").Socket[] = [];
    try {
      const proxied = "PROXY TCP4 192.0.2.7 127.0.0.1 40000 80\r\n";
      const first = await keepAliveRequest(stack.httpPort, proxied, "plain.example.com");
      sockets.push(first.socket);
      expect(first.status).toBe("HTTP/1.1 200 OK");
      expect(echo.received.at(-1)?.headers["x-forwarded-for"]).toBe("192.0.2.7");
      // Without the PROXY header Envoy closes the connection.
      expect((await keepAliveRequest(stack.httpPort, "", "plain.example.com")).status).toBe("closed");
      // Envoy counts that connection until it has finished closing it: wait for the count to drop to
      // the one open connection, or the next one could meet the limit of two.
      const active = async () => {
        const { body } = await admin(stack.envoy.adminSocket, "/stats?filter=downstream_cx_active");
        return Number(new RegExp(`^listener\\.[^\\n]*_${stack.httpPort}\\.downstream_cx_active: (\\d+)$`, "m").exec(body)?.[1]);
      };
      await eventually(async () => (await active()) === 1, { what: "one active connection on ingress_http" });
      const second = await keepAliveRequest(stack.httpPort, proxied, "plain.example.com");
      sockets.push(second.socket);
      expect(second.status).toBe("HTTP/1.1 200 OK");
      // Two connections are open on ingress_http: a third is refused.
      const third = await keepAliveRequest(stack.httpPort, proxied, "plain.example.com");
      sockets.push(third.socket);
      expect(third.status).toBe("closed");
      const dump = JSON.stringify(await stack.envoy.configDump());
      for (const fragment of ["envoy.resource_monitors.fixed_heap", "envoy.overload_actions.shrink_heap", '"envoy.resource_limits.listener.ingress_http.connection_limit":2', '"server_header_transformation":"APPEND_IF_ABSENT"', '"codec_type":"HTTP1"', "envoy.filters.listener.proxy_protocol", '"tls_minimum_protocol_version":"TLSv1_3"', '"dns_lookup_family":"V4_ONLY"', '"max_requests_per_connection":20', '"per_connection_buffer_limit_bytes":65536', '"max_connection_duration":"3600s"', '"name":"brotli"']) {
        expect(dump).toContain(fragment);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      await stack.stop();
      await echo.close();
    }
  }, 60_000);
});
