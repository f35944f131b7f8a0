// Random HTTPProxy trees for property tests: cycles, dangling and root includes, duplicate fqdns,
// invalid conditions, missing services and secrets, every policy now and then. Shared by the HTTPProxy
// processor's property tests (src/dag/httpproxy.property.test.ts) and the differential fuzz against a
// real Envoy (test/e2e/envoy-fuzz.e2e.test.ts).
import fc from "fast-check";
import { delegation, secret, service, tlsSecret, type TestCertificate } from "../../src/dag/testing.ts";
import type { KubeObject } from "../../src/sources/types.ts";

export const namespaces = ["a", "b", "c"] as const;
export const names = ["p0", "p1", "p2", "p3"] as const;

const pathCondition = fc.oneof(
  { weight: 4, arbitrary: fc.record({ prefix: fc.constantFrom("/", "/api", "/api/", "//x", "/.well-known/acme-challenge/") }) },
  { weight: 1, arbitrary: fc.record({ exact: fc.constantFrom("/exact") }) },
  { weight: 1, arbitrary: fc.record({ regex: fc.constantFrom("/r/[a-z]+", "/a(") }) },
  { weight: 1, arbitrary: fc.constantFrom({ prefix: "v1" }, { exact: "nope" }, { regex: "/(?=x)" }, { regex: "/[" }) },
);
const headerCondition = fc.record({
  header: fc.oneof(
    fc.record({ name: fc.constantFrom("x-a", "X-A", "x-b"), present: fc.constant(true) }),
    fc.record({ name: fc.constantFrom("x-a", "x-b"), notpresent: fc.constant(true) }),
    fc.record({ name: fc.constantFrom("x-a", "x-b"), exact: fc.constantFrom("1", "2"), ignoreCase: fc.boolean() }),
    fc.record({ name: fc.constantFrom("x-a", "x-b"), notexact: fc.constantFrom("1", "2"), treatMissingAsEmpty: fc.boolean() }),
    fc.record({ name: fc.constantFrom("x-a", "x-b"), contains: fc.string({ maxLength: 4 }) }),
    fc.record({ name: fc.constantFrom("x-a", "x-b"), notcontains: fc.string({ maxLength: 4 }) }),
    fc.record({ name: fc.constantFrom("x-a", "x-b"), regex: fc.constantFrom("^v[0-9]$", "^v[0-9]$", "(?<=a)b", "[") }),
  ),
});
const queryCondition = fc.record({
  queryParameter: fc.oneof(
    fc.record({ name: fc.constantFrom("q", "Q"), exact: fc.constantFrom("1", "%") }),
    fc.record({ name: fc.constantFrom("q", "r"), prefix: fc.constant("p"), ignoreCase: fc.boolean() }),
    fc.record({ name: fc.constantFrom("q", "r"), regex: fc.constantFrom("^a$", "^a$", "\\1") }),
    fc.record({ name: fc.constantFrom("q", "r"), present: fc.constant(true) }),
    fc.record({ name: fc.constant("q"), exact: fc.constant("1"), suffix: fc.constant("s") }),
  ),
});
/** Mostly valid values, now and then an invalid one. */
function mostly<T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>): fc.Arbitrary<T | U> {
  return fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: invalid });
}
const conditions = fc.array(fc.oneof({ weight: 3, arbitrary: pathCondition }, { weight: 1, arbitrary: headerCondition }, { weight: 1, arbitrary: queryCondition }), { maxLength: 2 });

