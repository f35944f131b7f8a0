// Property tests of the HTTPProxy processor over random proxy trees (cycles, dangling and root
// includes, duplicate fqdns, invalid conditions, missing services and secrets) and over arbitrary
// junk specs: it never throws, every HTTPProxy gets a consistent status, and every Envoy resource
// translated from the DAG passes Envoy's validation rules.
import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { expectTranslationValid } from "../envoy/testing.ts";
import { translate } from "../envoy/translate.ts";
import type { KubeObject } from "../sources/types.ts";
import { build, proxy } from "./httpproxy-testing.ts";
import { delegation, secret, selfSignedCertificate, service, tlsSecret, type TestCertificate } from "./testing.ts";
import type { Dag } from "./types.ts";

let cert: TestCertificate;
beforeAll(async () => {
  cert = await selfSignedCertificate("x.example.com");
});

const namespaces = ["a", "b", "c"] as const;
const names = ["p0", "p1", "p2", "p3"] as const;

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

const proxies = fc.uniqueArray(fc.record({ namespace: fc.constantFrom("a", "a", "b", "c"), name: fc.constantFrom(...names), spec }), {
  maxLength: 8,
  selector: (p) => `${p.namespace}/${p.name}`,
});

function world(): KubeObject[] {
  return [
    ...namespaces.flatMap((ns) => [service(ns, "app", { ports: [{ port: 80 }, { port: 443 }] }), tlsSecret(ns, "tls", cert), secret(ns, "ca", { "ca.crt": cert.certificate }, "Opaque")]),
    ...namespaces.map((ns) => service(ns, "ext", { type: "ExternalName", externalName: "127.0.0.1" })),
    delegation("b", "d", "tls", ["a"]),
  ];
}

/** Every HTTPProxy has a status consistent with its conditions; every translated resource is valid. */
function checkBuild(objects: KubeObject[], dag: Dag): void {
  for (const object of objects.filter((o) => o.kind === "HTTPProxy")) {
    const status = dag.status.get({ kind: "HTTPProxy", namespace: object.metadata.namespace!, name: object.metadata.name });
    expect(status).toBeDefined();
    const realErrors = status!.errors.filter((e) => e.reason !== "Orphaned");
    expect(status!.currentStatus === "invalid").toBe(realErrors.length > 0);
    if (status!.currentStatus === "orphaned") expect(status!.description).toBe("this HTTPProxy is not part of a delegation chain from a root HTTPProxy");
  }
  for (const vhost of [...dag.virtualHosts.values(), ...dag.secureVirtualHosts.values()]) {
    for (const r of vhost.routes) {
      for (const c of [...r.clusters.map((w) => w.cluster), ...r.mirrors.map((m) => m.cluster)]) expect(dag.clusters.get(c.name)).toBe(c);
      expect(r.clusters.length > 0 || r.redirect !== undefined || r.directResponse !== undefined).toBe(true);
    }
  }
  expectTranslationValid(translate(dag));
}

// Well-formed trees: roots in `a` with distinct fqdns, each including some children of `b` on
// distinct prefixes; children with valid routes and policies. Everything reached must be valid.
const validRoute = fc.record(
  {
    conditions: fc.tuple(fc.constantFrom("/", "/r", "/r/", "/s"), fc.option(fc.constantFrom("x-a", "x-b"))).map(([prefix, header]) => [
      { prefix },
      ...(header === null ? [] : [{ header: { name: header, exact: "1" } }]),
    ]),
    services: fc.array(fc.record({ name: fc.constant("app"), port: fc.constantFrom(80, 443), weight: fc.nat(100) }), { minLength: 1, maxLength: 3 }),
    timeoutPolicy: fc.record({ response: fc.constantFrom("1s", "infinity"), idle: fc.constantFrom("5m", "") }),
    retryPolicy: fc.record({ count: fc.integer({ min: -1, max: 5 }), perTryTimeout: fc.constantFrom("1s", "250ms") }),
    loadBalancerPolicy: fc.record({ strategy: fc.constantFrom("RoundRobin", "Random", "Cookie", "WeightedLeastRequest") }),
    requestHeadersPolicy: fc.record({ set: fc.array(fc.record({ name: fc.constantFrom("x-c", "x-d"), value: fc.string({ maxLength: 10 }) }), { maxLength: 1 }) }),
    enableWebsockets: fc.boolean(),
    permitInsecure: fc.boolean(),
  },
  { requiredKeys: ["conditions", "services"] },
);
const validTree = fc.record({
  roots: fc.array(fc.record({ tls: fc.boolean(), includes: fc.uniqueArray(fc.nat(3), { maxLength: 3 }) }), { minLength: 1, maxLength: 4 }),
  children: fc.array(fc.array(validRoute, { minLength: 1, maxLength: 2 }), { minLength: 4, maxLength: 4 }),
});

