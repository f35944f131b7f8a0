// The incremental DAG build (src/dag/incremental.ts) against the full build, its reference: random
// sequences of adds, updates and deletes of Ingresses, HTTPProxies (includes, delegations),
// TLSCertificateDelegations, Services, EndpointSlices, Secrets and Gateway API objects (BackendTLSPolicy
// with a ConfigMap CA bundle too) go through one
// object cache; after every step the live pipeline's path (buildResources with the incremental
// builder, the cache's change set and the build memo that remembers translation and validation by node) must give what a full rebuild of the same cache gives: the
// DAG in its JSON form, every status condition by condition, every resource byte for byte once
// encoded. Plus: after an unrelated change, an unchanged unit's nodes are the very same objects.
import { beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createDagCache } from "../src/dag/cache.ts";
import { dagJson } from "../src/dag/dag-json.ts";
import { createIncrementalDagBuilder, type IncrementalDagBuilder } from "../src/dag/incremental.ts";
import { simpleRoot } from "../src/dag/httpproxy-testing.ts";
import type { DagOptions } from "../src/dag/processor.ts";
import { ingress, rule, selfSignedCertificate, service, testOptions, tlsSecret } from "../src/dag/testing.ts";
import type { Dag } from "../src/dag/types.ts";
import { buildResources, createBuildMemo, type BuildMemo, type BuildResult } from "../src/pipeline/build.ts";
import { createObjectCache, type ObjectCache } from "../src/pipeline/cache.ts";
import { kindKey, type KubeObject } from "../src/sources/types.ts";
import { dagOptionsOf, objectsOf, world } from "./helpers/fuzz-world.ts";
import { applyStep, encoded, gatewayObjects, gatewayWorld, loadWorldCertificates, step } from "./helpers/incremental-world.ts";

beforeAll(loadWorldCertificates);

function expectSameBuild(incremental: BuildResult, reference: BuildResult): void {
  expect(dagJson(incremental.dag)).toEqual(dagJson(reference.dag));
  expect(incremental.statuses).toEqual(reference.statuses);
  expect(incremental.rejected).toEqual(reference.rejected);
  expect(encoded(incremental)).toEqual(encoded(reference));
}

/** The build memo (translation, load assignments, validation by node identity) each builder's live path keeps, as the pipeline does. */
const memos = new WeakMap<IncrementalDagBuilder, BuildMemo>();

/** The live pipeline's build: the incremental DAG with the cache's change set, and the build memo over its reused nodes. */
function liveBuild(cache: ObjectCache, builder: IncrementalDagBuilder, options: DagOptions): BuildResult {
  let memo = memos.get(builder);
  if (!memo) memos.set(builder, (memo = createBuildMemo()));
  return buildResources(cache, { dag: options, memo, buildDag: (input, dagOptions) => builder.build(input, dagOptions, cache.takeChanges()) });
}

describe("incremental build", () => {
  test("after every random add, update and delete it equals a full rebuild: DAG, statuses, encoded resources", () => {
    const modes = new Map<string, number>();
    fc.assert(
      fc.property(world, gatewayWorld, fc.array(step, { minLength: 1, maxLength: 6 }), (first, firstGateway, steps) => {
        const options: DagOptions = { ...dagOptionsOf(first), cache: createDagCache() };
        const cache = createObjectCache({ ingressClassNames: [] });
        const builder = createIncrementalDagBuilder();
        let current = new Map([...objectsOf(first), ...gatewayObjects(firstGateway)].map((o) => [kindKey(o), o]));
        cache.applyAll([...current.values()].map((object) => ({ type: "upsert" as const, object })));
        expectSameBuild(liveBuild(cache, builder, options), buildResources(cache, { dag: options }));
        for (const { world: w, gateway, seed, share } of steps) {
          current = applyStep(cache, current, new Map([...objectsOf(w), ...gatewayObjects(gateway)].map((o) => [kindKey(o), o])), seed, share);
          expectSameBuild(liveBuild(cache, builder, options), buildResources(cache, { dag: options }));
          const mode = builder.last!.mode;
          modes.set(mode, (modes.get(mode) ?? 0) + 1);
        }
      }),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 200), includeErrorInReport: true },
    );
    if (process.env.SHOW_MODES) console.log(modes);
    // The sequences reach the incremental path, not only the fallbacks.
    expect(modes.get("incremental") ?? 0).toBeGreaterThan(0);
  }, 120_000);
});