const headerPolicy = fc.record({
  set: fc.array(fc.record({ name: mostly(fc.constantFrom("x-a", "Host", "x-b", "x-c"), fc.constant("bad name")), value: fc.string({ maxLength: 12 }) }), { maxLength: 2 }),
  remove: fc.array(mostly(fc.constantFrom("x-d", "x-e"), fc.constant("bad name")), { maxLength: 1 }),
});
const backend = fc.record(
  {
    name: mostly(fc.constant("app"), fc.constantFrom("missing", "ext")),
    port: mostly(fc.constantFrom(80, 443), fc.constant(0)),
    weight: fc.nat(100),
    mirror: fc.boolean(),
    protocol: mostly(fc.constantFrom("h2", "h2c", "tls"), fc.constant("bogus")),
    requestHeadersPolicy: headerPolicy,
    responseHeadersPolicy: headerPolicy,
  },
  { requiredKeys: ["name", "port"] },
);
const routeOptions = fc.record(
  {
    conditions,
    permitInsecure: fc.boolean(),
    enableWebsockets: fc.boolean(),
    timeoutPolicy: fc.record({ response: mostly(fc.constantFrom("1s", "infinity"), fc.constant("bogus")), idle: fc.constantFrom("5m", ""), idleConnection: fc.constantFrom("30s") }, { requiredKeys: [] }),
    retryPolicy: fc.record({ count: fc.integer({ min: -1, max: 5 }), perTryTimeout: fc.constantFrom("1s", "x") }, { requiredKeys: [] }),
    loadBalancerPolicy: fc.record({ strategy: fc.constantFrom("RoundRobin", "Random", "Cookie", "RequestHash", "WeightedLeastRequest") }),
    pathRewritePolicy: fc.record({ replacePrefix: fc.array(fc.record({ prefix: fc.constantFrom("/api", ""), replacement: fc.constantFrom("/", "/v2/") }), { maxLength: 2 }) }),
    healthCheckPolicy: fc.record({ path: mostly(fc.constant("/healthz"), fc.constant("")), intervalSeconds: fc.nat(10) }, { requiredKeys: ["path"] }),
    cookieRewritePolicies: fc.array(fc.record({ name: mostly(fc.constantFrom("s", "t"), fc.constant("bad;")), secure: fc.boolean() }, { requiredKeys: ["name"] }), { maxLength: 2 }),
  },
  { requiredKeys: [], noNullPrototype: true },
);
// Mostly exactly one action (as a valid route has), sometimes none or two.
const routeAction = fc.oneof(
  { weight: 6, arbitrary: fc.record({ services: fc.array(backend, { minLength: 1, maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ requestRedirectPolicy: fc.record({ scheme: fc.constant("https"), statusCode: fc.constantFrom(301, 302), prefix: fc.constant("/new") }, { requiredKeys: [] }) }) },
  { weight: 1, arbitrary: fc.record({ directResponsePolicy: fc.record({ statusCode: fc.constantFrom(200, 404, 503, 42), body: fc.string({ maxLength: 8 }) }) }) },
  { weight: 1, arbitrary: fc.record({ services: fc.array(backend, { maxLength: 1 }), directResponsePolicy: fc.record({ statusCode: fc.constant(200) }) }) },
);
const route = fc.tuple(routeOptions, routeAction).map(([options, action]) => ({ ...options, ...action }));
const include = fc.record(
  { name: mostly(fc.constantFrom(...names), fc.constant("gone")), namespace: fc.constantFrom(...namespaces), conditions },
  { requiredKeys: ["name", "conditions"] },
);
const tls = fc.oneof(
  { weight: 6, arbitrary: fc.record({ secretName: fc.constantFrom("tls", "b/tls") }) },
  fc.record(
    {
      secretName: fc.constantFrom("tls", "tls", "missing", "a/tls"),
      minimumProtocolVersion: fc.constantFrom("1.2", "1.3", "1.1"),
      clientValidation: fc.record({ caSecret: fc.constantFrom("ca", "ca", "missing"), skipClientCertValidation: fc.boolean(), optionalClientCertificate: fc.boolean() }, { requiredKeys: [] }),
    },
    { requiredKeys: ["secretName"] },
  ),
  fc.record({ passthrough: fc.constant(true) }),
  fc.record({ secretName: fc.constant("tls"), passthrough: fc.boolean(), enableFallbackCertificate: fc.boolean() }, { requiredKeys: [] }),
);
const virtualhost = fc.record(
  {
    fqdn: fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(...["x", "y", "z", "w", "u", "v", "s", "t", "*"].map((h) => `${h}.example.com`)) },
      { weight: 1, arbitrary: fc.constantFrom("", "bad*.example.com") },
    ),
    tls,
    corsPolicy: mostly(
      fc.record({ allowOrigin: fc.array(fc.constantFrom("*", "https://a.example.com", "https://.*[.]example[.]com"), { minLength: 1, maxLength: 2 }), allowMethods: fc.constant(["GET"]) }),
      fc.record({ allowOrigin: fc.constantFrom([], ["(?=x)"]), allowMethods: fc.constant(["GET"]) }),
    ),
    rateLimitPolicy: fc.record({ local: fc.record({ requests: mostly(fc.integer({ min: 1, max: 10 }), fc.constant(0)), unit: mostly(fc.constantFrom("second", "minute"), fc.constant("day")) }) }),
    ipAllowPolicy: fc.array(fc.record({ cidr: mostly(fc.constantFrom("10.0.0.0/8", "::1", "192.168.1.7"), fc.constant("300.0.0.1")), source: fc.constantFrom("Peer", "Remote") }), { maxLength: 2 }),
  },
  { requiredKeys: ["fqdn"] },
);
const tcpproxy = fc.oneof(
  fc.record({ services: fc.array(backend, { minLength: 1, maxLength: 2 }) }),
  fc.record({ include: fc.record({ name: fc.constantFrom(...names), namespace: fc.constantFrom(...namespaces) }) }),
  fc.record({ services: fc.array(backend, { maxLength: 1 }), include: fc.record({ name: fc.constantFrom(...names) }) }, { requiredKeys: [] }),
);
// Roots (with a virtualhost) half the time; a tcpproxy now and then.
const spec = fc
  .tuple(fc.option(virtualhost, { freq: 2 }), fc.array(include, { maxLength: 2 }), fc.array(route, { maxLength: 2 }), fc.option(tcpproxy, { freq: 20 }))
  .map(([vh, includes, routes, tcp]) => ({ ...(vh === null ? {} : { virtualhost: vh }), includes, routes, ...(tcp === null ? {} : { tcpproxy: tcp }) }));

export const proxies = fc.uniqueArray(fc.record({ namespace: fc.constantFrom("a", "a", "b", "c"), name: fc.constantFrom(...names), spec }), {
  maxLength: 8,
  selector: (p) => `${p.namespace}/${p.name}`,
});

/** The Services, Secrets and delegation the random proxies point at, in every namespace. */
export function world(cert: TestCertificate): KubeObject[] {
  return [
    ...namespaces.flatMap((ns) => [service(ns, "app", { ports: [{ port: 80 }, { port: 443 }] }), tlsSecret(ns, "tls", cert), secret(ns, "ca", { "ca.crt": cert.certificate }, "Opaque")]),
    ...namespaces.map((ns) => service(ns, "ext", { type: "ExternalName", externalName: "127.0.0.1" })),
    delegation("b", "d", "tls", ["a"]),
  ];
}