describe("HTTPProxy property tests", () => {
  test("random proxy trees: no crash, a status for everyone, only valid Envoy resources", () => {
    fc.assert(
      fc.property(proxies, fc.boolean(), (generated, restrictRoots) => {
        const objects = [...generated.map((p) => proxy(p.namespace, p.name, p.spec)), ...world()];
        const dag = build(objects, { rootNamespaces: restrictRoots ? ["a", "b"] : [], enableExternalNameService: true });
        checkBuild(objects, dag);
      }),
      { numRuns: 150 },
    );
  });

  test("well-formed trees: everything reached is valid and routed, the rest orphaned", () => {
    fc.assert(
      fc.property(validTree, (tree) => {
        const included = new Set(tree.roots.flatMap((r) => r.includes));
        const objects = [
          ...tree.roots.map((r, i) =>
            proxy("a", `root${i}`, {
              virtualhost: { fqdn: `h${i}.example.com`, ...(r.tls ? { tls: { secretName: "tls" } } : {}) },
              includes: r.includes.map((c) => ({ name: `c${c}`, namespace: "b", conditions: [{ prefix: `/c${c}` }] })),
              routes: [{ services: [{ name: "app", port: 80 }] }],
            }),
          ),
          ...tree.children.map((routes, c) => proxy("b", `c${c}`, { routes })),
          ...world(),
        ];
        const dag = build(objects);
        checkBuild(objects, dag);
        for (const [i, root] of tree.roots.entries()) {
          expect(dag.status.get({ kind: "HTTPProxy", namespace: "a", name: `root${i}` })?.currentStatus).toBe("valid");
          const routes = dag.virtualHosts.get(`h${i}.example.com`)?.routes ?? [];
          const expected = 1 + root.includes.reduce((n, c) => n + tree.children[c]!.length, 0);
          expect(routes.length).toBe(expected);
          expect(dag.secureVirtualHosts.has(`h${i}.example.com`)).toBe(root.tls);
        }
        for (const c of [0, 1, 2, 3]) {
          const status = dag.status.get({ kind: "HTTPProxy", namespace: "b", name: `c${c}` });
          expect(status?.currentStatus).toBe(included.has(c) ? "valid" : "orphaned");
        }
      }),
      { numRuns: 100 },
    );
  });

  test("arbitrary junk in spec fields: no crash, a status for everyone", () => {
    const junk = fc.record({ name: fc.constantFrom(...names), spec: fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom("virtualhost", "routes", "includes", "tcpproxy"), fc.anything())) });
    fc.assert(
      fc.property(fc.uniqueArray(junk, { maxLength: 5, selector: (p) => p.name }), (generated) => {
        const objects = generated.map((p) => ({ ...proxy("a", p.name, {}), spec: p.spec }) as KubeObject);
        const dag = build([...objects, ...world()]);
        for (const object of objects) expect(dag.status.get({ kind: "HTTPProxy", namespace: "a", name: object.metadata.name })).toBeDefined();
      }),
      { numRuns: 200 },
    );
  });
});
