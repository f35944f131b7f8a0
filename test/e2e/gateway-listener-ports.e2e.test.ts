// Gateway listeners beyond 80 and 443, through the compiled agent and a real Envoy: HTTPS on another
// port is Envoy's own TLS listener on that port + 8000, where two HTTPS listeners (an exact and a
// wildcard hostname) are isolated by SNI and Host and a TLS Passthrough listener hands its names to a
// TLSRoute's backend; a TLS listener that terminates (on its own port without a hostname, and on 443
// with one) proxies the decrypted bytes to a TCPRoute's backend; and a manifest that relies on the
// Gateway API CRDs' defaults (no matches, no path type, no weights, allowedRoutes left out) is
// served as a cluster would serve it, with a 307 redirect its v1.6.1 schema allows.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTcpEcho, tcpExchange, type TcpEcho } from "./echo.ts";
import { answeredBy, freePorts, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";
import { serverCertificate, startTlsEcho, testCa, tlsRequest, tlsSecret, type PemPair, type TlsEcho } from "./pki.ts";
import { GATEWAY_HEAD } from "./gateway-fixtures.ts";

let stack: Stack;
let backends: Record<string, EchoBackend> = {};
let tcpBackends: TcpEcho[] = [];
let passthroughBackend: TlsEcho;
let ca: PemPair;
let backendCa: PemPair;
/** Envoy's ports of the two TLS Gateway ports (each the Gateway's port + 8000). */
let httpsEnvoyPort: number;
let tlsEnvoyPort: number;

const manifests = (httpsPort: number, tlsPort: number) => `${GATEWAY_HEAD}    - { name: http, port: 80, protocol: HTTP }
    - { name: exact, port: ${httpsPort}, protocol: HTTPS, hostname: a.example.com, tls: { certificateRefs: [{ name: cert }] } }
    - { name: wild, port: ${httpsPort}, protocol: HTTPS, hostname: "*.example.com", tls: { certificateRefs: [{ name: cert }] } }
    - { name: pass, port: ${httpsPort}, protocol: TLS, hostname: "*.pass.test", tls: { mode: Passthrough } }
    - { name: any, port: ${tlsPort}, protocol: TLS, tls: { certificateRefs: [{ name: cert }] } }
    - { name: term, port: 443, protocol: TLS, hostname: tcp.example.com, tls: { certificateRefs: [{ name: cert }] } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: exact, namespace: infra }
spec:
  parentRefs: [{ name: web, sectionName: exact }]
  rules: [{ backendRefs: [{ name: exact, port: 80 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: wild, namespace: infra }
spec:
  parentRefs: [{ name: web, sectionName: wild }]
  hostnames: [a.example.com, b.example.com]
  rules: [{ backendRefs: [{ name: wild, port: 80 }] }]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: { name: pass, namespace: infra }
spec:
  parentRefs: [{ name: web, sectionName: pass }]
  hostnames: [db.pass.test]
  rules: [{ backendRefs: [{ name: db, port: 443 }] }]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: any, namespace: infra }
spec:
  parentRefs: [{ name: web, sectionName: any }]
  rules: [{ backendRefs: [{ name: tcp-any, port: 7000 }] }]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: term, namespace: infra }
spec:
  parentRefs: [{ name: web, sectionName: term }]
  rules: [{ backendRefs: [{ name: tcp-term, port: 7000 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: defaults, namespace: infra }
spec:
  parentRefs: [{ name: web, sectionName: http }]
  hostnames: [defaults.example.com]
  rules:
    - backendRefs: [{ name: app, port: 80 }]
    - matches: [{ path: { value: /api } }, { headers: [{ name: x-api, value: "1" }] }]
      backendRefs: [{ name: api, port: 80 }]
    - matches: [{ path: { type: Exact } }]
      filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplaceFullPath, replaceFullPath: /home }, statusCode: 307 } }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: elsewhere, namespace: apps }
spec:
  parentRefs: [{ name: web, namespace: infra, sectionName: http }]
  hostnames: [elsewhere.example.com]
  rules: [{ backendRefs: [{ name: app, port: 80 }] }]
`;

beforeAll(async () => {
  for (const name of ["exact", "wild", "app", "api"]) backends[name] = await startEcho(name);
  tcpBackends = [await startTcpEcho("tcp-any"), await startTcpEcho("tcp-term")];
  ca = await testCa("gateway ports e2e CA");
  backendCa = await testCa("gateway ports e2e backend CA");
  passthroughBackend = await startTlsEcho("db", await serverCertificate(backendCa, ["db.pass.test"]));
  [httpsEnvoyPort, tlsEnvoyPort] = (await freePorts(2)) as [number, number];
  if (Math.min(httpsEnvoyPort, tlsEnvoyPort) <= 8000) throw new Error(`free ports ${httpsEnvoyPort}, ${tlsEnvoyPort}: too low to be Gateway ports + 8000`);
  const services = [
    ...["exact", "wild", "app", "api"].map((name) => serviceFor("infra", name, [backends[name]!])),
    serviceFor("apps", "app", [backends.app!]),
    serviceFor("infra", "db", [passthroughBackend], { port: 443 }),
    ...tcpBackends.map((backend) => serviceFor("infra", backend.name, [backend], { port: 7000, portName: "tcp" })),
  ].join("---\n");
  stack = await startStack({
    manifests: {
      "gateway.yaml": manifests(httpsEnvoyPort - 8000, tlsEnvoyPort - 8000),
      "secret.yaml": tlsSecret("infra", "cert", await serverCertificate(ca, ["*.example.com", "a.example.com"])),
      "services.yaml": services,
    },
    listeners: ["ingress_http", "ingress_https", `https-${httpsEnvoyPort}`, `https-${tlsEnvoyPort}`],
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  for (const backend of Object.values(backends)) await backend.close();
  for (const backend of tcpBackends) await backend.close();
  await passthroughBackend?.close();
});

test("HTTPS on a port other than 443: Envoy's listener on that port + 8000 picks the listener by SNI, the most specific hostname first", async () => {
  const https = (host: string, servername = host) => send(httpsEnvoyPort, "/", { host, tls: { servername, ca: ca.certificatePem } });
  expect(answeredBy(await https("a.example.com"))).toBe("exact");
  expect(answeredBy(await https("b.example.com"))).toBe("wild");
  // One name's certificate never carries a request for another host.
  expect((await https("a.example.com", "b.example.com")).status).toBe(421);
  // The shared listeners do not serve these hosts.
  expect((await send(stack.httpPort, "/", { host: "a.example.com" })).status).toBe(404);
});

test("TLS passthrough on a port other than 443: the backend's own certificate answers for its SNI name", async () => {
  const answer = await tlsRequest(httpsEnvoyPort, { servername: "db.pass.test", ca: backendCa.certificatePem, path: "/through" });
  expect(answer.error).toBeUndefined();
  expect(JSON.parse(answer.body!)).toMatchObject({ backend: "db", sni: "db.pass.test", path: "/through" });
});

test("TCPRoute behind a TLS listener that terminates: the client's bytes, decrypted, reach the TCP echo and its answer comes back", async () => {
  // Without a hostname the listener takes every SNI name.
  expect(await tcpExchange(tlsEnvoyPort, "ping", { servername: "any.example.com", ca: ca.certificatePem })).toEqual({ answer: "tcp-any:ping" });
  // On 443, beside nothing else, by its hostname.
  expect(await tcpExchange(stack.httpsPort, "pong", { servername: "tcp.example.com", ca: ca.certificatePem })).toEqual({ answer: "tcp-term:pong" });
  expect(tcpBackends.map((backend) => backend.connections())).toEqual([1, 1]);
});

test("a manifest relying on the CRDs' defaults: catch-all rule, PathPrefix without a type, Exact / without a value, a 307 redirect, allowedRoutes from the Gateway's namespace only", async () => {
  const get = (path: string, headers: Record<string, string> = {}) => send(stack.httpPort, path, { host: "defaults.example.com", headers });
  expect(answeredBy(await get("/anything"))).toBe("app");
  expect(answeredBy(await get("/api/v1"))).toBe("api");
  expect(answeredBy(await get("/apis"))).toBe("app");
  expect(answeredBy(await get("/other", { "x-api": "1" }))).toBe("api");
  const redirect = await get("/");
  expect(redirect.status).toBe(307);
  expect(redirect.headers.location).toBe("http://defaults.example.com/home");
  const before = backends.app!.received.length;
  expect((await send(stack.httpPort, "/", { host: "elsewhere.example.com" })).status).toBe(404);
  expect(backends.app!.received.length).toBe(before);
});
