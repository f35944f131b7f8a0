// Routing through a real Envoy, once per xDS mode (delta ADS, state-of-the-world ADS, per-type
// services): one stack per mode, every HTTPProxy routing feature asserted on real responses.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { grpcCall, websocketUpgrade } from "./clients.ts";
import { admin, answeredBy, eventually, send, startStack, xdsModes, type HttpResponse, type Stack } from "./harness.ts";
import { routingManifests, startRoutingBackends, type RoutingBackends } from "./routing-fixture.ts";

for (const mode of xdsModes) {
  describe(`routing over ${mode} xDS`, () => {
    let stack: Stack;
    let backends: RoutingBackends;
    const get = (host: string, path: string, options: Parameters<typeof send>[2] = {}) => send(stack.httpPort, path, { ...options, host: `${host}.routing.test` });
    const backendOf = async (host: string, path: string, options: Parameters<typeof send>[2] = {}) => answeredBy(await get(host, path, options));

    beforeAll(async () => {
      backends = await startRoutingBackends();
      // Fails its health check from the start: Envoy must never send it a request.
      backends.checked[2]!.answerPath("/healthz", 503);
      stack = await startStack({ manifests: routingManifests(backends), xdsMode: mode });
      // Every cluster warmed (the health-checked one waits for its first round).
      await eventually(async () => (await backendOf("health", "/")).startsWith("checked-"), { what: "the health-checked route to answer" });
    }, 60_000);

    afterAll(async () => {
      await stack?.stop();
      await backends?.close();
    });

    test("prefix, exact and regex paths", async () => {
      expect(await backendOf("paths", "/pre")).toBe("a");
      expect(await backendOf("paths", "/pre/x")).toBe("a");
      // An HTTPProxy prefix is a string prefix, as in Contour.
      expect(await backendOf("paths", "/prefix")).toBe("a");
      expect(await backendOf("paths", "/exact")).toBe("b");
      expect(await backendOf("paths", "/exact/more")).toBe("<404>");
      expect(await backendOf("paths", "/re/123")).toBe("c");
      expect(await backendOf("paths", "/re/12a")).toBe("<404>");
      expect(await backendOf("paths", "/elsewhere")).toBe("<404>");
      expect(await backendOf("paths", "/digits/42")).toBe("b");
      expect(await backendOf("paths", "/digits/4242")).toBe("<404>");
      expect(await backendOf("paths", "/digits/123/abc")).toBe("b");
      // Paths are normalized before matching (dot segments, repeated slashes); a trailing dot on the host is dropped.
      const normalized = (await get("paths", "/pre/../exact")).json();
      expect({ backend: normalized.backend, path: normalized.path }).toEqual({ backend: "b", path: "/exact" });
      expect(await backendOf("paths", "//exact")).toBe("b");
      expect(answeredBy(await send(stack.httpPort, "/exact", { host: "paths.routing.test." }))).toBe("b");
      // A Host with a port (what a browser or curl sends to a non-default port) and in upper case.
      expect(answeredBy(await send(stack.httpPort, "/exact", { host: "paths.routing.test:8080" }))).toBe("b");
      expect(answeredBy(await send(stack.httpPort, "/exact", { host: "PATHS.Routing.Test" }))).toBe("b");
      const echoed = (await get("paths", "/pre/q?x=1")).json();
      expect(echoed.path).toBe("/pre/q?x=1");
      expect(echoed.host).toBe("paths.routing.test");
    });

    test("header, query parameter and method conditions", async () => {
      expect(await backendOf("match", "/", { headers: { "x-tier": "gold" } })).toBe("b");
      expect(await backendOf("match", "/", { headers: { "x-tier": "silver" } })).toBe("a");
      expect(await backendOf("match", "/", { headers: { "x-beta": "" } })).toBe("c");
      expect(await backendOf("match", "/", { headers: { "user-agent": "Some MOBILE browser" } })).toBe("mirror");
      expect(await backendOf("match", "/", { headers: { "user-agent": "desktop" } })).toBe("a");
      expect(await backendOf("match", "/?v=2")).toBe("b");
      expect(await backendOf("match", "/?v=3")).toBe("a");
      expect(await backendOf("match", "/?flavour=lime")).toBe("c");
      expect(await backendOf("match", "/?flavour=limes")).toBe("a");
      expect(await backendOf("match", "/write", { method: "POST", body: "x" })).toBe("c");
      expect(await backendOf("match", "/write")).toBe("a");
      for (const method of ["PUT", "DELETE", "PATCH"]) {
        const echoed = (await get("match", "/any", { method, body: `body of ${method}` })).json();
        expect({ method: echoed.method, body: echoed.body, backend: echoed.backend }).toEqual({ method, body: `body of ${method}`, backend: "a" });
      }
    });

    test("negated header conditions (a missing header matches only with treatMissingAsEmpty) and query prefix/present conditions", async () => {
      expect(await backendOf("negate", "/", { headers: { "x-env": "prod" } })).toBe("a");
      expect(await backendOf("negate", "/", { headers: { "x-env": "dev" } })).toBe("b");
      expect(await backendOf("negate", "/")).toBe("b");
      const prod = { "x-env": "prod" };
      expect(await backendOf("negate", "/ops", { headers: { ...prod, "x-team": "devops" } })).toBe("a");
      expect(await backendOf("negate", "/ops", { headers: { ...prod, "x-team": "web" } })).toBe("c");
      // Without treatMissingAsEmpty a negated condition needs the header present (Envoy's and Contour's default).
      expect(await backendOf("negate", "/ops", { headers: prod })).toBe("a");
      expect(await backendOf("negate", "/q?tag=ABC", { headers: prod })).toBe("b");
      expect(await backendOf("negate", "/q?tag=xab", { headers: prod })).toBe("a");
      expect(await backendOf("negate", "/q?debug", { headers: prod })).toBe("c");
    });

    test("weights: 80/20 over 200 requests, a's share within ±12 points (over 4 standard deviations); weight 0 gets nothing", async () => {
      const counts: Record<string, number> = {};
      for (let i = 0; i < 200; i++) {
        const who = await backendOf("weights", `/w${i}`);
        counts[who] = (counts[who] ?? 0) + 1;
      }
      expect(Object.keys(counts).sort()).toEqual(["a", "b"]);
      expect(Math.abs(counts.a! / 200 - 0.8)).toBeLessThanOrEqual(0.12);
    });

    test("mirror: the mirror backend receives a copy, the client gets the primary's answer", async () => {
      const path = `/copy-${mode}`;
      const response = await get("mirror", path, { headers: { "x-marker": "m1" } });
      expect(answeredBy(response)).toBe("a");
      const copy = await eventually(() => backends.mirror.received.find((r) => r.path === path), { what: "the mirrored request" });
      expect(copy.headers["x-marker"]).toBe("m1");
      // Envoy marks the shadow's host.
      expect(copy.host).toBe("mirror.routing.test-shadow");
    });

    test("redirects: status and Location", async () => {
      const moved = await get("redirect", "/moved/x?y=1");
      expect(moved.status).toBe(301);
      expect(moved.headers.location).toBe("https://elsewhere.routing.test:8443/moved/x?y=1");
      const found = await get("redirect", "/found/page");
      expect(found.status).toBe(302);
      expect(found.headers.location).toBe("http://redirect.routing.test/landing");
      const prefixed = await get("redirect", "/old/page");
      expect(prefixed.status).toBe(301);
      expect(prefixed.headers.location).toBe("http://redirect.routing.test/new/page");
    });

    test("direct responses", async () => {
      const teapot = await get("direct", "/teapot");
      expect(teapot.status).toBe(418);
      expect(teapot.body).toBe("short and stout, 100% %HOSTNAME% tea");
      const empty = await get("direct", "/empty");
      expect(empty.status).toBe(204);
      expect(empty.body).toBe("");
    });

    test("path and host rewrites", async () => {
      const path = (await get("rewrite", "/api/users?id=7")).json();
      expect(path.path).toBe("/v1/users?id=7");
      const host = (await get("rewrite", "/host/x")).json();
      expect(host.host).toBe("internal.backend.test");
      expect(host.path).toBe("/host/x");
      const serviceHost = (await get("rewrite", "/service-host")).json();
      expect({ backend: serviceHost.backend, host: serviceHost.host }).toEqual({ backend: "b", host: "b.backend.test" });
    });

    test("request and response headers: set, replace, remove, literal %, %CONTOUR_*% and Envoy variables", async () => {
      const response = await get("headers", "/", { headers: { "x-replaced": "theirs", "x-secret": "s3cret", "x-secret-upper": "s3cret", "x-source": "from-client" } });
      expect(response.status).toBe(200);
      const seen = response.json().headers;
      expect(seen["x-added"]).toBe("hello");
      expect(seen["x-replaced"]).toBe("ours");
      expect(seen["x-discount"]).toBe("20%");
      expect(seen["x-namespace"]).toBe("routing");
      expect(seen["x-service"]).toBe("a:80");
      expect(seen["x-peer"]).toBe("127.0.0.1");
      expect(seen["x-copied"]).toBe("from-client");
      expect(seen["x-upper-case"]).toBe("%%");
      expect(seen["x-odd"]).toBe("%unknown% 50%off% %");
      expect(seen["x-mixed"]).toBe(`routing/${hostname()}/headers.routing.test`);
      expect(seen["x-secret"]).toBeUndefined();
      expect(seen["x-secret-upper"]).toBeUndefined();
      expect(response.headers["x-served-by"]).toBe("isobar 100%");
      expect(response.headers["x-served-from"]).toBe("routing/a");
      expect(response.headers["x-backend"]).toBeUndefined();
    });

    test("cookie rewrites: Set-Cookie attributes rewritten per route and per service, other cookies untouched", async () => {
      const session = await get("cookies", "/", { headers: { "x-echo-set-cookie": "session=abc; Path=/; Domain=backend.internal" } });
      // Attributes in any order: a cookie's meaning does not depend on it.
      const attributes = (response: HttpResponse) => (response.headers["set-cookie"] ?? []).map((cookie) => cookie.split("; ").sort());
      expect(attributes(session)).toEqual([["Domain=cookies.routing.test", "Path=/app", "SameSite=Strict", "Secure", "session=abc"]]);
      const prefs = await get("cookies", "/", { headers: { "x-echo-set-cookie": "prefs=dark; Path=/" } });
      expect(attributes(prefs)).toEqual([["Path=/", "SameSite=Lax", "prefs=dark"]]);
      const other = await get("cookies", "/", { headers: { "x-echo-set-cookie": "other=1; Path=/x" } });
      expect(other.headers["set-cookie"]).toEqual(["other=1; Path=/x"]);
    });

    test("internal redirects: Envoy follows the backend's 302 to another route", async () => {
      backends.b.answerPath(`/follow/${mode}`, 302, { location: `http://internal.routing.test/target/${mode}` });
      const followed = await get("internal", `/follow/${mode}`);
      expect(answeredBy(followed)).toBe("c");
      expect(followed.json().path).toBe(`/target/${mode}`);
      backends.b.answerPath(`/plain/${mode}`, 302, { location: `http://internal.routing.test/target/${mode}` });
      const passed = await get("internal", `/plain/${mode}`);
      expect(passed.status).toBe(302);
      expect(passed.headers.location).toBe(`http://internal.routing.test/target/${mode}`);
    });

    test("retries: a backend that fails twice answers on the third try, a retriable status code is retried; without a retry policy the failure is passed on", async () => {
      backends.flaky.failNext(2);
      const path = `/retried/${mode}`;
      expect(await backendOf("retry", path)).toBe("flaky");
      expect(backends.flaky.received.filter((r) => r.path === path)).toHaveLength(3);
      backends.flaky.failNext(1, 418);
      const status = `/status/${mode}`;
      expect(await backendOf("retry", status)).toBe("flaky");
      expect(backends.flaky.received.filter((r) => r.path === status)).toHaveLength(2);
      backends.flaky.failNext(1);
      const once = `/once/${mode}`;
      expect((await get("retry", once)).status).toBe(503);
      expect(backends.flaky.received.filter((r) => r.path === once)).toHaveLength(1);
    });

    test("timeouts: a backend slower than the route's response or per-try timeout gives 504, so does the idle timeout; a longer timeout waits", async () => {
      backends.slow.delay(1000);
      try {
        const short = await get("timeout", "/short");
        expect({ status: short.status, body: short.body }).toEqual({ status: 504, body: "upstream request timeout" });
        // A stream idle for longer than the route's idle timeout before any response: Envoy 1.40 answers 504 "stream timeout".
        const idle = await get("timeout", "/idle");
        expect({ status: idle.status, body: idle.body }).toEqual({ status: 504, body: "stream timeout" });
        // 200 ms per try, one retry: two tries reach the backend, then 504.
        const perTry = `/per-try/${mode}`;
        expect((await get("timeout", perTry)).status).toBe(504);
        expect(backends.slow.received.filter((r) => r.path === perTry)).toHaveLength(2);
        expect(await backendOf("timeout", "/long")).toBe("slow");
      } finally {
        backends.slow.delay(0);
      }
    });

    test("circuit breakers from the Service's annotations: requests beyond one active and one pending overflow with 503", async () => {
      backends.slow.delay(500);
      try {
        const responses = await Promise.all([0, 1, 2, 3, 4].map((i) => get("timeout", `/limited/${i}`)));
        const statuses = responses.map((r) => r.status).sort();
        expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
        expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(2);
        const overflowed = responses.filter((r) => r.status === 503);
        expect(overflowed.length).toBeGreaterThanOrEqual(3);
        for (const response of overflowed) expect(response.headers["x-envoy-overloaded"]).toBe("true");
      } finally {
        backends.slow.delay(0);
      }
    });

    test("WebSocket upgrade where the route enables it, refused where it does not", async () => {
      const upgraded = await websocketUpgrade(stack.httpPort, "/ws/chat", { host: "websocket.routing.test", message: "hello over ws" });
      expect(upgraded.status).toBe(101);
      expect(upgraded.headers["x-backend"]).toBe("a");
      expect(upgraded.echoed).toBe("hello over ws");
      const refused = await websocketUpgrade(stack.httpPort, "/plain", { host: "websocket.routing.test" });
      expect(refused.status).toBe(403);
      expect(refused.echoed).toBeUndefined();
    });

    test("CORS: preflight from an allowed origin is answered by Envoy, another origin gets no grant", async () => {
      const preflight = await get("cors", "/items", { method: "OPTIONS", headers: { origin: "https://app.routing.test", "access-control-request-method": "PUT" } });
      expect(preflight.status).toBe(200);
      expect(preflight.headers["access-control-allow-origin"]).toBe("https://app.routing.test");
      expect(String(preflight.headers["access-control-allow-methods"])).toContain("PUT");
      expect(preflight.headers["access-control-allow-headers"]).toBe("x-token");
      expect(preflight.headers["access-control-max-age"]).toBe("600");
      expect(preflight.headers["access-control-allow-credentials"]).toBe("true");
      const simple = await get("cors", "/items", { headers: { origin: "https://app.routing.test" } });
      expect(simple.headers["access-control-allow-origin"]).toBe("https://app.routing.test");
      expect(simple.headers["access-control-expose-headers"]).toBe("x-backend");
      const partner = await get("cors", "/items", { method: "OPTIONS", headers: { origin: "https://shop.partner.test", "access-control-request-method": "GET" } });
      expect(partner.headers["access-control-allow-origin"]).toBe("https://shop.partner.test");
      const stranger = await get("cors", "/items", { method: "OPTIONS", headers: { origin: "https://evil.routing.test", "access-control-request-method": "PUT" } });
      expect(stranger.headers["access-control-allow-origin"]).toBeUndefined();
    });

    test("local rate limit: the fourth request in the hour gets 429, other routes are not limited", async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await get("ratelimit", "/limited")).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect((await get("ratelimit", "/free")).status).toBe(200);
    });

    test("virtual host local rate limit: the third request gets the configured status and header", async () => {
      const responses = [];
      for (let i = 0; i < 3; i++) responses.push(await get("guarded", `/any/${i}`));
      expect(responses.map((r) => r.status)).toEqual([200, 200, 503]);
      expect(responses[2]!.headers["x-limited"]).toBe("yes, 100%");
    });

    test("IP allow and deny lists, per route and per virtual host", async () => {
      expect(await backendOf("ipfilter", "/allowed")).toBe("a");
      expect(await backendOf("ipfilter", "/elsewhere-only")).toBe("<403>");
      expect(await backendOf("ipfilter", "/denied")).toBe("<403>");
      expect(await backendOf("ipfilter", "/not-denied")).toBe("a");
      expect(await backendOf("walled", "/")).toBe("<403>");
      // Remote is the client address Envoy trusts: with no trusted hops, a forged X-Forwarded-For changes nothing.
      expect(await backendOf("walled", "/", { headers: { "x-forwarded-for": "10.1.2.3" } })).toBe("<403>");
    });

    test("cookie affinity: the cookie Envoy sets keeps a client on one backend", async () => {
      const first = await get("affinity", "/cookie");
      const setCookie = first.headers["set-cookie"]?.[0] ?? "";
      expect(setCookie).toMatch(/^X-Contour-Session-Affinity=/);
      const cookie = setCookie.split(";")[0]!;
      const sticky = new Set<string>();
      for (let i = 0; i < 20; i++) sticky.add(await backendOf("affinity", "/cookie", { headers: { cookie } }));
      expect([...sticky]).toEqual([answeredBy(first)]);
      // Without the cookie, clients spread: the stickiness above is the cookie's doing.
      const fresh = new Set<string>();
      for (let i = 0; i < 30; i++) fresh.add(await backendOf("affinity", "/cookie"));
      expect(fresh.size).toBeGreaterThan(1);
    });

    test("request hash affinity: one x-user header (or ?user=) value always reaches the same backend", async () => {
      for (const user of ["alice", "bob", "carol"]) {
        const seen = new Set<string>();
        for (let i = 0; i < 10; i++) seen.add(await backendOf("affinity", "/header", { headers: { "x-user": user } }));
        expect(seen.size).toBe(1);
      }
      const users = new Set<string>();
      for (let i = 0; i < 30; i++) users.add(await backendOf("affinity", "/header", { headers: { "x-user": `user-${i}` } }));
      expect(users.size).toBeGreaterThan(1);
      const byQuery = new Set<string>();
      for (let i = 0; i < 10; i++) byQuery.add(await backendOf("affinity", `/query?user=dave&i=${i}`));
      expect(byQuery.size).toBe(1);
      // The route without a policy round-robins over the same three endpoints.
      const roundRobin = new Set<string>();
      for (let i = 0; i < 6; i++) roundRobin.add(await backendOf("affinity", "/other"));
      expect(roundRobin.size).toBe(3);
    });

    test("active health check: the endpoint failing /healthz gets no traffic, the healthy ones share it", async () => {
      const seen: Record<string, number> = {};
      for (let i = 0; i < 30; i++) {
        const who = await backendOf("health", `/h${i}`);
        seen[who] = (seen[who] ?? 0) + 1;
      }
      expect(Object.keys(seen).sort()).toEqual(["checked-0", "checked-1"]);
      expect(backends.checked[2]!.received.some((r) => r.path === "/healthz")).toBe(true);
      expect(backends.checked[2]!.received.filter((r) => r.path !== "/healthz")).toEqual([]);
    });

    test("h2c, TLS and h2 upstreams (by protocol, annotation or appProtocol); TLS validation by CA and subject name; SNI from a Host rewrite", async () => {
      const h2c = (await get("upstreams", "/h2c")).json();
      expect({ backend: h2c.backend, httpVersion: h2c.httpVersion, tls: h2c.tls }).toEqual({ backend: "h2c", httpVersion: "2.0", tls: false });
      const tls = (await get("upstreams", "/tls")).json();
      expect({ backend: tls.backend, httpVersion: tls.httpVersion, tls: tls.tls }).toEqual({ backend: "tls", httpVersion: "1.1", tls: true });
      const h2 = (await get("upstreams", "/h2")).json();
      expect({ backend: h2.backend, httpVersion: h2.httpVersion, tls: h2.tls }).toEqual({ backend: "h2", httpVersion: "2.0", tls: true });
      const h2cApp = (await get("upstreams", "/h2c-app")).json();
      expect({ backend: h2cApp.backend, httpVersion: h2cApp.httpVersion }).toEqual({ backend: "h2c", httpVersion: "2.0" });
      const tlsApp = (await get("upstreams", "/tls-app")).json();
      expect({ backend: tlsApp.backend, tls: tlsApp.tls }).toEqual({ backend: "tls", tls: true });
      expect(await backendOf("upstreams", "/tls-verified")).toBe("tls");
      expect(await backendOf("upstreams", "/tls-wrong-name")).toBe("<503>");
      // A rewritten Host is also the SNI Envoy sends (as Contour); without one, Envoy sends none.
      const sni = (await get("upstreams", "/tls-sni")).json();
      expect({ backend: sni.backend, host: sni.host, sni: sni.sni }).toEqual({ backend: "tls", host: "upstream.routing.test", sni: "upstream.routing.test" });
      expect(tls.sni).toBe(false);
    });

    test("a gRPC backend over HTTP/2", async () => {
      expect(await grpcCall(stack.httpPort, "grpc.routing.test")).toBe("grpc-backend");
    });

    test(`Envoy accepted every update over ${mode} xDS (nothing rejected)`, async () => {
      const stats = (await admin(stack.envoy.adminSocket, "/stats?filter=update_(rejected|success)$")).body;
      const counters = Object.fromEntries([...stats.matchAll(/^(\S+): (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
      expect(Object.entries(counters).filter(([name, value]) => name.endsWith("update_rejected") && value > 0)).toEqual([]);
      expect(counters["cluster_manager.cds.update_success"]).toBeGreaterThan(0);
      expect(counters["listener_manager.lds.update_success"]).toBeGreaterThan(0);
    });
  });
}
