// Gateway API through the compiled agent and a real Envoy: a Gateway with an HTTP listener (port
// 80 → the plaintext listener) for labelled namespaces and an HTTPS one (443 → the TLS listener)
// whose certificate sits in another namespace behind a ReferenceGrant; HTTPRoutes with path,
// header, method and query matches, weights, a redirect, header modifiers, a rewrite, a backend
// that does not exist; a GRPCRoute whose calls reach an HTTP/2 backend by service and method; a
// TLSRoute passed through by SNI beside the HTTPS listener; a TCP listener (Envoy on its port +
// 8000) whose TCPRoute proxies raw TCP to two weighted echo backends; and a
// route from a namespace the listener does not allow, which gets nothing.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:http2";
import { startTcpEcho, tcpExchange, type TcpEcho } from "./echo.ts";
import { answeredBy, eventually, freePort, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";
import { serverCertificate, startTlsEcho, testCa, tlsRequest, tlsSecret, type PemPair, type TlsEcho } from "./pki.ts";
import { GATEWAY_HEAD, httpRouteHead } from "./gateway-fixtures.ts";

let stack: Stack;
let backends: Record<string, EchoBackend>;
let ca: PemPair;
let backendCa: PemPair;
let tlsBackend: TlsEcho;
let tcpBackends: TcpEcho[] = [];
/** Envoy's port for the TCP listener: a free one, the Gateway's listener port being it minus 8000. */
let tcpEnvoyPort: number;

const gateway = (tcpPort: number) => `apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { shop: "true" } }
---
apiVersion: v1
kind: Namespace
metadata: { name: other }
---
${GATEWAY_HEAD}    - name: http
      port: 80
      protocol: HTTP
      allowedRoutes: { namespaces: { from: Selector, selector: { matchLabels: { shop: "true" } } } }
    - name: https
      port: 443
      protocol: HTTPS
      hostname: "*.example.com"
      allowedRoutes: { namespaces: { from: All } }
      tls: { certificateRefs: [{ name: wildcard, namespace: certs }] }
    - name: tls
      port: 443
      protocol: TLS
      hostname: "*.passthrough.test"
      allowedRoutes: { namespaces: { from: All } }
      tls: { mode: Passthrough }
    - name: tcp
      port: ${tcpPort}
      protocol: TCP
      allowedRoutes: { namespaces: { from: All } }
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: gateway-certs, namespace: certs }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: Gateway, namespace: infra }]
  to: [{ group: "", kind: Secret }]
`;

const routes = `${httpRouteHead({ name: "store", namespace: "shop", parentRefs: "{ name: web, namespace: infra }", hostnames: "store.example.com" })}    - backendRefs: [{ name: app, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /api } }]
      backendRefs: [{ name: api, port: 80 }]
    - matches: [{ path: { type: Exact, value: /api/admin } }]
      backendRefs: [{ name: admin, port: 80 }]
    - matches: [{ path: { type: RegularExpression, value: "/items/[0-9]+" } }]
      backendRefs: [{ name: admin, port: 80 }]
    - matches: [{ path: { value: /api }, headers: [{ name: x-version, value: "2" }] }, { path: { value: /api }, method: DELETE }, { path: { value: /api }, queryParams: [{ name: v, value: "2" }] }]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier: { set: [{ name: x-shop, value: "100%" }], add: [{ name: x-added, value: yes }], remove: [x-secret] }
        - type: ResponseHeaderModifier
          responseHeaderModifier: { set: [{ name: x-served-by, value: isobar }] }
      backendRefs: [{ name: api-v2, port: 80 }]
    - matches: [{ path: { value: /split } }]
      backendRefs: [{ name: app, port: 80, weight: 1 }, { name: api, port: 80, weight: 1 }, { name: admin, port: 80, weight: 0 }]
    - matches: [{ path: { value: /old } }]
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: new.example.com, path: { type: ReplacePrefixMatch, replacePrefixMatch: /new }, statusCode: 301 } }]
    - matches: [{ path: { value: /secure } }]
      filters: [{ type: RequestRedirect, requestRedirect: { scheme: https } }]
    - matches: [{ path: { value: /elsewhere } }]
      filters: [{ type: RequestRedirect, requestRedirect: { scheme: https, port: 8443, statusCode: 301 } }]
    - matches: [{ path: { value: /v1 } }]
      filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } } }]
      backendRefs: [{ name: app, port: 80 }]
    - matches: [{ path: { value: /missing } }]
      backendRefs: [{ name: nothere, port: 80 }]
    - matches: [{ path: { value: /partial } }]
      backendRefs: [{ name: app, port: 80 }, { name: nothere, port: 80 }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: echo, namespace: shop }
spec:
  parentRefs: [{ name: web, namespace: infra, sectionName: http }]
  hostnames: [grpc.example.com]
  rules:
    - matches: [{ method: { service: echo.Echo, method: Say } }]
      backendRefs: [{ name: grpc-say, port: 80 }]
    - matches: [{ method: { service: echo.Echo } }]
      backendRefs: [{ name: grpc-rest, port: 80 }]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: { name: passthrough, namespace: shop }
spec:
  parentRefs: [{ name: web, namespace: infra, sectionName: tls }]
  hostnames: [db.passthrough.test]
  rules: [{ backendRefs: [{ name: tls-backend, port: 443 }] }]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: raw, namespace: shop }
spec:
  parentRefs: [{ name: web, namespace: infra, sectionName: tcp }]
  rules: [{ backendRefs: [{ name: tcp-a, port: 7000, weight: 1 }, { name: tcp-b, port: 7000, weight: 1 }] }]
---
${httpRouteHead({ name: "intruder", namespace: "other", parentRefs: "{ name: web, namespace: infra, sectionName: http }", hostnames: "intruder.example.com" })}    - backendRefs: [{ name: app, port: 80 }]
`;

beforeAll(async () => {
  backends = {};
  for (const name of ["app", "api", "api-v2", "admin", "intruder"]) backends[name] = await startEcho(name);
  for (const name of ["grpc-say", "grpc-rest"]) backends[name] = await startEcho(name, { protocol: "h2c" });
  ca = await testCa("gateway e2e CA");
  const pair = await serverCertificate(ca, ["*.example.com"]);
  backendCa = await testCa("gateway e2e backend CA");
  tlsBackend = await startTlsEcho("tls-backend", await serverCertificate(backendCa, ["db.passthrough.test"]));
  tcpBackends = [await startTcpEcho("tcp-a"), await startTcpEcho("tcp-b")];
  tcpEnvoyPort = await freePort();
  if (tcpEnvoyPort <= 8000) throw new Error(`free port ${tcpEnvoyPort} is too low to be a Gateway port + 8000`);
  const services = [
    ...["app", "api", "api-v2", "admin", "grpc-say", "grpc-rest"].map((name) => serviceFor("shop", name, [backends[name]!])),
    serviceFor("other", "app", [backends.intruder!]),
    serviceFor("shop", "tls-backend", [tlsBackend], { port: 443 }),
    ...tcpBackends.map((backend) => serviceFor("shop", backend.name, [backend], { port: 7000, portName: "tcp" })),
  ].join("---\n");
  stack = await startStack({ manifests: { "gateway.yaml": gateway(tcpEnvoyPort - 8000), "secret.yaml": tlsSecret("certs", "wildcard", pair), "services.yaml": services, "routes.yaml": routes } });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  for (const backend of Object.values(backends ?? {})) await backend.close();
  await tlsBackend?.close();
  for (const backend of tcpBackends) await backend.close();
});

const get = (path: string, options: Parameters<typeof send>[2] = {}) => send(stack.httpPort, path, { host: "store.example.com", ...options });

test("paths: exact before the longest prefix, prefixes by segment, regular expressions", async () => {
  await eventually(async () => (await get("/")).status === 200, { what: "the HTTPRoute is served" });
  expect(answeredBy(await get("/"))).toBe("app");
  expect(answeredBy(await get("/api"))).toBe("api");
  expect(answeredBy(await get("/api/users"))).toBe("api");
  expect(answeredBy(await get("/apiary"))).toBe("app"); // not the /api segment
  expect(answeredBy(await get("/api/admin"))).toBe("admin");
  expect(answeredBy(await get("/api/admin/x"))).toBe("api");
  expect(answeredBy(await get("/items/42"))).toBe("admin");
  expect(answeredBy(await get("/items/x"))).toBe("app");
});

test("header, method and query matches win over the bare path; header modifiers apply", async () => {
  const byHeader = await get("/api/x", { headers: { "x-version": "2", "x-secret": "s" } });
  expect(answeredBy(byHeader)).toBe("api-v2");
  expect(byHeader.json().headers["x-shop"]).toBe("100%");
  expect(byHeader.json().headers["x-added"]).toBe("yes");
  expect(byHeader.json().headers["x-secret"]).toBeUndefined();
  expect(byHeader.headers["x-served-by"]).toBe("isobar");
  expect(answeredBy(await get("/api/x", { method: "DELETE" }))).toBe("api-v2");
  expect(answeredBy(await get("/api/x?v=2"))).toBe("api-v2");
  expect(answeredBy(await get("/api/x?v=3"))).toBe("api");
});

test("weights: both weighted backends answer, the one of weight 0 never", async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) seen.add(answeredBy(await get("/split")));
  expect([...seen].sort()).toEqual(["api", "app"]);
});

