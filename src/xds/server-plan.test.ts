import { describe, expect, test } from "bun:test";
import { createKnownVersions } from "./known-versions.ts";
import { createNamePool, createPlanner, emptySnapshot, sameNames, sameOrder } from "./server-plan.ts";
import { createSnapshotStore, type CachedResource } from "./snapshot.ts";
import { installSdsScope } from "./sds-scope.ts";
import { TypeUrls, typeInfo } from "./types.ts";
import { loadAssignment, resourceSet } from "../../test/helpers/xds-resources.ts";

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

  test("selections and differences carried over a store change equal those computed afresh", () => {
    const store = createSnapshotStore();
    store.publish({ ...resourceSet(4), endpoints: [...resourceSet(4).endpoints, loadAssignment("spare-0"), loadAssignment("spare-1")] });
    const planner = createPlanner(store);
    const pool = createNamePool();
    const everything = pool.intern([...store.resources(TypeUrls.endpoint).keys()]);
    const some = pool.intern(["cluster-1", "spare-0", "absent"]);
    const steps: Array<() => void> = [
      () => store.updateEndpoints([loadAssignment("cluster-1", [9001])]),
      () => store.updateEndpoints([], ["spare-0"]),
      () => store.updateEndpoints([loadAssignment("spare-0", [5])]),
      () => store.updateEndpoints([loadAssignment("absent", [6]), loadAssignment("cluster-2", [7])], ["spare-1"]),
      () => store.updateEndpoints([loadAssignment("cluster-2", [7])]),
    ];
    for (const names of [everything, some]) planner.select(node, eds, { wildcard: false, names });
    for (const step of steps) {
      const before = store.resources(TypeUrls.endpoint);
      step();
      const fresh = createPlanner(store);
      for (const names of [everything, some]) {
        const carried = planner.select(node, eds, { wildcard: false, names });
        const computed = fresh.select(node, eds, { wildcard: false, names });
        expect(carried.whole).toBe(computed.whole);
        expect(carried.resources).toEqual(computed.resources);
      }
      const diff = planner.diff(TypeUrls.endpoint, before);
      const expected = fresh.diff(TypeUrls.endpoint, new Map(before));
      expect(new Set(diff.updateNames)).toEqual(new Set(expected.updateNames));
      expect(new Set(diff.removed)).toEqual(new Set(expected.removed));
      // The same resources (the same objects); their order within a response does not matter.
      const byName = (list: readonly { name: string }[]) => [...list].sort((a, b) => a.name.localeCompare(b.name));
      expect(byName(diff.updates)).toEqual(byName(expected.updates));
      for (const resource of diff.updates) expect(resource).toBe(store.resources(TypeUrls.endpoint).get(resource.name)!);
    }
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

describe("plan", () => {
  test("one plan for both protocols: a whole subscription shares the snapshot diff; a partial one is diffed on its own, with removals", () => {
    const store = createSnapshotStore();
    store.publish(resourceSet(3));
    const planner = createPlanner(store);
    const pool = createNamePool();
    // Everything, held nothing: the shared diff from the empty snapshot.
    const all = createKnownVersions();
    const first = planner.plan(node, eds, { wildcard: true, names: pool.intern([]) }, all);
    expect(first.shared).toBe(planner.diff(TypeUrls.endpoint, emptySnapshot));
    expect(first.updateNames.sort()).toEqual(["cluster-0", "cluster-1", "cluster-2"]);
    expect(all.exactBase()).toBe(store.resources(TypeUrls.endpoint));
    // Two names, one of which goes away: updates first, then the removal, then nothing.
    const some = createKnownVersions();
    const named = { wildcard: false, names: pool.intern(["cluster-1", "cluster-2"]) };
    expect(planner.plan(node, eds, named, some).updateNames).toEqual(["cluster-1", "cluster-2"]);
    store.updateEndpoints([loadAssignment("cluster-1", [9100])]);
    const changed = planner.plan(node, eds, named, some);
    expect([changed.updateNames, changed.removed]).toEqual([["cluster-1"], []]);
    const set = resourceSet(2);
    store.publish(set);
    const gone = planner.plan(node, eds, named, some);
    expect(gone.removed).toEqual(["cluster-2"]);
    const quiet = planner.plan(node, eds, named, some);
    expect([quiet.updates.length, quiet.removed.length]).toEqual([0, 0]);
    // A client's own view (held-back variants) never takes the shared path.
    const viewed = planner.plan(node, eds, { wildcard: true, names: pool.intern([]) }, createKnownVersions(), (r) => r);
    expect(viewed.shared).toBeUndefined();
    expect(viewed.everything).toBe(false);
  });

  test("a client with a pure view (VHDS shells) planned from what changed gets what the general path gives, step by step", () => {
    const store = createSnapshotStore();
    store.publish(resourceSet(6));
    const pool = createNamePool();
    const incremental = createPlanner(store);
    const reference = createPlanner(store);
    // Pure and deterministic per resource, as VHDS shells are: another object per resource, made once.
    const made = new WeakMap<object, CachedResource>();
    const view = (r: CachedResource): CachedResource => {
      let v = made.get(r);
      if (!v) made.set(r, (v = { ...r, version: `v-${r.version}` }));
      return v;
    };
    incremental.pureView(view);
    const fast = createKnownVersions();
    const slow = createKnownVersions();
    let subscription = { wildcard: true, names: pool.intern([]) };
    let random = 7;
    const next = (n: number) => ((random = (random * 1103515245 + 12345) % 2147483648), random % n);
    for (let step = 0; step < 200; step++) {
      const action = next(10);
      if (action < 4) store.updateEndpoints([loadAssignment(`cluster-${next(6)}`, [9000 + next(50)])]);
      else if (action === 4) store.publish(resourceSet(3 + next(4)));
      else if (action === 5) {
        // A NACK forgets a held resource in both.
        const name = `cluster-${next(6)}`;
        fast.delete(name);
        slow.delete(name);
      } else if (action === 6) subscription = next(2) === 0 ? { wildcard: true, names: pool.intern([]) } : { wildcard: false, names: pool.intern([`cluster-${next(6)}`, `cluster-${next(6)}`]) };
      // Sometimes a generation goes by unplanned (a client that was not reading).
      if (action === 7) continue;
      const a = incremental.plan(node, eds, subscription, fast, view);
      const b = reference.plan(node, eds, subscription, slow, view);
      const sorted = (plan: typeof a) => [plan.updates.map((r) => `${r.name}@${r.version}`).sort(), [...plan.removed].sort()];
      expect(sorted(a)).toEqual(sorted(b));
      expect(fast.names().sort()).toEqual(slow.names().sort());
      for (const name of slow.names()) expect(fast.get(name)).toBe(slow.get(name));
    }
    expect(fast.planned()).toBeDefined();
  });
});
