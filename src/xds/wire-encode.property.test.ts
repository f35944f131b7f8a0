// The fast JSON-to-wire encoder (wire-encode.ts) against its reference, encodeStrict: on every
// resource of the golden test cases, and on random edits of them (unknown fields, values of the wrong
// type or out of range, strings with any character), whatever it encodes is exactly what encodeStrict
// encodes; what it gives up on is left to encodeStrict.
import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { encodeStrict, lookupType } from "./registry.ts";
import { resourceTypes } from "./types.ts";
import { createWireEncoder } from "./wire-encode.ts";

const testdata = join(import.meta.dirname, "../../test/testdata");

/** Every resource of every golden case, with its type URL. */
function goldenResources(): Array<{ typeUrl: string; json: Record<string, unknown> }> {
  const out: Array<{ typeUrl: string; json: Record<string, unknown> }> = [];
  for (const dir of readdirSync(testdata, { withFileTypes: true })) {
    if (!dir.isDirectory()) continue;
    for (const info of resourceTypes) {
      let text: string;
      try {
        text = readFileSync(join(testdata, dir.name, `${info.kind}.json`), "utf8");
      } catch {
        continue;
      }
      for (const json of JSON.parse(text) as Array<Record<string, unknown>>) out.push({ typeUrl: info.typeUrl, json });
    }
  }
  return out;
}

function strict(typeUrl: string, json: object): string | Error {
  try {
    return Buffer.from(encodeStrict(typeUrl, json)).toString("hex");
  } catch (error) {
    return error as Error;
  }
}

/** `json` with the value at one random place of it replaced (or a key added there). */
function edited(json: unknown, path: number[], key: string, value: unknown): unknown {
  if (json === null || typeof json !== "object") return value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(json) ? [...json] : { ...(json as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (path.length === 0 || keys.length === 0) {
    if (Array.isArray(copy)) copy.push(value);
    else copy[key] = value;
    return copy;
  }
  const at = keys[path[0]! % keys.length]!;
  (copy as Record<string, unknown>)[at] = edited((copy as Record<string, unknown>)[at], path.slice(1), key, value);
  return copy;
}

describe("the fast wire encoder", () => {
  const resources = goldenResources();

  test("encodes every golden resource to encodeStrict's bytes", () => {
    const encoder = createWireEncoder();
    let fast = 0;
    for (const { typeUrl, json } of resources) {
      const bytes = encoder.encode(lookupType(typeUrl), json);
      if (!bytes) continue;
      fast++;
      expect(Buffer.from(bytes).toString("hex")).toBe(strict(typeUrl, json) as string);
      // As one entry of a resource: the field's tag and length, then the same bytes.
      const field = Buffer.from(encoder.encodeField(5, lookupType(typeUrl), json)!);
      expect(field.subarray(field.length - bytes.length).equals(Buffer.from(bytes))).toBe(true);
      expect(field[0]).toBe((5 << 3) | 2);
    }
    expect(resources.length).toBeGreaterThan(300);
    // Nearly all take the fast path (the rest: a Struct in an access log format, …).
    expect(fast).toBeGreaterThan(resources.length * 0.9);
  });

  test("on random edits, whatever it encodes is what encodeStrict encodes", () => {
    const encoder = createWireEncoder();
    const leaf = fc.oneof(
      fc.integer({ min: -(2 ** 33), max: 2 ** 33 }),
      fc.constantFrom(0, -1, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 53), 1.5, Number.NaN, Infinity, -0),
      fc.double(),
      fc.string({ unit: "binary", maxLength: 20 }),
      fc.constantFrom("1s", "0.250s", "-2s", "5m", "ROUND_ROBIN", "EDS", "AUTO", "type.googleapis.com/envoy.config.route.v3.Route", ""),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.constant([]),
      fc.constant({}),
      fc.constant({ value: 3 }),
      fc.constant({ "@type": "type.googleapis.com/google.protobuf.Duration", seconds: 1 }),
    );
    const key = fc.constantFrom("name", "value", "seconds", "nanos", "timeout", "prefix", "cluster", "domains", "no_such_field", "@type", "weight", "port_value");
    fc.assert(
      fc.property(fc.nat(resources.length - 1), fc.array(fc.nat(), { maxLength: 8 }), key, leaf, (index, path, name, value) => {
        const { typeUrl, json } = resources[index]!;
        const changed = edited(json, path, name, value) as object;
        const bytes = encoder.encode(lookupType(typeUrl), changed);
        if (!bytes) return;
        expect(Buffer.from(bytes).toString("hex")).toBe(strict(typeUrl, changed) as string);
      }),
      { numRuns: 3000 },
    );
  }, 60_000);
});