test("a redirect replaces the path prefix by segment; a rewrite too", async () => {
  const moved = await get("/old/page?q=1");
  expect(moved.status).toBe(301);
  expect(moved.headers.location).toBe("http://new.example.com/new/page?q=1");
  // No port in the redirect: the listener's port (80) or the new scheme's well-known one, both left out.
  const secure = await get("/secure");
  expect([secure.status, secure.headers.location]).toEqual([302, "https://store.example.com/secure"]);
  const elsewhere = await get("/elsewhere/x");
  expect([elsewhere.status, elsewhere.headers.location]).toEqual([301, "https://store.example.com:8443/elsewhere/x"]);
  const rewritten = await get("/v1/users");
  expect(answeredBy(rewritten)).toBe("app");
  expect(rewritten.json().path).toBe("/users");
});

test("a backend that does not exist answers 500, for its share of the requests beside a valid one", async () => {
  expect((await get("/missing")).status).toBe(500);
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) seen.add(answeredBy(await get("/partial")));
  expect([...seen].sort()).toEqual(["<500>", "app"]);
});

test("HTTPS with the certificate granted across namespaces", async () => {
  const secure = await send(stack.httpsPort, "/api/x", { host: "store.example.com", tls: { ca: ca.certificatePem } });
  expect(answeredBy(secure)).toBe("api");
});

