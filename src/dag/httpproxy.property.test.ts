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
import { names, namespaces, proxies, world } from "../../test/helpers/httpproxy-arbitrary.ts";
import { selfSignedCertificate, type TestCertificate } from "./testing.ts";
import type { Dag } from "./types.ts";

let cert: TestCertificate;
beforeAll(async () => {
  cert = await selfSignedCertificate("x.example.com");
});

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
        const objects = [...generated.map((p) => proxy(p.namespace, p.name, p.spec)), ...world(cert)];
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
          ...world(cert),
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
        const dag = build([...objects, ...world(cert)]);
        for (const object of objects) expect(dag.status.get({ kind: "HTTPProxy", namespace: "a", name: object.metadata.name })).toBeDefined();
      }),
      { numRuns: 200 },
    );
  });
});
