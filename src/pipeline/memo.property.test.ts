// The build memo (translation per DAG node, validation per resource and entry, encoding per entry in
// the store) against the plain path, on random DAGs changed step by step: at every step the memoized
// path publishes exactly the bytes and versions, and rejects exactly what, a from-scratch translation,
// validation and encoding into a fresh store does, and those bytes are encodeStrict's. Unchanged hosts are kept as the same DAG node (as
// an incremental DAG build keeps them) or rebuilt as an equal node (as a full build does).
import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import type { Cluster, Dag, Route, SecureVirtualHost, VirtualHost } from "../dag/types.ts";
import { testCluster, testDag, testRoute, testSecret, testSecureVirtualHost, testVirtualHost, weighted } from "../envoy/testing.ts";
import { translate } from "../envoy/translate.ts";
import { createSnapshotStore, type SnapshotStore } from "../xds/snapshot.ts";
import { resourceTypes } from "../xds/types.ts";
import { encodeStrict } from "../xds/registry.ts";
import { validateSnapshot } from "../xds/validate-snapshot.ts";
import { createBuildMemo, type BuildMemo } from "./build.ts";

/** One host as the test describes it; equal specs make equal nodes. */
interface HostSpec {
  secure: boolean;
  prefixes: string[];
  cluster: number;
  timeoutMs: number;
  /** A header Envoy refuses to modify: the validator leaves the host out. */
  broken: boolean;
}

const hostSpec = fc.record({
  secure: fc.integer({ min: 0, max: 9 }).map((n) => n < 3),
  prefixes: fc.uniqueArray(fc.constantFrom("/", "/a", "/b", "/api", "/v2"), { minLength: 1, maxLength: 3 }),
  cluster: fc.integer({ min: 0, max: 5 }),
  timeoutMs: fc.constantFrom(1000, 2000, 15000),
  broken: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
});

const step = fc.record({
  /** Hosts replaced by a new spec, by index. */
  changed: fc.array(fc.tuple(fc.nat(), hostSpec), { maxLength: 3 }),
  added: fc.array(hostSpec, { maxLength: 2 }),
  removed: fc.array(fc.nat(), { maxLength: 2 }),
  /** Hosts rebuilt as equal but new nodes (a full DAG build), by index. */
  rebuilt: fc.array(fc.nat(), { maxLength: 40 }),
  /** A cluster replaced by an equal new object. */
  newCluster: fc.option(fc.integer({ min: 0, max: 5 })),
});

function hostNode(name: string, spec: HostSpec, clusters: Cluster[]): VirtualHost | SecureVirtualHost {
  const routes: Route[] = spec.prefixes.map((prefix) =>
    testRoute(prefix, {
      clusters: [weighted(clusters[spec.cluster]!)],
      timeout: { responseMs: spec.timeoutMs },
      requestHeaders: spec.broken ? { set: [{ name: ":path", value: "/x" }], add: [], remove: [] } : undefined,
    }),
  );
  return spec.secure ? testSecureVirtualHost(name, routes, { secret: testSecret(`default/tls-${name}/0123456789`) }) : testVirtualHost(name, routes);
}

/** What one path published: per type, each resource's bytes (hex) and version, and the type's version. */
function published(store: SnapshotStore): Record<string, unknown> {
  return Object.fromEntries(
    resourceTypes.map((info) => [
      info.typeUrl,
      { version: store.version(info.typeUrl), resources: [...store.resources(info.typeUrl).values()].map((r) => [r.name, r.version, Buffer.from(r.bytes).toString("hex")]).sort() },
    ]),
  );
}

function buildAndPublish(dag: Dag, store: SnapshotStore, memo?: BuildMemo): object[] {
  const translation = memo ? memo.translation.translate(dag) : translate(dag);
  const endpoints = [...dag.clusters.values()].map((c) => ({ cluster_name: c.edsServiceName ?? c.name }));
  const { valid, rejected } = validateSnapshot({ ...translation, endpoints }, { memo: memo?.validation });
  store.publish(valid);
  return rejected;
}