describe("incremental build: what it reuses", () => {
  test("an unchanged unit's virtual hosts, routes, clusters, secrets and statuses are the same objects after an unrelated change", async () => {
    const cert = await selfSignedCertificate("a.example.com");
    const cache = createObjectCache({ ingressClassNames: [] });
    const builder = createIncrementalDagBuilder();
    const options = testOptions({ cache: createDagCache() });
    const build = () => builder.build(cache, options, cache.takeChanges());
    const upsert = (...objects: KubeObject[]) => cache.applyAll(objects.map((object) => ({ type: "upsert" as const, object })));
    const i1 = (path: string) => ingress("default", "i1", { rules: [rule("b.example.com", [[path, "Prefix", "s1", 80]])] });
    upsert(
      service("default", "s0"),
      service("default", "s1"),
      service("default", "s2"),
      tlsSecret("default", "tls", cert),
      ingress("default", "i0", { tls: [{ hosts: ["a.example.com"], secretName: "tls" }], rules: [rule("a.example.com", [["/", "Prefix", "s0", 80]])] }),
      i1("/"),
      simpleRoot("default", "p0", "c.example.com", "s2"),
    );
    const before = build();
    expect(builder.last?.mode).toBe("full");
    const i0 = { kind: "Ingress", namespace: "default", name: "i0" };
    const p0 = { kind: "HTTPProxy", namespace: "default", name: "p0" };
    const kept = (dag: Dag) => ({
      plain: dag.virtualHosts.get("a.example.com"),
      secure: dag.secureVirtualHosts.get("a.example.com"),
      proxyHost: dag.virtualHosts.get("c.example.com"),
      route: dag.virtualHosts.get("a.example.com")?.routes[0],
      cluster: dag.virtualHosts.get("a.example.com")?.routes[0]?.clusters[0]?.cluster,
      secret: dag.secureVirtualHosts.get("a.example.com")?.secret,
      ingressStatus: dag.status.get(i0),
      proxyStatus: dag.status.get(p0),
    });
    const first = kept(before);
    for (const node of Object.values(first)) expect(node).toBeDefined();
    expect(before.clusters.get(first.cluster!.name)).toBe(first.cluster!);

    // Another Ingress's path, then the Service only that Ingress reads: one unit rebuilt, the rest as it was.
    upsert(i1("/v2"));
    const afterEdit = build();
    expect(builder.last).toEqual({ mode: "incremental", rebuilt: 1 });
    expect(afterEdit.virtualHosts.get("b.example.com")!.routes[0]!.pathMatch).toEqual({ kind: "prefix", value: "/v2", segment: true });
    expect(afterEdit.virtualHosts.get("b.example.com")).not.toBe(before.virtualHosts.get("b.example.com"));
    const second = kept(afterEdit);
    for (const [node, object] of Object.entries(first)) expect(second[node as keyof typeof second] === object).toBe(true);
    expect(afterEdit.clusters.get(first.cluster!.name)).toBe(first.cluster!);
    expect(afterEdit.secrets.get(first.secret!.name)).toBe(first.secret!);

    upsert(service("default", "s1", { ports: [{ port: 80, name: "web" }] }));
    const afterService = build();
    expect(builder.last).toEqual({ mode: "incremental", rebuilt: 1 });
    const third = kept(afterService);
    for (const [node, object] of Object.entries(first)) expect(third[node as keyof typeof third] === object).toBe(true);
    // The earlier DAGs were not changed by the later builds.
    expect(before.virtualHosts.get("b.example.com")!.routes[0]!.pathMatch).toEqual({ kind: "prefix", value: "/", segment: false });

    // A Service nobody reads: nothing rebuilt. An HTTPProxy: its own unit only, the Ingresses' nodes kept.
    upsert(service("default", "unused"));
    build();
    expect(builder.last).toEqual({ mode: "incremental", rebuilt: 0 });
    upsert(simpleRoot("default", "p0", "c.example.com", "s0"));
    const afterProxy = build();
    expect(builder.last).toEqual({ mode: "incremental", rebuilt: 1 });
    expect(afterProxy.virtualHosts.get("c.example.com")).not.toBe(first.proxyHost);
    expect(afterProxy.virtualHosts.get("a.example.com")).toBe(first.plain!);
    expect(afterProxy.status.get(i0)).toBe(first.ingressStatus!);
    // Both now send to s0 port 80 with the same settings: one cluster object, the one made first.
    expect(afterProxy.virtualHosts.get("c.example.com")!.routes[0]!.clusters[0]!.cluster).toBe(first.cluster!);
  });
});