test("TLSRoute: a TLS listener in Passthrough hands the connection to the backend by SNI, on the port HTTPS uses", async () => {
  const answer = await tlsRequest(stack.httpsPort, { servername: "db.passthrough.test", ca: backendCa.certificatePem, path: "/through" });
  expect(answer.error).toBeUndefined();
  expect(JSON.parse(answer.body!)).toMatchObject({ backend: "tls-backend", sni: "db.passthrough.test", path: "/through" });
  // The HTTPS listener's hosts still terminate with the Gateway's certificate.
  expect(answeredBy(await send(stack.httpsPort, "/", { host: "store.example.com", tls: { ca: ca.certificatePem } }))).toBe("app");
});

test("TCPRoute: raw TCP to Envoy on the TCP listener's port + 8000 reaches the route's weighted backends", async () => {
  const answers = new Set<string>();
  await eventually(
    async () => {
      const { answer } = await tcpExchange(tcpEnvoyPort, "ping");
      if (answer) answers.add(answer);
      return answers.size === 2;
    },
    { what: "both weighted TCP backends answer through Envoy" },
  );
  expect([...answers].sort()).toEqual(["tcp-a:ping", "tcp-b:ping"]);
  // Bytes go both ways on one connection, unread by Envoy.
  expect((await tcpExchange(tcpEnvoyPort, "GET / HTTP/1.1\r\n\r\n")).answer).toMatch(/^tcp-[ab]:GET \/ HTTP\/1\.1\r\n\r\n$/);
});

test("a route from a namespace the listener does not allow gets no traffic", async () => {
  const refused = await send(stack.httpPort, "/", { host: "intruder.example.com" });
  expect(refused.status).toBe(404);
  expect(backends.intruder!.received.length).toBe(0);
});

/**
 * A gRPC-shaped call (HTTP/2 in cleartext, POST, application/grpc) to Envoy: the echo backend that
 * answered, or the grpc-status Envoy answered with itself (its local replies to gRPC are gRPC errors).
 */
function grpcCall(port: number, path: string): Promise<{ backend?: string; httpVersion?: string; grpcStatus?: string }> {
  return new Promise((resolve, reject) => {
    const client = connect(`http://127.0.0.1:${port}`);
    client.on("error", reject);
    const request = client.request({ ":method": "POST", ":path": path, ":authority": "grpc.example.com", "content-type": "application/grpc", te: "trailers" });
    let grpcStatus: string | undefined;
    let json = false;
    const chunks: Buffer[] = [];
    request.on("response", (headers) => {
      json = String(headers["content-type"] ?? "").includes("json");
      if (headers["grpc-status"] !== undefined) grpcStatus = String(headers["grpc-status"]);
    });
    request.on("trailers", (trailers) => {
      if (trailers["grpc-status"] !== undefined) grpcStatus = String(trailers["grpc-status"]);
    });
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      client.close();
      if (!json) return resolve({ grpcStatus });
      const reply = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { backend: string; httpVersion: string };
      resolve({ backend: reply.backend, httpVersion: reply.httpVersion });
    });
    request.on("error", reject);
    request.end();
  });
}

test("GRPCRoute: a call is routed by its service and method to a backend spoken to over HTTP/2", async () => {
  await eventually(async () => (await grpcCall(stack.httpPort, "/echo.Echo/Say")).backend === "grpc-say", { what: "the GRPCRoute is served" });
  expect(await grpcCall(stack.httpPort, "/echo.Echo/Say")).toEqual({ backend: "grpc-say", httpVersion: "2.0" });
  expect(await grpcCall(stack.httpPort, "/echo.Echo/Other")).toEqual({ backend: "grpc-rest", httpVersion: "2.0" });
  // No route: Envoy's own answer, as a gRPC error (UNIMPLEMENTED, the gRPC form of 404).
  expect(await grpcCall(stack.httpPort, "/other.Service/Say")).toEqual({ grpcStatus: "12" });
});