describe("the build memo", () => {
  test("publishes the bytes, versions and rejections of a from-scratch build, whatever changed", () => {
    fc.assert(
      fc.property(fc.array(hostSpec, { minLength: 30, maxLength: 45 }), fc.array(step, { minLength: 1, maxLength: 5 }), (initial, steps) => {
        let clusters = Array.from({ length: 6 }, (_, i) => testCluster(`svc-${i}`));
        let specs = initial.map((spec, i) => ({ name: `host-${i}.example.com`, spec }));
        let nodes = specs.map(({ name, spec }) => hostNode(name, spec, clusters));
        let next = specs.length;
        const memo = createBuildMemo();
        const memoStore = createSnapshotStore();
        for (const change of [undefined, ...steps]) {
          if (change) {
            if (change.newCluster !== null) {
              const replaced = change.newCluster;
              clusters = clusters.map((c, i) => (i === replaced ? testCluster(`svc-${i}`) : c));
              // Hosts routing to it are new nodes: a node is unchanged only if all it reaches is.
              nodes = nodes.map((node, i) => (specs[i]!.spec.cluster === replaced ? hostNode(specs[i]!.name, specs[i]!.spec, clusters) : node));
            }
            for (const [at, spec] of change.changed) {
              const i = at % specs.length;
              specs[i] = { name: specs[i]!.name, spec };
              nodes[i] = hostNode(specs[i]!.name, spec, clusters);
            }
            for (const at of change.rebuilt) nodes[at % nodes.length] = hostNode(specs[at % nodes.length]!.name, specs[at % nodes.length]!.spec, clusters);
            for (const spec of change.added) {
              specs.push({ name: `host-${next++}.example.com`, spec });
              nodes.push(hostNode(specs.at(-1)!.name, spec, clusters));
            }
            for (const at of change.removed) {
              if (specs.length <= 1) break;
              const i = at % specs.length;
              specs = specs.filter((_, j) => j !== i);
              nodes = nodes.filter((_, j) => j !== i);
            }
          }
          const plain = nodes.filter((node) => !("secret" in node));
          const secure = nodes.filter((node): node is SecureVirtualHost => "secret" in node);
          const dag = testDag({ plain, secure });
          const memoRejected = buildAndPublish(dag, memoStore, memo);
          const freshStore = createSnapshotStore();
          const plainRejected = buildAndPublish(dag, freshStore);
          expect(memoRejected).toEqual(plainRejected);
          expect(published(memoStore)).toEqual(published(freshStore));
          // And the store's own encoding (the fast encoder, entry by entry) is encodeStrict's.
          for (const info of resourceTypes) {
            for (const resource of freshStore.resources(info.typeUrl).values()) {
              expect(Buffer.from(resource.bytes).equals(Buffer.from(encodeStrict(info.typeUrl, resource.json)))).toBe(true);
            }
          }
        }
      }),
      { numRuns: 20 },
    );
  }, 60_000);

  test("a second build of the same nodes translates and checks nothing again, and one changed host is one host's work", () => {
    const clusters = Array.from({ length: 3 }, (_, i) => testCluster(`svc-${i}`));
    const spec = (i: number, timeoutMs = 1000): HostSpec => ({ secure: false, prefixes: ["/", "/a"], cluster: i % 3, timeoutMs, broken: false });
    const nodes = Array.from({ length: 40 }, (_, i) => hostNode(`host-${i}.example.com`, spec(i), clusters));
    const memo = createBuildMemo();
    const store = createSnapshotStore();
    buildAndPublish(testDag({ plain: nodes }), store, memo);
    expect(memo.translation.translated.virtualHosts).toBe(40);
    const checked = { ...memo.validation.checked };
    const before = store.resources(resourceTypes.find((t) => t.kind === "routes")!.typeUrl).get("ingress_http")!;

    buildAndPublish(testDag({ plain: nodes }), store, memo);
    expect(memo.translation.translated).toEqual({ virtualHosts: 0, clusters: 0, secrets: 0, listeners: 1, routeConfigs: 0 });
    expect(memo.validation.checked.entries).toBe(checked.entries);
    const routeUrl = resourceTypes.find((t) => t.kind === "routes")!.typeUrl;
    expect(store.resources(routeUrl).get("ingress_http")).toBe(before);

    nodes[7] = hostNode("host-7.example.com", spec(7, 2000), clusters);
    buildAndPublish(testDag({ plain: nodes }), store, memo);
    expect(memo.translation.translated.virtualHosts).toBe(1);
    expect(memo.validation.checked.entries).toBe(checked.entries + 1);
    expect(store.resources(routeUrl).get("ingress_http")!.version).not.toBe(before.version);
  });
});
