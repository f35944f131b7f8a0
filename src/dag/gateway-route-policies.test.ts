// HTTPRoute's CORS filter and sessionPersistence as route policies: what each value becomes, and
// the values refused with the reason a user can act on (the schema of older CRDs lets them by).
import { describe, expect, test } from "bun:test";
import { RE2JS } from "re2js";
import { gatewayCorsPolicy, gatewaySessionPersistence } from "./gateway-route-policies.ts";
import type { BuildContext } from "./processor.ts";

const ctx = { checkRegex: () => undefined } as unknown as BuildContext;

describe("CORS", () => {
  test("exact origins, `*`, and a wildcard host as an RE2 regex that takes any labels to its left", () => {
    const problems: string[] = [];
    const cors = gatewayCorsPolicy(ctx, { allowOrigins: ["https://www.foo.com", "*", "https://*.bar.com:8443"], allowMethods: ["GET"], allowCredentials: true }, problems);
    expect(problems).toEqual([]);
    expect(cors.allowOrigin.slice(0, 2)).toEqual(["https://www.foo.com", "*"]);
    expect(cors.allowOriginRegex).toEqual([false, false, true]);
    const regex = RE2JS.compile(cors.allowOrigin[2]!);
    for (const origin of ["https://www.bar.com:8443", "https://a.www.bar.com:8443", "HTTPS://WWW.BAR.COM:8443"]) expect({ origin, ok: regex.matches(origin) }).toEqual({ origin, ok: true });
    for (const origin of ["https://bar.com:8443", "https://www.bar.com", "http://www.bar.com:8443", "https://evil.com/.bar.com:8443"]) expect({ origin, ok: regex.matches(origin) }).toEqual({ origin, ok: false });
    expect(cors).toMatchObject({ allowMethods: ["GET"], allowHeaders: [], exposeHeaders: [], maxAge: "5", allowCredentials: true });
  });

  test("a wildcard anywhere but first in the host, `*` among other methods, a maxAge below 1 are refused", () => {
    const problems: string[] = [];
    gatewayCorsPolicy(ctx, { allowOrigins: ["https://www.*.com"], allowMethods: ["*", "GET"], maxAge: 0 }, problems);
    expect(problems).toEqual([
      'CORS allowOrigins "https://www.*.com": a wildcard stands alone or first in the host (https://*.example.com)',
      "CORS allowMethods cannot contain '*' alongside other methods",
      "CORS maxAge 0 must be a whole number of seconds, at least 1",
    ]);
  });
});

describe("sessionPersistence", () => {
  test("a session cookie by default, named after the rule; a Permanent one has absoluteTimeout as its ttl; a header", () => {
    const problems: string[] = [];
    const a = gatewaySessionPersistence({}, "apps/r/0", problems);
    const b = gatewaySessionPersistence({ type: "Cookie" }, "apps/r/1", problems);
    expect(a).toMatchObject({ kind: "cookie", path: "/" });
    expect(a!.kind === "cookie" && a!.ttlMs).toBeUndefined();
    expect(a!.name).toMatch(/^session-[0-9a-f]{10}$/);
    expect(b!.name).not.toBe(a!.name);
    expect(gatewaySessionPersistence({ sessionName: "stay", absoluteTimeout: "1h30m", cookieConfig: { lifetimeType: "Permanent" } }, "r", problems)).toEqual({ kind: "cookie", name: "stay", path: "/", ttlMs: 5_400_000 });
    expect(gatewaySessionPersistence({ type: "Header", sessionName: "X-Session" }, "r", problems)).toEqual({ kind: "header", name: "x-session" });
    expect(problems).toEqual([]);
  });

  test("what Envoy cannot keep is refused with the reason", () => {
    const refused = (spec: Parameters<typeof gatewaySessionPersistence>[0]) => {
      const problems: string[] = [];
      expect(gatewaySessionPersistence(spec, "r", problems)).toBeUndefined();
      return problems;
    };
    expect(refused({ idleTimeout: "10m" })).toEqual(["sessionPersistence idleTimeout is not supported: Envoy's stateful session has no idle expiry"]);
    expect(refused({ absoluteTimeout: "10m" })[0]).toStartWith("sessionPersistence absoluteTimeout is supported with lifetimeType Permanent only");
    expect(refused({ cookieConfig: { lifetimeType: "Permanent" } })).toEqual(["sessionPersistence with a Permanent cookie needs absoluteTimeout"]);
    expect(refused({ type: "Header", absoluteTimeout: "1h" })).toEqual(["sessionPersistence absoluteTimeout is not supported with type Header: Envoy's header session has no expiry"]);
    expect(refused({ sessionName: "a b" })[0]).toStartWith('sessionPersistence sessionName "a b" must be an HTTP token');
    expect(refused({ absoluteTimeout: "1.5h", cookieConfig: { lifetimeType: "Permanent" } })[0]).toBe('sessionPersistence absoluteTimeout "1.5h" must be a Gateway API duration such as 1h');
  });
});
