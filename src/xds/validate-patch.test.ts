import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { TypeUrls, type ResourceSet } from "./types.ts";
import { createValidationMemo } from "./validate-memo.ts";
import { patchValidation, validationState } from "./validate-patch.ts";
import { validateSnapshot } from "./validate-snapshot.ts";
import { edsCluster, httpConnectionManager, httpListener, loadAssignment, routeConfig, tlsFilterChain, tlsSecret, virtualHost } from "./validate-testing.ts";

type Kind = "secrets" | "endpoints" | "clusters" | "routes" | "listeners";
type Json = Record<string, unknown>;

/** Two versions of each resource a set may hold, made once, so that two sets share the very objects they have in common. */
function pool(): Record<Kind, Map<string, [object, object]>> {
  const chainB = tlsFilterChain("b", "s1");
  const listener = (name: string, chains: object[]) => ({ ...(httpsLike as Json), name, filter_chains: chains });
  const httpsLike = { address: { socket_address: { address: "0.0.0.0", port_value: 8443 } }, listener_filters: [{ name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" } }] };
  return {
    secrets: new Map(["s0", "s1", "s2"].map((name) => [name, [tlsSecret(name), tlsSecret(name)]])),
    // The second version of a load assignment is invalid (a port out of range): its cluster must go with it.
    endpoints: new Map(["e0", "e1", "e2"].map((name) => [name, [loadAssignment(name), { ...(loadAssignment(name) as Json), endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: 70000 } } } }] }] }]])),
    clusters: new Map(
      ["c0", "c1", "c2"].map((name, i) => {
        const named = (service: string) => ({ ...(edsCluster(name) as Json), eds_cluster_config: { ...((edsCluster(name) as Json).eds_cluster_config as Json), service_name: service } });
        return [name, [named(`e${i}`), named(`e${(i + 1) % 3}`)]];
      }),
    ),
    routes: new Map(["https/a", "https/b", "ingress_http"].map((name) => [name, [routeConfig(name, 1), routeConfig(name, 2)]])),
    listeners: new Map([
      // The second version keeps the first's chain for b (the same object) and has another for a.
      ["l0", [listener("l0", [tlsFilterChain("a", "s0"), chainB]), listener("l0", [tlsFilterChain("a", "s2"), chainB])]],
      ["l1", [{ ...(httpListener() as Json), name: "l1" }, { ...(httpListener() as Json), name: "l1", filter_chains: [{ filters: [httpConnectionManager("https/b")] }] }]],
    ] as Array<[string, [object, object]]>),
  };
}

const kinds: Kind[] = ["secrets", "endpoints", "clusters", "routes", "listeners"];
/** Per kind and name: absent, or which version. */
const choice = fc.array(fc.constantFrom(undefined, 0, 1), { minLength: 3, maxLength: 3 });
const setChoice = fc.record(Object.fromEntries(kinds.map((kind) => [kind, choice])) as Record<Kind, typeof choice>);

function setOf(objects: ReturnType<typeof pool>, picked: Record<Kind, Array<0 | 1 | undefined>>): ResourceSet {
  const set = {} as ResourceSet;
  for (const kind of kinds) {
    // Each list sorted by name, as the translator gives it.
    set[kind] = [...objects[kind].entries()].flatMap(([, versions], i) => (picked[kind][i] === undefined ? [] : [versions[picked[kind][i]!]]));
  }
  return set;
}

function changedNames(before: ResourceSet, after: ResourceSet): Record<Kind, Set<string>> {
  const out = {} as Record<Kind, Set<string>>;
  for (const kind of kinds) {
    const field = kind === "endpoints" ? "cluster_name" : "name";
    const was = new Map((before[kind] as Json[]).map((r) => [r[field] as string, r]));
    const is = new Map((after[kind] as Json[]).map((r) => [r[field] as string, r]));
    out[kind] = new Set([...was.keys(), ...is.keys()].filter((name) => was.get(name) !== is.get(name)));
  }
  return out;
}

