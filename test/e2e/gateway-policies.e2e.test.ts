// HTTPRoute policies through the compiled agent and a real Envoy: the CORS filter (a preflight from
// an allowed origin, exact or by a wildcard host, is answered with the grant; another origin gets
// none), sessionPersistence (a client that sends back the session cookie, or header, stays on one of
// the two endpoints behind the route) and method matches ranked above header matches, as the spec
// orders them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { answeredBy, eventually, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";
import { gatewayHead, httpRouteHead } from "./gateway-fixtures.ts";

let stack: Stack;
let backends: Record<string, EchoBackend>;

/** An HTTPRoute of apps on the Gateway web beside it, for `hostname`, up to its rules. */
const route = (name: string, hostname: string) => httpRouteHead({ name, namespace: "apps", parentRefs: "{ name: web }", hostnames: hostname });

// The Gateway is in apps, beside its routes: their parentRefs name no namespace.
const manifests = `${gatewayHead("apps")}    - { name: http, port: 80, protocol: HTTP }
---
${route("cors", "cors.example.com")}    - matches: [{ path: { type: PathPrefix, value: /cors-1 } }]
      filters:
        - type: CORS
          cors:
            allowOrigins: ["https://www.foo.com", "https://*.bar.com"]
            allowMethods: [GET, OPTIONS]
            allowHeaders: [x-header-1, x-header-2]
            exposeHeaders: [x-header-3, x-header-4]
            allowCredentials: true
            maxAge: 3600
      backendRefs: [{ name: get, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /cors-any } }]
      filters:
        - type: CORS
          cors: { allowOrigins: ["*"], allowMethods: [PUT] }
      backendRefs: [{ name: get, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /cors-wild } }]
      filters:
        - type: CORS
          cors: { allowOrigins: ["*"], allowMethods: ["*"], allowHeaders: ["*"], allowCredentials: true }
      backendRefs: [{ name: get, port: 80 }]
---
${route("sessions", "session.example.com")}    - matches: [{ path: { type: PathPrefix, value: /cookie } }]
      sessionPersistence: { type: Cookie, sessionName: stay }
      backendRefs: [{ name: pair, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /header } }]
      sessionPersistence: { type: Header, sessionName: x-session }
      backendRefs: [{ name: pair, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /plain } }]
      backendRefs: [{ name: pair, port: 80 }]
---
${route("methods", "methods.example.com")}    - matches: [{ path: { type: PathPrefix, value: /api }, headers: [{ name: x-a, value: "1" }, { name: x-b, value: "1" }] }]
      backendRefs: [{ name: headers, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /api }, method: GET }]
      backendRefs: [{ name: get, port: 80 }]
    - matches: [{ path: { type: PathPrefix, value: /api }, method: POST }]
      backendRefs: [{ name: post, port: 80 }]
`;

beforeAll(async () => {
  backends = {};
  for (const name of ["get", "post", "headers", "pair-a", "pair-b"]) backends[name] = await startEcho(name);
  const services = [
    ...["get", "post", "headers"].map((name) => serviceFor("apps", name, [backends[name]!])),
    // One Service, two endpoints: what a session must keep a client on one of.
    serviceFor("apps", "pair", [backends["pair-a"]!, backends["pair-b"]!]),
  ].join("---\n");
  stack = await startStack({ manifests: { "gateway.yaml": manifests, "services.yaml": services } });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  for (const backend of Object.values(backends ?? {})) await backend.close();
});

const on = (host: string) => (path: string, options: Parameters<typeof send>[2] = {}) => send(stack.httpPort, path, { host, ...options });

