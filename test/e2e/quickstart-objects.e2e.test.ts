// The bundled quickstart, as written, served by a real Envoy (its EndpointSlices pointed at local
// echo backends): the answers its README and curl commands promise, in each xDS mode; and the
// status `agent validate` gives its Gateway API objects.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { connect } from "node:http2";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ensureAgentBinary, runAgent } from "../helpers/agent-binary.ts";
import { answeredBy, eventually, send, startStack, xdsModes, type Stack } from "./harness.ts";
import { localQuickstart, quickstartDir, type LocalQuickstart } from "./quickstart.ts";

// The quickstart's self-signed certificate for secure.example.com is its own CA.
const secureCa = /tls\.crt: \|\n((?:\s+.*\n)+?)\s+tls\.key/.exec(readFileSync(join(quickstartDir, "tls-secret.yaml"), "utf8"))![1]!.replace(/^\s+/gm, "");

// The mtls.example.com example's certificates: its server CA (last in the served chain) and the client pair.
const mtlsSecrets = new Map(
  parseAllDocuments(readFileSync(join(quickstartDir, "httpproxy-mtls-secrets.yaml"), "utf8")).map((document) => {
    const secret = document.toJS() as { metadata: { name: string }; stringData: Record<string, string> };
    return [secret.metadata.name, secret.stringData] as const;
  }),
);
const mtlsServerCa = `-----BEGIN CERTIFICATE-----${mtlsSecrets.get("mtls-example-tls")!["tls.crt"]!.split("-----BEGIN CERTIFICATE-----").at(-1)}`;
const mtlsClient = mtlsSecrets.get("quickstart-client")!;

/** A gRPC-shaped call (HTTP/2 in cleartext, POST, application/grpc) to Envoy: the echo backend's JSON answer. */
function grpcCall(port: number, authority: string, path: string): Promise<{ backend?: string; httpVersion?: string; status: number }> {
  return new Promise((resolve, reject) => {
    const client = connect(`http://127.0.0.1:${port}`);
    client.on("error", reject);
    const request = client.request({ ":method": "POST", ":path": path, ":authority": authority, "content-type": "application/grpc", te: "trailers" });
    let status = 0;
    let body = "";
    request.on("response", (headers) => (status = Number(headers[":status"])));
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("error", reject);
    request.on("end", () => {
      client.close();
      const json = body.startsWith("{") ? (JSON.parse(body) as { backend: string; httpVersion: string }) : undefined;
      resolve({ status, backend: json?.backend, httpVersion: json?.httpVersion });
    });
    request.end();
  });
}

test("agent validate: the quickstart's GatewayClass, Gateway, HTTPRoute and GRPCRoute are accepted, with the spec's status", async () => {
  await ensureAgentBinary();
  const run = await runAgent(["validate", quickstartDir, "--output", "json", "--allow-loopback-endpoints"]);
  type Condition = { type: string; status: string; reason: string };
  type Report = { kind: string; namespace?: string; name: string; conditions?: Condition[]; listeners?: Array<{ name: string; attachedRoutes: number; conditions: Condition[]; supportedKinds: Array<{ kind: string }> }>; parents?: Array<{ parentRef: { name: string; sectionName?: string }; controllerName: string; conditions: Condition[] }> };
  const objects = (JSON.parse(run.stdout) as { objects: Report[] }).objects;
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.name === name)!;
  const summary = (conditions: Condition[] = []) => conditions.map((c) => `${c.type}=${c.status} ${c.reason}`);
  expect(summary(find("GatewayClass", "contour").conditions)).toContain("Accepted=True Accepted");
  const gateway = find("Gateway", "quickstart");
  expect(summary(gateway.conditions)).toEqual(["Accepted=True Accepted", "Programmed=True Programmed"]);
  expect(gateway.listeners!.map((l) => ({ name: l.name, attachedRoutes: l.attachedRoutes, kinds: l.supportedKinds.map((k) => k.kind), conditions: summary(l.conditions) }))).toEqual([
    { name: "http", attachedRoutes: 2, kinds: ["HTTPRoute", "GRPCRoute"], conditions: ["Accepted=True Accepted", "Programmed=True Programmed", "ResolvedRefs=True ResolvedRefs", "Conflicted=False NoConflicts"] },
  ]);
  for (const [kind, name] of [["HTTPRoute", "gateway"], ["GRPCRoute", "grpc"]] as const) {
    expect({ kind, parents: find(kind, name).parents!.map((p) => ({ parent: `${p.parentRef.name}/${p.parentRef.sectionName}`, controllerName: p.controllerName, conditions: summary(p.conditions) })) }).toEqual({
      kind,
      parents: [{ parent: "quickstart/http", controllerName: "projectcontour.io/gateway-controller", conditions: ["Accepted=True Accepted", "ResolvedRefs=True ResolvedRefs"] }],
    });
  }
}, 60_000);