/** For each listener in both sets as another object: the last one and the chains the new one has anew (their other fields are the same objects). */
function chainChanges(before: ResourceSet, after: ResourceSet): Map<string, { previous: object; entries: object[] }> {
  const out = new Map<string, { previous: object; entries: object[] }>();
  for (const listener of after.listeners as Json[]) {
    const previous = (before.listeners as Json[]).find((l) => l.name === listener.name);
    if (!previous || previous === listener) continue;
    const old = new Set(previous.filter_chains as object[]);
    out.set(listener.name as string, { previous, entries: (listener.filter_chains as object[]).filter((chain) => !old.has(chain)) });
  }
  return out;
}

describe("patchValidation", () => {
  test("from the last outcome and the changed names, it gives validateSnapshot's outcome: dangling references caught, rejections as the reference words them", () => {
    fc.assert(
      fc.property(setChoice, fc.array(setChoice, { minLength: 1, maxLength: 5 }), (first, steps) => {
        const objects = pool();
        const memo = createValidationMemo();
        let set = setOf(objects, first);
        let state = validationState(set, validateSnapshot(set, { memo }))!;
        expect(state).toBeDefined();
        for (const step of steps) {
          const next = setOf(objects, step);
          const patched = patchValidation(state, next, changedNames(set, next), { memo, entryChanges: { listeners: chainChanges(set, next) } });
          const reference = validateSnapshot(next);
          expect(patched.validation.valid).toEqual(reference.valid);
          expect(patched.validation.rejected).toEqual(reference.rejected);
          state = patched.state;
          set = next;
        }
      }),
      { numRuns: 300 },
    );
  });

  test("a load assignment that goes while its cluster stays takes the cluster out, with the reference's reason", () => {
    const objects = pool();
    const memo = createValidationMemo();
    const all = { secrets: [0, 0, 0], endpoints: [0, 0, 0], clusters: [0, undefined, undefined], routes: [0, 0, 0], listeners: [0, 0] } as unknown as Record<Kind, Array<0 | 1 | undefined>>;
    const before = setOf(objects, all);
    const after = setOf(objects, { ...all, endpoints: [undefined, 0, 0] });
    const patched = patchValidation(validationState(before, validateSnapshot(before, { memo }))!, after, changedNames(before, after), { memo });
    expect(patched.validation.valid.clusters).toEqual([]);
    expect(patched.validation.rejected).toEqual([
      { typeUrl: TypeUrls.cluster, name: "c0", partial: false, errors: [{ path: "eds_cluster_config.service_name", rule: "snapshot.reference", message: 'load assignment "e0" is not in the snapshot' }] },
    ]);
    expect(patched.changed.clusters).toEqual(new Set(["c0"]));
  });

  test("a large route configuration changed in a few virtual hosts: only those are checked, and a broken one is still left out as the reference leaves it out", () => {
    const memo = createValidationMemo();
    const hosts = Array.from({ length: 12 }, (_, i) => virtualHost(`h${String(i).padStart(2, "0")}.example.com`, "default/web/80"));
    const route = { ...(routeConfig("ingress_http", 1) as Json), virtual_hosts: hosts };
    const set = (routes: object[]): ResourceSet => ({ secrets: [], endpoints: [loadAssignment("default/web/80")], clusters: [edsCluster("default/web/80")], routes, listeners: [httpListener()] });
    const before = set([route]);
    const state = validationState(before, validateSnapshot(before, { memo }))!;
    const check = (host: object) => {
      const changedRoute = { ...route, virtual_hosts: hosts.map((h, i) => (i === 3 ? host : h)) };
      const after = set([changedRoute]);
      const entriesBefore = memo.checked.entries;
      const patched = patchValidation(state, after, { routes: new Set(["ingress_http"]) }, { memo, entryChanges: { routes: new Map([["ingress_http", { previous: route, entries: [host] }]]) } });
      expect(patched.validation).toEqual(validateSnapshot(after));
      return memo.checked.entries - entriesBefore;
    };
    const good = virtualHost("h03.example.com", "default/api/80");
    expect(check(good)).toBe(1);
    const broken = virtualHost("h03.example.com", "default/web/80") as { routes: Json[] };
    broken.routes[0] = { match: { safe_regex: { regex: "^/a(?=b)" } }, route: { cluster: "default/web/80" } };
    check(broken);
  });
});
