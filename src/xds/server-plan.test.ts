import { describe, expect, test } from "bun:test";
import { createNamePool, createPlanner, emptySnapshot, sameNames, sameOrder } from "./server-plan.ts";
import { createSnapshotStore } from "./snapshot.ts";
import { installSdsScope } from "./sds-scope.ts";
import { TypeUrls, typeInfo } from "./types.ts";
import { resourceSet } from "../../test/helpers/xds-resources.ts";

const node = { id: "n", cluster: "c" };
const eds = typeInfo(TypeUrls.endpoint)!;
const cds = typeInfo(TypeUrls.cluster)!;

describe("name pool", () => {
  test("the same names in the same order are one shared set; another order or other names are not", () => {
    const pool = createNamePool();
    const a = pool.intern(["x", "y"]);
    expect(pool.intern(["x", "y"])).toBe(a);
    expect([...a]).toEqual(["x", "y"]);
    const reordered = pool.intern(["y", "x"]);
    expect(reordered).not.toBe(a);
    expect(sameNames(reordered, a)).toBe(true);
    expect(sameNames(pool.intern(["x"]), a)).toBe(false);
  });

  test("a name listed twice counts once, and the list shares the set of the list without it", () => {
    const pool = createNamePool();
    const plain = pool.intern(["a", "b"]);
    const doubled = pool.intern(["a", "b", "a"]);
    expect(doubled).toBe(plain);
    expect([...doubled]).toEqual(["a", "b"]);
  });

  test("names holding the key separator do not collide with other lists", () => {
    const pool = createNamePool();
    const a = pool.intern(["a\u0000b", "c"]);
    const b = pool.intern(["a", "b\u0000c"]);
    expect(b).not.toBe(a);
    expect([...b]).toEqual(["a", "b\u0000c"]);
    expect(sameOrder(a, ["a\u0000b", "c"])).toBe(true);
    expect(sameOrder(a, ["c", "a\u0000b"])).toBe(false);
  });
});

describe("planner", () => {
  test("clients with the same subscription share one selection per store version", () => {
    const store = createSnapshotStore();
    store.publish(resourceSet(3));
    const planner = createPlanner(store);
    const pool = createNamePool();
    const names = pool.intern([...store.resources(TypeUrls.endpoint).keys()]);
    const first = planner.select(node, eds, { wildcard: false, names });
    expect(planner.select({ id: "other", cluster: "c" }, eds, { wildcard: false, names: pool.intern([...names]) })).toBe(first);
    expect(first.whole).toBe(true);
    const partial = planner.select(node, eds, { wildcard: false, names: pool.intern([[...names][0]!, "missing"]) });
    expect(partial.whole).toBe(false);
    expect(partial.resources.map((r) => r.name)).toEqual([[...names][0]!]);
    expect(planner.select(node, cds, { wildcard: true, names: new Set() }).resources).toHaveLength(store.resources(TypeUrls.cluster).size);
    store.publish(resourceSet(2));
    expect(planner.select(node, eds, { wildcard: false, names }).resources).toHaveLength(2);
  });

  test("a difference is computed once per held snapshot and names what changed and what went", () => {
    const store = createSnapshotStore();
    store.publish(resourceSet(3));
    const planner = createPlanner(store);
    const before = store.resources(TypeUrls.endpoint);
    const initial = planner.diff(TypeUrls.endpoint, emptySnapshot);
    expect(initial.updateNames).toEqual([...before.keys()]);
    expect(initial.removed).toEqual([]);
    expect(planner.diff(TypeUrls.endpoint, emptySnapshot)).toBe(initial);
    const set = resourceSet(2);
    const changed = set.endpoints[0] as { cluster_name: string; endpoints: unknown[] };
    changed.endpoints = [];
    store.publish(set);
    const diff = planner.diff(TypeUrls.endpoint, before);
    expect(diff.updateNames).toEqual([changed.cluster_name]);
    expect(diff.removed).toEqual([...before.keys()].filter((name) => !store.resources(TypeUrls.endpoint).has(name)));
    expect(diff.names).toEqual([...diff.updateNames, ...diff.removed]);
    expect(diff.to).toBe(store.resources(TypeUrls.endpoint));
    expect(planner.diff(TypeUrls.endpoint, before)).toBe(diff);
  });

  test("a type narrowed by a node view is selected per client, never shared or whole", () => {
    const store = createSnapshotStore();
    store.publish(resourceSet(2));
    installSdsScope(store);
    const planner = createPlanner(store);
    const secrets = typeInfo(TypeUrls.secret)!;
    const all = planner.select(node, secrets, { wildcard: true, names: new Set() });
    expect(all.whole).toBe(false);
    expect(planner.select(node, secrets, { wildcard: true, names: new Set() })).not.toBe(all);
  });
});
