// The Gateway API conformance behaviours of HTTPRoute filters and timeouts, rewritten as our own
// tests through the compiled agent and a real Envoy (docs/gateway-api-conformance.md maps them):
// RequestMirror (one mirror, several, a percent and a fraction: the mirror backend sees the copy),
// request and backendRequest timeouts (a slow backend answers 504; 0s turns the timeout off),
// URLRewrite of the hostname and of the path (ReplacePrefixMatch, ReplaceFullPath, with header
// modifiers), header modifiers on one backendRef only, and the redirect variants: path, hostname,
// status, scheme and port, on the plaintext listener (port 80) and on one at another port; and the
// backend protocols a Service port's appProtocol asks for (kubernetes.io/h2c, kubernetes.io/ws).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { websocketUpgrade } from "./clients.ts";
import { answeredBy, eventually, freePort, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";
import { GATEWAY_HEAD, httpRouteHead } from "./gateway-fixtures.ts";

let stack: Stack;
let backends: Record<string, EchoBackend>;
/** Envoy's port for the Gateway listener on another port (the Gateway's port is it minus 8000). */
let otherEnvoyPort: number;

const modifyHeaders = `- type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{ name: X-Header-Set, value: set-overwrites-values }]
            add: [{ name: X-Header-Add, value: header-val-1 }, { name: X-Header-Add-Append, value: header-val-2 }]
            remove: [X-Header-Remove]`;

const prefix = (path: string) => `matches: [{ path: { type: PathPrefix, value: ${path} } }]`;

const gateway = (otherPort: number) => `${GATEWAY_HEAD}    - { name: http, port: 80, protocol: HTTP }
    - { name: other, port: ${otherPort}, protocol: HTTP }
`;

/** An HTTPRoute of infra on the Gateway's listener `section`, for `hostname`, up to its rules. */
const route = (name: string, hostname: string, section = "http") => httpRouteHead({ name, namespace: "infra", parentRefs: `{ name: web, sectionName: ${section} }`, hostnames: hostname });

// Redirect status codes are 301 and 302 only: the v1.3.0 CRDs accept no others.
const routes = `${route("mirrors", "mirror.example.com")}    - ${prefix("/mirror")}
      filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: mirror-a, port: 80 } } }]
      backendRefs: [{ name: v1, port: 80 }]
    - ${prefix("/multi-mirror")}
      filters:
        - { type: RequestMirror, requestMirror: { backendRef: { name: mirror-a, port: 80 } } }
        - { type: RequestMirror, requestMirror: { backendRef: { name: mirror-b, namespace: infra, port: 80 } } }
      backendRefs: [{ name: v1, port: 80 }]
    - ${prefix("/mirror-and-modify-headers")}
      filters:
        ${modifyHeaders}
        - { type: RequestMirror, requestMirror: { backendRef: { name: mirror-a, port: 80 } } }
      backendRefs: [{ name: v1, port: 80 }]
    - ${prefix("/percent-mirror")}
      filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: mirror-percent, port: 80 }, percent: 20 } }]
      backendRefs: [{ name: v1, port: 80 }]
    - ${prefix("/fraction-mirror")}
      filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: mirror-fraction, port: 80 }, fraction: { numerator: 25, denominator: 50 } } }]
      backendRefs: [{ name: v1, port: 80 }]
    - ${prefix("/third-mirror")}
      filters: [{ type: RequestMirror, requestMirror: { backendRef: { name: mirror-fraction, port: 80 }, fraction: { numerator: 1, denominator: 3 } } }]
      backendRefs: [{ name: v1, port: 80 }]
---
${route("timeouts", "timeout.example.com")}    - ${prefix("/request-timeout")}
      backendRefs: [{ name: slow, port: 80 }]
      timeouts: { request: 300ms }
    - ${prefix("/disable-request-timeout")}
      backendRefs: [{ name: slow, port: 80 }]
      timeouts: { request: 0s }
    - ${prefix("/backend-timeout")}
      backendRefs: [{ name: slow, port: 80 }]
      timeouts: { backendRequest: 300ms }
    - ${prefix("/disable-backend-timeout")}
      backendRefs: [{ name: slow, port: 80 }]
      timeouts: { backendRequest: 0s }
---
${route("rewrite-host", "rewrite.example")}    - ${prefix("/one")}
      filters: [{ type: URLRewrite, urlRewrite: { hostname: one.example.org } }]
      backendRefs: [{ name: v1, port: 80 }]
    - filters: [{ type: URLRewrite, urlRewrite: { hostname: example.org } }]
      backendRefs: [{ name: v2, port: 80 }]
    - ${prefix("/rewrite-host-and-modify-headers")}
      filters:
        - { type: URLRewrite, urlRewrite: { hostname: test.example.org } }
        ${modifyHeaders}
      backendRefs: [{ name: v2, port: 80 }]
---
${route("rewrite-path", "rewrite-path.example")}    - ${prefix("/prefix/one")}
      filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /one } } }]
      backendRefs: [{ name: v1, port: 80 }]
    - ${prefix("/strip-prefix")}
      filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } } }]
      backendRefs: [{ name: v1, port: 80 }]
    - ${prefix("/full/one")}
      filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /one } } }]
      backendRefs: [{ name: v1, port: 80 }]
    - ${prefix("/full/rewrite-path-and-modify-headers")}
      filters:
        - { type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /test } } }
        ${modifyHeaders}
      backendRefs: [{ name: v1, port: 80 }]
    - ${prefix("/prefix/rewrite-path-and-modify-headers")}
      filters:
        - { type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /prefix } } }
        ${modifyHeaders}
      backendRefs: [{ name: v1, port: 80 }]
---
${route("backend-filters", "weights.example")}    - backendRefs:
        - name: v1
          port: 80
          weight: 10
          filters:
            - { type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: Backend, value: infra-backend-v1 }] } }
            - { type: ResponseHeaderModifier, responseHeaderModifier: { add: [{ name: X-Only-V1, value: "yes" }] } }
        - name: v2
          port: 80
          weight: 10
          filters: [{ type: RequestHeaderModifier, requestHeaderModifier: { set: [{ name: Backend, value: infra-backend-v2 }] } }]
---
${route("redirects", "redirect.example")}    - ${prefix("/original-prefix")}
      filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix } } }]
    - ${prefix("/full")}
      filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplaceFullPath, replaceFullPath: /full-path-replacement } } }]
    - ${prefix("/path-and-host")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, path: { type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix } } }]
    - ${prefix("/full-path-and-status")}
      filters: [{ type: RequestRedirect, requestRedirect: { statusCode: 301, path: { type: ReplaceFullPath, replaceFullPath: /replacement-full } } }]
    - ${prefix("/hostname-redirect")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org } }]
    - ${prefix("/host-and-status")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, statusCode: 301 } }]
    - ${prefix("/scheme-nil-and-port-nil")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org } }]
    - ${prefix("/scheme-nil-and-port-80")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, port: 80 } }]
    - ${prefix("/scheme-nil-and-port-8080")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, port: 8080 } }]
    - ${prefix("/scheme-https-and-port-nil")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, scheme: https } }]
    - ${prefix("/scheme-https-and-port-443")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, scheme: https, port: 443 } }]
    - ${prefix("/scheme-https-and-port-8443")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, scheme: https, port: 8443, statusCode: 301 } }]
---
${route("redirects-other-port", "redirect.example", "other")}    - ${prefix("/scheme-nil-and-port-nil")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org } }]
    - ${prefix("/scheme-nil-and-port-80")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, port: 80 } }]
    - ${prefix("/scheme-https-and-port-nil")}
      filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org, scheme: https, statusCode: 301 } }]


---
${route("backend-protocols", "protocols.example")}    - ${prefix("/h2c")}
      backendRefs: [{ name: h2c, port: 80 }]
    - ${prefix("/ws")}
      backendRefs: [{ name: ws, port: 80 }]
    - matches: [{ path: { type: Exact, value: /manual-endpointslices } }]
      backendRefs: [{ name: v2, port: 80 }]
    - matches: [{ path: { type: Exact, value: /headless-manual-endpointslices } }]
      backendRefs: [{ name: headless, port: 80 }]
`;

const names = ["v1", "v2", "mirror-a", "mirror-b", "mirror-percent", "mirror-fraction", "slow", "ws"];

beforeAll(async () => {
  backends = {};
  for (const name of names) backends[name] = await startEcho(name);
  backends.slow!.delay(1000);
  otherEnvoyPort = await freePort();
  if (otherEnvoyPort <= 8000) throw new Error(`free port ${otherEnvoyPort} is too low to be a Gateway port + 8000`);
  backends.h2c = await startEcho("h2c", { protocol: "h2c" });
  const services = [
    ...names.filter((name) => name !== "ws").map((name) => serviceFor("infra", name, [backends[name]!])),
    serviceFor("infra", "h2c", [backends.h2c], { appProtocol: "kubernetes.io/h2c" }),
    serviceFor("infra", "ws", [backends.ws!], { appProtocol: "kubernetes.io/ws" }),
    // A headless Service (clusterIP: None) with its EndpointSlices written by hand.
    serviceFor("infra", "headless", [backends.v1!]).replace("spec:\n  ports:", "spec:\n  clusterIP: None\n  ports:"),
  ].join("---\n");
  stack = await startStack({ manifests: { "gateway.yaml": gateway(otherEnvoyPort - 8000), "services.yaml": services, "routes.yaml": routes } });
  await eventually(async () => (await send(stack.httpPort, "/one", { host: "rewrite.example" })).status === 200, { what: "the HTTPRoutes are served" });
  await eventually(async () => (await send(otherEnvoyPort, "/scheme-nil-and-port-nil", { host: "redirect.example" })).status === 302, { what: "the listener on another port is served" });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  for (const backend of Object.values(backends ?? {})) await backend.close();
});

const get = (host: string, path: string, options: Parameters<typeof send>[2] = {}) => send(stack.httpPort, path, { host, ...options });

/** Every route Envoy is serving, from its config dump (all route configurations, all virtual hosts). */
const servedRoutes = async (): Promise<any[]> =>
  (await stack.envoy.configDump()).configs.flatMap((c: any) => c.dynamic_route_configs ?? []).flatMap((r: any) => r.route_config.virtual_hosts).flatMap((v: any) => v.routes);

/** The requests `backend` received for exactly `path`. */
const copiesOf = (backend: string, path: string) => backends[backend]!.received.filter((r) => r.path === path);

test("RequestMirror: the mirror backend gets a copy of each request; several mirrors each get one", async () => {
  const served = await get("mirror.example.com", "/mirror/one", { headers: { "x-trace": "m1" } });
  expect(answeredBy(served)).toBe("v1");
  const copy = await eventually(() => copiesOf("mirror-a", "/mirror/one")[0], { what: "mirror-a gets the copy" });
  expect(copy.headers["x-trace"]).toBe("m1");
  expect(copy.method).toBe("GET");

  expect(answeredBy(await get("mirror.example.com", "/multi-mirror/two", { method: "POST", body: "payload" }))).toBe("v1");
  for (const mirror of ["mirror-a", "mirror-b"]) {
    const multi = await eventually(() => copiesOf(mirror, "/multi-mirror/two")[0], { what: `${mirror} gets the copy` });
    expect([multi.method, multi.body]).toEqual(["POST", "payload"]);
  }
  // The mirrored copy is not answered to the client: only v1 answered, once per request.
  expect(backends.v1!.received.filter((r) => r.path.startsWith("/m")).length).toBe(2);
});

test("RequestMirror after a RequestHeaderModifier: the copy carries the modified headers", async () => {
  const served = await get("mirror.example.com", "/mirror-and-modify-headers", { headers: { "x-header-set": "original", "x-header-add-append": "append-val-1", "x-header-remove": "gone" } });
  expect(answeredBy(served)).toBe("v1");
  const copy = await eventually(() => copiesOf("mirror-a", "/mirror-and-modify-headers")[0], { what: "mirror-a gets the copy" });
  for (const headers of [served.json().headers, copy.headers]) {
    expect(headers["x-header-set"]).toBe("set-overwrites-values");
    expect(headers["x-header-add"]).toBe("header-val-1");
    // Two header lines: node's parser joins them with ", ".
    expect(headers["x-header-add-append"]).toBe("append-val-1, header-val-2");
    expect(headers["x-header-remove"]).toBeUndefined();
  }
});

/**
 * Sends `count` requests to `path` and returns how many copies `mirror` received, once every copy
 * Envoy sent it has arrived (its cluster's completed requests equal what the backend recorded).
 */
async function mirroredShare(path: string, mirror: string, count: number): Promise<number> {
  for (let i = 0; i < count; i++) expect(answeredBy(await get("mirror.example.com", `${path}/${i}`))).toBe("v1");
  const settled = await eventually(async () => {
    const completed = (await stack.envoy.stat(`cluster.infra_${mirror}_80.upstream_rq_completed`)) ?? 0;
    const received = backends[mirror]!.received.length;
    return completed === received && (await stack.envoy.stat(`cluster.infra_${mirror}_80.upstream_rq_active`)) === 0 && { received };
  }, { what: `every copy sent to ${mirror} arrived` });
  return settled.received;
}

test("RequestMirror percent 20 and fraction 25/50: a share of the requests is copied (200 requests each, bands of more than 5 sigma)", async () => {
  // 20% of 200: mean 40, sigma 5.7. 50% of 200: mean 100, sigma 7.1.
  const percent = await mirroredShare("/percent-mirror", "mirror-percent", 200);
  expect(percent).toBeGreaterThanOrEqual(10);
  expect(percent).toBeLessThanOrEqual(75);
  const fraction = await mirroredShare("/fraction-mirror", "mirror-fraction", 200);
  expect(fraction).toBeGreaterThanOrEqual(60);
  expect(fraction).toBeLessThanOrEqual(140);
  // Only the route's paths were copied.
  expect(backends["mirror-percent"]!.received.every((r) => r.path.startsWith("/percent-mirror/"))).toBe(true);
  // A fraction that is no whole percent reaches Envoy exactly, in millionths.
  const routes = await servedRoutes();
  const third = routes.find((r: any) => JSON.stringify(r.match).includes("/third-mirror"));
  expect(third.route.request_mirror_policies[0].runtime_fraction.default_value).toEqual({ numerator: 333333, denominator: "MILLION" });
});

test("timeouts: a backend slower than request or backendRequest answers 504; 0s turns the timeout off", async () => {
  expect((await get("timeout.example.com", "/request-timeout")).status).toBe(504);
  expect((await get("timeout.example.com", "/backend-timeout")).status).toBe(504);
  expect(answeredBy(await get("timeout.example.com", "/disable-request-timeout"))).toBe("slow");
  expect(answeredBy(await get("timeout.example.com", "/disable-backend-timeout"))).toBe("slow");
  // Envoy's own default (15 s) would also let the slow backend answer: 0s must reach Envoy as "no timeout".
  const routes = await servedRoutes();
  const timeouts = routes.filter((r: any) => JSON.stringify(r.match).includes("timeout")).map((r: any) => `${JSON.stringify(r.match).match(/\/[a-z-]+timeout/)![0]} ${r.route.timeout}`);
  expect(timeouts.sort()).toEqual(["/backend-timeout 0.300s", "/disable-backend-timeout 0s", "/disable-request-timeout 0s", "/request-timeout 0.300s"]);
});

test("URLRewrite hostname: the backend sees the rewritten Host, also beside header modifiers", async () => {
  const one = await get("rewrite.example", "/one");
  expect([answeredBy(one), one.json().host]).toEqual(["v1", "one.example.org"]);
  const other = await get("rewrite.example", "/");
  expect([answeredBy(other), other.json().host]).toEqual(["v2", "example.org"]);
  const both = await get("rewrite.example", "/rewrite-host-and-modify-headers", { headers: { "x-header-set": "original", "x-header-remove": "gone" } });
  expect([answeredBy(both), both.json().host]).toEqual(["v2", "test.example.org"]);
  expect(both.json().headers["x-header-set"]).toBe("set-overwrites-values");
  expect(both.json().headers["x-header-add"]).toBe("header-val-1");
  expect(both.json().headers["x-header-remove"]).toBeUndefined();
});

test("URLRewrite path: ReplacePrefixMatch by segment, to / too, and ReplaceFullPath; the query is kept", async () => {
  const path = async (requested: string) => (await get("rewrite-path.example", requested)).json().path;
  expect(await path("/prefix/one/two")).toBe("/one/two");
  expect(await path("/prefix/one")).toBe("/one");
  expect(await path("/strip-prefix/three")).toBe("/three");
  expect(await path("/strip-prefix")).toBe("/");
  expect(await path("/full/one/two")).toBe("/one");
  expect(await path("/full/one/two?q=1")).toBe("/one?q=1");
  expect(await path("/prefix/one/two?q=1")).toBe("/one/two?q=1");
  const full = await get("rewrite-path.example", "/full/rewrite-path-and-modify-headers/test", { headers: { "x-header-remove": "gone" } });
  expect(full.json().path).toBe("/test");
  expect(full.json().headers["x-header-set"]).toBe("set-overwrites-values");
  expect(full.json().headers["x-header-remove"]).toBeUndefined();
  const byPrefix = await get("rewrite-path.example", "/prefix/rewrite-path-and-modify-headers/one");
  expect(byPrefix.json().path).toBe("/prefix/one");
  expect(byPrefix.json().headers["x-header-add"]).toBe("header-val-1");
});

test("filters on one backendRef apply to that backend's requests only", async () => {
  const seen = new Map<string, Set<string>>();
  for (let i = 0; i < 40 && seen.size < 2; i++) {
    const response = await get("weights.example", "/");
    const backend = answeredBy(response);
    if (!seen.has(backend)) seen.set(backend, new Set());
    seen.get(backend)!.add(`${response.json().headers.backend} ${response.headers["x-only-v1"] ?? "-"}`);
  }
  expect([...seen.keys()].sort()).toEqual(["v1", "v2"]);
  expect([...seen.get("v1")!]).toEqual(["infra-backend-v1 yes"]);
  expect([...seen.get("v2")!]).toEqual(["infra-backend-v2 -"]);
});

const redirect = async (port: number, path: string) => {
  const response = await send(port, path, { host: "redirect.example" });
  return `${response.status} ${response.headers.location}`;
};

test("redirects: path (prefix and full), hostname, status", async () => {
  const port = stack.httpPort;
  expect(await redirect(port, "/original-prefix/lemon")).toBe("302 http://redirect.example/replacement-prefix/lemon");
  expect(await redirect(port, "/full/path/original")).toBe("302 http://redirect.example/full-path-replacement");
  expect(await redirect(port, "/path-and-host")).toBe("302 http://example.org/replacement-prefix");
  expect(await redirect(port, "/full-path-and-status")).toBe("301 http://redirect.example/replacement-full");
  expect(await redirect(port, "/hostname-redirect")).toBe("302 http://example.org/hostname-redirect");
  expect(await redirect(port, "/host-and-status")).toBe("301 http://example.org/host-and-status");
});

test("redirects: scheme and port on the port 80 listener; a port is left out when it is the scheme's own", async () => {
  const port = stack.httpPort;
  expect(await redirect(port, "/scheme-nil-and-port-nil")).toBe("302 http://example.org/scheme-nil-and-port-nil");
  expect(await redirect(port, "/scheme-nil-and-port-80")).toBe("302 http://example.org/scheme-nil-and-port-80");
  expect(await redirect(port, "/scheme-nil-and-port-8080")).toBe("302 http://example.org:8080/scheme-nil-and-port-8080");
  expect(await redirect(port, "/scheme-https-and-port-nil")).toBe("302 https://example.org/scheme-https-and-port-nil");
  expect(await redirect(port, "/scheme-https-and-port-443")).toBe("302 https://example.org/scheme-https-and-port-443");
  expect(await redirect(port, "/scheme-https-and-port-8443")).toBe("301 https://example.org:8443/scheme-https-and-port-8443");
});

test("redirects on a listener at another port: no port given keeps the listener's (the Gateway's, not Envoy's); a new scheme takes its own", async () => {
  const gatewayPort = otherEnvoyPort - 8000;
  expect(await redirect(otherEnvoyPort, "/scheme-nil-and-port-nil")).toBe(`302 http://example.org:${gatewayPort}/scheme-nil-and-port-nil`);
  expect(await redirect(otherEnvoyPort, "/scheme-nil-and-port-80")).toBe("302 http://example.org/scheme-nil-and-port-80");
  expect(await redirect(otherEnvoyPort, "/scheme-https-and-port-nil")).toBe("301 https://example.org/scheme-https-and-port-nil");
});

test("backend protocols: appProtocol kubernetes.io/h2c is spoken to over HTTP/2, kubernetes.io/ws takes a WebSocket upgrade", async () => {
  const h2c = await get("protocols.example", "/h2c");
  expect([answeredBy(h2c), h2c.json().httpVersion]).toEqual(["h2c", "2.0"]);
  const upgraded = await websocketUpgrade(stack.httpPort, "/ws", { host: "protocols.example", message: "hello over ws" });
  expect([upgraded.status, upgraded.headers["x-backend"], upgraded.echoed]).toEqual([101, "ws", "hello over ws"]);
});

test("Service types: a Service with EndpointSlices written by hand, and a headless one, are both served", async () => {
  expect(answeredBy(await get("protocols.example", "/manual-endpointslices"))).toBe("v2");
  expect(answeredBy(await get("protocols.example", "/headless-manual-endpointslices"))).toBe("v1");
});