test("CORS: a preflight from an allowed origin, exact or by a wildcard host, gets the grant; another origin gets none", async () => {
  const cors = on("cors.example.com");
  const preflight = (origin: string) => cors("/cors-1", { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "x-header-1, x-header-2" } });
  await eventually(async () => (await preflight("https://www.foo.com")).headers["access-control-allow-origin"] === "https://www.foo.com", { what: "the CORS route is served" });
  for (const origin of ["https://www.foo.com", "https://www.bar.com", "https://xpto.www.bar.com"]) {
    const granted = await preflight(origin);
    expect([200, 204]).toContain(granted.status);
    const grant = Object.fromEntries(
      ["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers", "access-control-expose-headers", "access-control-max-age", "access-control-allow-credentials"].map((h) => [h, String(granted.headers[h]).replaceAll(" ", "")]),
    );
    expect(grant).toEqual({
      "access-control-allow-origin": origin,
      "access-control-allow-methods": "GET,OPTIONS",
      "access-control-allow-headers": "x-header-1,x-header-2",
      "access-control-expose-headers": "x-header-3,x-header-4",
      "access-control-max-age": "3600",
      "access-control-allow-credentials": "true",
    });
  }
  // Not allowed: no grant (the preflight passes to the backend, which knows nothing of CORS).
  for (const origin of ["https://foobar.com", "https://bar.com", "http://www.foo.com"]) {
    const refused = await preflight(origin);
    expect({ origin, status: refused.status, grant: refused.headers["access-control-allow-origin"] }).toEqual({ origin, status: 200, grant: undefined });
  }
  // A simple request: the backend answers, Envoy adds the grant for an allowed origin only.
  const simple = await cors("/cors-1", { headers: { origin: "https://www.bar.com" } });
  expect([answeredBy(simple), simple.headers["access-control-allow-origin"], simple.headers["access-control-expose-headers"]]).toEqual(["get", "https://www.bar.com", "x-header-3,x-header-4"]);
  expect((await cors("/cors-1", { headers: { origin: "https://foobar.com" } })).headers["access-control-allow-origin"]).toBeUndefined();
  // `*` takes every origin, without credentials; the route without CORS gets no grant at all.
  const any = await cors("/cors-any", { method: "OPTIONS", headers: { origin: "https://foobar.com:12345", "access-control-request-method": "PUT" } });
  expect([any.headers["access-control-allow-origin"], any.headers["access-control-allow-methods"], any.headers["access-control-allow-credentials"]]).toEqual(["https://foobar.com:12345", "PUT", undefined]);
  // With credentials the spec wants no `*` in the answer: the origin, method and headers asked for.
  const wild = await cors("/cors-wild", { method: "OPTIONS", headers: { origin: "https://other.foo.com", "access-control-request-method": "PUT", "access-control-request-headers": "x-header-1, x-header-2" } });
  expect(["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers", "access-control-allow-credentials"].map((h) => wild.headers[h])).toEqual(["https://other.foo.com", "PUT", "x-header-1, x-header-2", "true"]);
});

test("session persistence: a client that sends back the session cookie (or header) stays on one of the route's two endpoints", async () => {
  const session = on("session.example.com");
  await eventually(async () => (await session("/plain")).status === 200, { what: "the session routes are served" });
  // Without a session the two endpoints take turns: staying on one below is the session's doing.
  const plain = new Set<string>();
  for (let i = 0; i < 10; i++) plain.add(answeredBy(await session("/plain")));
  expect([...plain].sort()).toEqual(["pair-a", "pair-b"]);

  // Envoy's stateful session filter keeps the session, not cookie hash affinity: its cookie names the
  // endpoint itself, so the client stays there however the other endpoints come and go (a hash ring
  // moves clients when they do), under the cluster's own load balancing, and a Header session works
  // the same way. The spec's conformance test checks exactly this: with the cookie, one endpoint.
  const first = await session("/cookie");
  const setCookie = String(first.headers["set-cookie"] ?? "");
  // A session cookie (no Expires, no Max-Age), sent back on the rule's own path.
  expect(setCookie).toMatch(/^stay=[^;]+; Path=\/cookie; HttpOnly$/);
  const cookie = setCookie.split(";")[0]!;
  const stuck = new Set<string>();
  for (let i = 0; i < 20; i++) stuck.add(answeredBy(await session("/cookie/x", { headers: { cookie } })));
  expect([...stuck]).toEqual([answeredBy(first)]);
  // Each new client without the cookie is given one naming where it landed: both endpoints get clients.
  const clients = new Set<string>();
  for (let i = 0; i < 10; i++) clients.add(answeredBy(await session("/cookie")));
  expect(clients.size).toBe(2);

  const byHeader = await session("/header");
  const token = byHeader.headers["x-session"];
  expect(typeof token).toBe("string");
  const kept = new Set<string>();
  for (let i = 0; i < 20; i++) kept.add(answeredBy(await session("/header", { headers: { "x-session": token as string } })));
  expect([...kept]).toEqual([answeredBy(byHeader)]);
});

test("method matches: GET and POST on one path reach their backends, ranked above a match of two headers", async () => {
  const methods = on("methods.example.com");
  await eventually(async () => (await methods("/api")).status === 200, { what: "the method routes are served" });
  expect(answeredBy(await methods("/api/x"))).toBe("get");
  expect(answeredBy(await methods("/api/x", { method: "POST", body: "{}" }))).toBe("post");
  // The spec ranks a method match before any number of header matches.
  expect(answeredBy(await methods("/api/x", { headers: { "x-a": "1", "x-b": "1" } }))).toBe("get");
  expect(answeredBy(await methods("/api/x", { method: "PUT", headers: { "x-a": "1", "x-b": "1" } }))).toBe("headers");
  expect((await methods("/api/x", { method: "PUT" })).status).toBe(404);
});