for (const mode of xdsModes) {
  describe(`the quickstart over ${mode} xDS`, () => {
    let stack: Stack;
    let quickstart: LocalQuickstart;
    const get = (host: string, path: string, options: Parameters<typeof send>[2] = {}) => send(stack.httpPort, path, { ...options, host });
    const backendOf = async (host: string, path: string, options: Parameters<typeof send>[2] = {}) => answeredBy(await get(host, path, options));

    beforeAll(async () => {
      quickstart = await localQuickstart();
      stack = await startStack({ manifests: quickstart.manifests, xdsMode: mode, listeners: ["ingress_http", "ingress_https"] });
      // The canary route's health check warms its clusters before they take traffic.
      await eventually(async () => (await get("shop.example.com", "/")).status === 200, { what: "shop.example.com to answer" });
    }, 60_000);

    afterAll(async () => {
      await stack?.stop();
      await quickstart?.close();
    });

    test("Ingress echo.example.com: segment-wise prefixes, an exact path, an h2c backend", async () => {
      expect(await backendOf("echo.example.com", "/")).toBe("quickstart/echo");
      expect(await backendOf("echo.example.com", "/v2/page")).toBe("quickstart/echo-v2");
      expect(await backendOf("echo.example.com", "/v2")).toBe("quickstart/echo-v2");
      expect(await backendOf("echo.example.com", "/v2x")).toBe("quickstart/echo");
      expect(await backendOf("echo.example.com", "/healthz")).toBe("quickstart/echo");
      const grpc = (await get("echo.example.com", "/grpc.health.v1.Health/Check", { method: "POST", body: "" })).json();
      expect({ backend: grpc.backend, httpVersion: grpc.httpVersion }).toEqual({ backend: "quickstart/grpc-echo", httpVersion: "2.0" });
    });

    test("Gateway API: the HTTPRoute's path rules and header filter, the GRPCRoute's service match, on the Gateway's port-80 listener", async () => {
      const root = (await get("gateway.example.com", "/hello")).json();
      expect({ backend: root.backend, route: root.headers["x-route"] }).toEqual({ backend: "quickstart/echo", route: "gateway" });
      expect(await backendOf("gateway.example.com", "/v2/hello")).toBe("quickstart/echo-v2");
      expect(await backendOf("gateway.example.com", "/v2")).toBe("quickstart/echo-v2");
      expect(await backendOf("gateway.example.com", "/v2x")).toBe("quickstart/echo");
      expect(await grpcCall(stack.httpPort, "grpc.example.com", "/grpc.health.v1.Health/Check")).toEqual({ status: 200, backend: "quickstart/grpc-echo", httpVersion: "2.0" });
      // Another service on the GRPCRoute's host matches no rule: Envoy answers 404 (as a gRPC error), no backend.
      expect((await grpcCall(stack.httpPort, "grpc.example.com", "/other.Service/Call")).backend).toBeUndefined();
    });

    test("Ingress secure.example.com: HTTP redirects to HTTPS, HTTPS with SNI answers", async () => {
      const plain = await get("secure.example.com", "/account?x=1");
      expect(plain.status).toBe(301);
      expect(plain.headers.location).toBe("https://secure.example.com/account?x=1");
      const secure = await send(stack.httpsPort, "/account", { host: "secure.example.com", tls: { ca: secureCa } });
      expect(answeredBy(secure)).toBe("quickstart/echo");
      expect(answeredBy(await send(stack.httpsPort, "/ws", { host: "secure.example.com", tls: { ca: secureCa } }))).toBe("quickstart/echo-v2");
    });

    test("HTTPProxy mtls.example.com: a delegated certificate, client certificates required and forwarded, /status in plain HTTP", async () => {
      const tls = { ca: mtlsServerCa, cert: mtlsClient["tls.crt"], key: mtlsClient["tls.key"] };
      const secure = await send(stack.httpsPort, "/", { host: "mtls.example.com", tls });
      expect(answeredBy(secure)).toBe("proxy-mtls/secure-app");
      const forwarded = String(secure.json().headers["x-forwarded-client-cert"]);
      // The example's client certificate has no DNS names, so only its subject is forwarded.
      expect(forwarded).toContain('Subject="CN=quickstart-client"');
      await expect(send(stack.httpsPort, "/", { host: "mtls.example.com", tls: { ca: mtlsServerCa } })).rejects.toThrow();
      expect(await backendOf("mtls.example.com", "/status")).toBe("proxy-mtls/secure-app");
      const plain = await get("mtls.example.com", "/");
      expect({ status: plain.status, location: plain.headers.location }).toEqual({ status: 301, location: "https://mtls.example.com/" });
    });

    test("Ingress apps: a one-label wildcard host and the default backend for every other host", async () => {
      expect(await backendOf("shop-7.apps.example.com", "/")).toBe("quickstart/echo-v2");
      // One label deep only, as Contour: Envoy picks the wildcard virtual host, whose routes refuse two labels.
      expect(await backendOf("a.b.apps.example.com", "/")).toBe("<404>");
      expect(await backendOf("unknown.example.org", "/anything")).toBe("quickstart/echo");
    });

    test("Ingress broken: its missing Service answers 503 while the rest is served", async () => {
      expect((await get("broken.example.com", "/")).status).toBe(503);
      expect(await backendOf("echo.example.com", "/")).toBe("quickstart/echo");
    });

    test("HTTPProxy shop.example.com: header route, mirrored checkout, 90/10 canary", async () => {
      expect(await backendOf("shop.example.com", "/", { headers: { "x-canary": "always" } })).toBe("proxy-canary/shop-canary");
      // The checkout is mirrored to the canary for 10% of requests: within 200 (P(no copy) = 0.9^200 < 1e-9).
      const canary = quickstart.backends.get("proxy-canary/shop-canary")!;
      const answered = new Set<string>();
      for (let i = 0; i < 200; i++) answered.add(await backendOf("shop.example.com", `/checkout/${i}`));
      const copy = await eventually(() => canary.received.find((r) => r.path.startsWith("/checkout/")), { what: "a mirrored checkout" });
      expect([...answered]).toEqual(["proxy-canary/shop-stable"]);
      expect(copy.host).toBe("shop.example.com-shadow");
      // 90/10 over 100 requests: both answer (P(no canary) = 0.9^100 < 1e-4), stable takes at least 70.
      const counts: Record<string, number> = {};
      for (let i = 0; i < 100; i++) {
        const who = await backendOf("shop.example.com", `/item/${i}`);
        counts[who] = (counts[who] ?? 0) + 1;
      }
      expect(Object.keys(counts).sort()).toEqual(["proxy-canary/shop-canary", "proxy-canary/shop-stable"]);
      expect(counts["proxy-canary/shop-stable"]).toBeGreaterThanOrEqual(70);
    });

    test("HTTPProxy www.example.com: a cross-namespace include with its prefix rewritten", async () => {
      expect(await backendOf("www.example.com", "/")).toBe("proxy-root/home");
      const post = (await get("www.example.com", "/blog/post-1")).json();
      expect({ backend: post.backend, path: post.path }).toEqual({ backend: "proxy-blog/blog", path: "/post-1" });
      const index = (await get("www.example.com", "/blog")).json();
      expect({ backend: index.backend, path: index.path }).toEqual({ backend: "proxy-blog/blog", path: "/" });
      expect(await backendOf("www.example.com", "/blog/admin/users")).toBe("proxy-blog/blog-admin");
    });

    test("HTTPProxy api.example.com: header and query routes, header policies, CORS", async () => {
      expect(await backendOf("api.example.com", "/", { headers: { "user-agent": "Browser (Mobile)" } })).toBe("proxy-headers/api-mobile");
      expect(await backendOf("api.example.com", "/", { headers: { "user-agent": "App/1.0 (Android 14)" } })).toBe("proxy-headers/api-mobile");
      expect(await backendOf("api.example.com", "/", { headers: { "x-api-version": "2" } })).toBe("proxy-headers/api-v2");
      expect(await backendOf("api.example.com", "/items?version=2")).toBe("proxy-headers/api-v2");
      expect(await backendOf("api.example.com", "/", { headers: { "user-agent": "MyApp-iOS/3.1" } })).toBe("proxy-headers/api-mobile");
      const plain = await get("api.example.com", "/", { headers: { "x-internal-token": "t0ken" } });
      const seen = plain.json().headers;
      expect(plain.json().backend).toBe("proxy-headers/api");
      expect(seen["x-backend"]).toBe("api");
      expect(seen["x-forwarded-namespace"]).toBe("proxy-headers");
      expect(seen["x-discount"]).toBe("20%");
      expect(seen["x-internal-token"]).toBeUndefined();
      expect(plain.headers["strict-transport-security"]).toBe("max-age=31536000");
      // Envoy's connection manager writes `server` after the route's header rules (as in Contour), so
      // the example removes a header a backend sets instead.
      expect(plain.headers["x-powered-by"]).toBeUndefined();
      expect((await get("api.example.com", "/", { headers: { "x-api-version": "2" } })).headers["x-powered-by"]).toBe("isobar-echo");
      const preflight = await get("api.example.com", "/v1", { method: "OPTIONS", headers: { origin: "https://app.example.com", "access-control-request-method": "POST" } });
      expect(preflight.headers["access-control-allow-origin"]).toBe("https://app.example.com");
      expect(preflight.headers["access-control-max-age"]).toBe("600");
    });
  });
}
