import { describe, expect, test } from "bun:test";
import { createKnownVersions } from "./server-common.ts";
import { createNamePool } from "./server-plan.ts";
import { changeNames, emptySubscription, replaceNames, startsWildcard } from "./subscription.ts";
import { typeInfo, TypeUrls } from "./types.ts";

const lds = typeInfo(TypeUrls.listener)!;
const eds = typeInfo(TypeUrls.endpoint)!;

describe("the subscription model", () => {
  test("LDS/CDS start wildcard when nothing is named; RDS/EDS/SDS only with '*'", () => {
    expect(startsWildcard(lds, [])).toBe(true);
    expect(startsWildcard(eds, [])).toBe(false);
    expect(startsWildcard(eds, ["*"])).toBe(true);
    expect(startsWildcard(lds, ["a"])).toBe(false);
  });

  test("state of the world: the legacy wildcard lasts while names stay empty; naming ends it and forgets the rest", () => {
    const pool = createNamePool();
    const held = createKnownVersions();
    const sub = emptySubscription();
    expect(replaceNames(sub, lds, { names: [], first: true }, pool, held)).toBe(true);
    expect(sub.wildcard).toBe(true);
    expect(replaceNames(sub, lds, { names: [], first: false }, pool, held)).toBe(false);
    held.set("a", "1");
    held.set("b", "1");
    expect(replaceNames(sub, lds, { names: ["a"], first: false }, pool, held)).toBe(true);
    expect(sub.wildcard).toBe(false);
    expect(held.names()).toEqual(["a"]);
    // Named nothing later: not wildcard again (only a first request is).
    replaceNames(sub, lds, { names: [], first: false }, pool, held);
    expect(sub.wildcard).toBe(false);
  });

  test("delta: subscribe and unsubscribe add up, '*' turns wildcard on and off, unsubscribed names are forgotten", () => {
    const pool = createNamePool();
    const held = createKnownVersions({ a: "1" });
    const sub = emptySubscription();
    expect(changeNames(sub, eds, { subscribe: ["a", "b"], unsubscribe: [], first: true }, pool, held)).toBe(true);
    expect(held.get("a")).toBe("1"); // initial_resource_versions stand on the first request
    expect(changeNames(sub, eds, { subscribe: ["c"], unsubscribe: ["a"], first: false }, pool, held)).toBe(true);
    expect([...sub.names]).toEqual(["b", "c"]);
    expect(held.get("a")).toBeUndefined();
    expect(changeNames(sub, eds, { subscribe: ["*"], unsubscribe: [], first: false }, pool, held)).toBe(true);
    expect(sub.wildcard).toBe(true);
    changeNames(sub, eds, { subscribe: [], unsubscribe: ["*"], first: false }, pool, held);
    expect(sub.wildcard).toBe(false);
    // The same names from another client share one interned set.
    const other = emptySubscription();
    changeNames(other, eds, { subscribe: ["b", "c"], unsubscribe: [], first: true }, pool, createKnownVersions());
    expect(other.names).toBe(sub.names);
  });
});
