// CopyOnWriteMap against a plain Map: over random sets and deletes, through chains of views (and the
// flattening of long ones), every view reads as the Map it stands for, and no view's changes reach
// the maps it was made from.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CopyOnWriteMap } from "./cow-map.ts";

const op = fc.oneof(fc.tuple(fc.constant("set" as const), fc.nat(300), fc.nat()), fc.tuple(fc.constant("delete" as const), fc.nat(300), fc.constant(0)));

function contents(map: ReadonlyMap<number, number>): Array<[number, number]> {
  const entries: Array<[number, number]> = [];
  map.forEach((value, key) => entries.push([key, value]));
  return entries.sort((a, b) => a[0] - b[0]);
}

describe("CopyOnWriteMap", () => {
  test("each view reads as a Map with its changes; earlier views and the base never change", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(300), { maxLength: 200 }), fc.array(fc.array(op, { maxLength: 80 }), { minLength: 1, maxLength: 40 }), (initial, rounds) => {
        const base = new Map(initial.map((key) => [key, key]));
        const baseBefore = contents(base);
        let view: Map<number, number> = base;
        let reference = new Map(base);
        const given: Array<{ map: Map<number, number>; entries: Array<[number, number]> }> = [];
        for (const round of rounds) {
          view = CopyOnWriteMap.over(view);
          reference = new Map(reference);
          for (const [kind, key, value] of round) {
            if (kind === "set") {
              expect(view.set(key, value)).toBe(view);
              reference.set(key, value);
            } else {
              expect(view.delete(key)).toBe(reference.delete(key));
            }
          }
          expect(view.size).toBe(reference.size);
          expect(contents(view)).toEqual(contents(reference));
          expect([...view].sort((a, b) => a[0] - b[0])).toEqual(contents(reference));
          expect([...view.keys()].sort((a, b) => a - b)).toEqual([...reference.keys()].sort((a, b) => a - b));
          expect([...view.values()].length).toBe(reference.size);
          for (let key = 0; key <= 300; key += 7) {
            expect(view.get(key)).toBe(reference.get(key));
            expect(view.has(key)).toBe(reference.has(key));
          }
          expect(contents(new Map(view))).toEqual(contents(reference));
          given.push({ map: view, entries: contents(view) });
        }
        expect(contents(base)).toEqual(baseBefore);
        for (const { map, entries } of given) expect(contents(map)).toEqual(entries);
      }),
      { numRuns: 200 },
    );
  });
});