describe("incremental build: the clock", () => {
  test("once a certificate it read expires (or becomes valid), the next build is full and says so, as a full rebuild would", async () => {
    const cert = await selfSignedCertificate("a.example.com", { notBefore: new Date("2026-01-01T00:00:00Z"), notAfter: new Date("2026-03-01T00:00:00Z") });
    const later = await selfSignedCertificate("b.example.com", { notBefore: new Date("2026-05-01T00:00:00Z"), notAfter: new Date("2027-01-01T00:00:00Z") });
    let now = new Date("2026-02-01T00:00:00Z");
    const options = testOptions({ cache: createDagCache(), now: () => now });
    const cache = createObjectCache({ ingressClassNames: [] });
    const builder = createIncrementalDagBuilder();
    const build = () => buildResources(cache, { dag: options, buildDag: (input, dagOptions) => builder.build(input, dagOptions, cache.takeChanges()) });
    const upsert = (...objects: KubeObject[]) => cache.applyAll(objects.map((object) => ({ type: "upsert" as const, object })));
    const tlsIngress = (name: string, host: string, secretName: string) => ingress("default", name, { tls: [{ hosts: [host], secretName }], rules: [rule(host, [["/", "Prefix", "s0", 80]])] });
    upsert(service("default", "s0"), tlsSecret("default", "a", cert), tlsSecret("default", "b", later), tlsIngress("ia", "a.example.com", "a"), tlsIngress("ib", "b.example.com", "b"));
    build();
    expect(builder.last?.mode).toBe("full");
    upsert(service("default", "unrelated"));
    build();
    expect(builder.last?.mode).toBe("incremental");
    for (const [at, port] of [["2026-04-01T00:00:00Z", 81], ["2026-06-01T00:00:00Z", 82]] as const) {
      now = new Date(at);
      upsert(service("default", "unrelated", { ports: [{ port }] }));
      const incremental = build();
      expect(builder.last).toEqual({ mode: "full", reason: "a certificate's validity changed with the clock", rebuilt: 4 });
      expectSameBuild(incremental, buildResources(cache, { dag: options }));
    }
    // April: a's certificate expired, b's not yet valid; June: b's valid.
    expect(build().dag.secureVirtualHosts.has("b.example.com")).toBe(true);
    expect(builder.last?.mode).toBe("incremental");
  });
});

describe("incremental build: large units", () => {
  test("a unit serving many hosts, rebuilt between other units' hosts, keeps every list sorted as a full rebuild has it", () => {
    const options = testOptions({ cache: createDagCache() });
    const cache = createObjectCache({ ingressClassNames: [] });
    const builder = createIncrementalDagBuilder();
    const build = () => buildResources(cache, { dag: options, buildDag: (input, dagOptions) => builder.build(input, dagOptions, cache.takeChanges()) });
    const upsert = (...objects: KubeObject[]) => cache.applyAll(objects.map((object) => ({ type: "upsert" as const, object })));
    const hosts = Array.from({ length: 60 }, (_, i) => `h${String(i).padStart(2, "0")}.example.com`);
    // Even hosts are one Ingress's (one unit), odd ones HTTPProxy roots (a unit each).
    const big = (service: string, count: number) => ingress("default", "big", { rules: hosts.filter((_, i) => i % 2 === 0 && i < count).map((host) => rule(host, [["/", "Prefix", service, 80]])) });
    upsert(service("default", "s0"), service("default", "s1"), big("s0", 60));
    upsert(...hosts.flatMap((host, i) => (i % 2 === 1 ? [simpleRoot("default", `p${i}`, host, "s1")] : [])));
    expectSameBuild(build(), buildResources(cache, { dag: options }));
    for (const [service, count] of [["s1", 60], ["s0", 40], ["s1", 60]] as const) {
      upsert(big(service, count));
      expectSameBuild(build(), buildResources(cache, { dag: options }));
      expect(builder.last).toEqual({ mode: "incremental", rebuilt: 1 });
    }
    cache.applyAll([{ type: "delete", object: big("s0", 60) }]);
    expectSameBuild(build(), buildResources(cache, { dag: options }));
    expect(builder.last).toEqual({ mode: "incremental", rebuilt: 0 });
    upsert(big("s0", 60));
    expectSameBuild(build(), buildResources(cache, { dag: options }));
    expect(builder.last).toEqual({ mode: "incremental", rebuilt: 1 });
  });
});
