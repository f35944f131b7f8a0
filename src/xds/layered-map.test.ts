import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mapWith } from "./layered-map.ts";

describe("mapWith", () => {
  test("reads as a copy of the previous map with the changes applied, version after version, layered or flat again", () => {
    const batch = fc.record({ set: fc.array(fc.tuple(fc.integer({ min: 0, max: 699 }), fc.integer()), { maxLength: 120 }), gone: fc.array(fc.integer({ min: 0, max: 699 }), { maxLength: 60 }) });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.array(batch, { maxLength: 12 }), (initial, batches) => {
        let reference = new Map(Array.from({ length: initial }, (_, i) => [`n${i}`, -i]));
        let layered: Map<string, number> = reference;
        const versions: Array<[Map<string, number>, Map<string, number>]> = [];
        for (const { set, gone } of batches) {
          const sets = new Map(set.map(([key, value]) => [`n${key}`, value]));
          const goneNames = gone.map((key) => `n${key}`).filter((name) => !sets.has(name));
          const next = new Map(reference);
          for (const name of goneNames) next.delete(name);
          for (const [name, value] of sets) next.set(name, value);
          layered = mapWith(layered, sets, goneNames);
          reference = next;
          versions.push([layered, reference]);
        }
        // Every version still reads as it did (a next version never changes the one before).
        for (const [map, expected] of versions) {
          expect(map.size).toBe(expected.size);
          expect([...map].sort()).toEqual([...expected].sort());
          expect(new Set(map.keys())).toEqual(new Set(expected.keys()));
          for (let i = 0; i < 700; i++) {
            expect(map.has(`n${i}`)).toBe(expected.has(`n${i}`));
            expect(map.get(`n${i}`)).toBe(expected.get(`n${i}`));
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  test("a layered map is read-only", () => {
    const map = mapWith(new Map([["a", 1]]), new Map([["b", 2]]), []);
    expect(() => map.set("c", 3)).toThrow(TypeError);
    expect(() => map.delete("a")).toThrow(TypeError);
    expect([...map.values()]).toEqual([1, 2]);
  });
});
