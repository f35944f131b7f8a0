import { describe, expect, test } from "bun:test";
import { Snapshot } from "./snapshot-value.ts";
import { createSnapshotStore } from "./snapshot.ts";
import { TypeUrls } from "./types.ts";
import { resourceSet } from "../../test/helpers/xds-resources.ts";

describe("Snapshot value", () => {
  test("a publish makes a new value beside the old one, which does not change; both are consistent", () => {
    const store = createSnapshotStore();
    expect(store.snapshot()).toBe(Snapshot.empty);
    store.publish(resourceSet(2));
    const first = store.snapshot();
    store.publish(resourceSet(3));
    const second = store.snapshot();
    expect(second).not.toBe(first);
    expect([...first.resources(TypeUrls.cluster).keys()]).toEqual(["cluster-0", "cluster-1"]);
    expect(second.resources(TypeUrls.cluster).size).toBe(3);
    expect(first.consistent() && second.consistent()).toBe(true);
    expect(second.version(TypeUrls.cluster)).toBe(store.version(TypeUrls.cluster));
  });

  test("a value missing what its resources name is not consistent, and says what dangles", () => {
    const store = createSnapshotStore();
    store.publish(resourceSet(1));
    const withoutEndpoints = store.snapshot().with([[TypeUrls.endpoint, { map: new Map(), mix: [0, 0] }]]);
    expect(withoutEndpoints.consistent()).toBe(false);
    expect(withoutEndpoints.dangling()).toEqual(["CDS cluster-0 names EDS load assignment cluster-0, which does not exist"]);
  });
});
