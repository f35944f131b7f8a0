// Each hand-optimised path of the xDS layer against its plain reference, on generated input: the
// field reader (wire-fields.ts), shared name-list decoding (server-wire.ts), entry-by-entry encoding
// (resource-encoding.ts) and XOR type versions (type-version.ts, as the store keeps them).
import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import protobuf from "protobufjs";
import { encodeStrict } from "./registry.ts";
import { encodeResource } from "./resource-encoding.ts";
import { createRequestDecoder, DeltaDiscoveryRequest, DiscoveryRequest } from "./server-wire.ts";
import { createSnapshotStore } from "./snapshot.ts";
import { typeVersionOf } from "./type-version.ts";
import { typeInfo, TypeUrls } from "./types.ts";
import { createFieldReader, readFieldPlain } from "./wire-fields.ts";
import { loadAssignment, resourceSet } from "../../test/helpers/xds-resources.ts";

const wireField = fc.oneof(
  fc.record({ kind: fc.constant("varint" as const), id: fc.integer({ min: 1, max: 2 ** 29 - 1 }), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
  fc.record({ kind: fc.constant("bytes" as const), id: fc.integer({ min: 1, max: 2 ** 29 - 1 }), value: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant("fixed32" as const), id: fc.integer({ min: 1, max: 2 ** 29 - 1 }), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
  fc.record({ kind: fc.constant("fixed64" as const), id: fc.integer({ min: 1, max: 2 ** 29 - 1 }), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
);

function encodeFields(fields: ReadonlyArray<{ kind: string; id: number; value: number | Uint8Array }>): Uint8Array {
  const writer = protobuf.Writer.create();
  for (const field of fields) {
    if (field.kind === "varint") writer.uint32((field.id << 3) >>> 0).uint32(field.value as number);
    else if (field.kind === "bytes") writer.uint32(((field.id << 3) | 2) >>> 0).bytes(field.value as Uint8Array);
    else if (field.kind === "fixed32") writer.uint32(((field.id << 3) | 5) >>> 0).fixed32(field.value as number);
    else writer.uint32(((field.id << 3) | 1) >>> 0).fixed64(field.value as number);
  }
  return writer.finish();
}

describe("fast paths agree with their references", () => {
  test("the field reader reads what protobufjs's Reader reads, at every field and on any truncation", () => {
    fc.assert(
      fc.property(fc.array(wireField, { maxLength: 12 }), fc.nat(), (fields, cut) => {
        const bytes = encodeFields(fields);
        const reader = createFieldReader();
        let offset = 0;
        for (let i = 0; i < fields.length; i++) {
          const plain = readFieldPlain(bytes, offset);
          expect(plain).toBeDefined();
          expect({ ...reader.read(bytes, offset)! }).toEqual(plain!);
          offset = plain!.end;
        }
        expect(offset).toBe(bytes.length);
        // A truncated message: both read the same field or both refuse it.
        const truncated = bytes.subarray(0, bytes.length === 0 ? 0 : cut % bytes.length);
        const fast = reader.read(truncated, 0);
        expect(fast ? { ...fast } : undefined).toEqual(readFieldPlain(truncated, 0));
      }),
      { numRuns: 300 },
    );
  });

  test("a decoder sharing long name lists decodes every request as protobufjs does, however often it is sent", () => {
    const name = fc.stringMatching(/^[a-z0-9/._-]{1,40}$/);
    const request = fc.record({
      names: fc.array(name, { maxLength: 120 }),
      nonce: fc.stringMatching(/^[0-9]{0,4}$/),
      version: fc.stringMatching(/^[0-9a-f]{0,16}$/),
      repeat: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 6 }), (requests) => {
        const decoder = createRequestDecoder({ cacheEntries: 2 });
        for (const { names, nonce, version, repeat } of requests) {
          const sotw = Buffer.from(DiscoveryRequest.encode(DiscoveryRequest.fromObject({ type_url: TypeUrls.endpoint, resource_names: names, response_nonce: nonce, version_info: version })).finish());
          const delta = Buffer.from(DeltaDiscoveryRequest.encode(DeltaDiscoveryRequest.fromObject({ type_url: TypeUrls.endpoint, resource_names_subscribe: names, response_nonce: nonce })).finish());
          for (let i = 0; i < repeat; i++) {
            expect(DiscoveryRequest.toObject(decoder.sotw(Buffer.from(sotw)) as never)).toEqual(DiscoveryRequest.toObject(DiscoveryRequest.decode(sotw)));
            expect(DeltaDiscoveryRequest.toObject(decoder.delta(Buffer.from(delta)) as never)).toEqual(DeltaDiscoveryRequest.toObject(DeltaDiscoveryRequest.decode(delta)));
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  test("a large resource encoded entry by entry, reusing its previous version's entries, is the bytes of encoding it whole", () => {
    const info = typeInfo(TypeUrls.route)!;
    const host = fc.record({ name: fc.stringMatching(/^[a-z]{1,8}$/), timeout: fc.integer({ min: 1, max: 30 }), prefix: fc.stringMatching(/^\/[a-z]{0,6}$/) });
    const config = (hosts: Array<{ name: string; timeout: number; prefix: string }>) => ({
      name: "big",
      virtual_hosts: hosts.map((h, i) => ({ name: `${h.name}-${i}`, domains: [`${h.name}.example.com`], routes: [{ match: { prefix: h.prefix }, route: { cluster: "c", timeout: `${h.timeout}s` } }] })),
      validate_clusters: false,
    });
    fc.assert(
      fc.property(fc.array(host, { minLength: 28, maxLength: 60 }), fc.array(host, { minLength: 28, maxLength: 60 }), (first, second) => {
        const before = encodeResource(info, config(first));
        const lent = { name: "big", version: "", bytes: before.bytes, json: {}, entries: before.entries };
        for (const [hosts, previous] of [[first, undefined], [second, lent]] as const) {
          const json = config(hosts);
          const { bytes } = encodeResource(info, json, { before: previous });
          expect(Buffer.from(bytes).equals(Buffer.from(encodeStrict(TypeUrls.route, json)))).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });

  test("the store's XOR type version, kept per change, is the XOR of the versions it serves", () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("publish" as const), size: fc.integer({ min: 1, max: 6 }), seed: fc.nat(3) }),
      fc.record({ kind: fc.constant("endpoints" as const), changed: fc.array(fc.nat(5), { maxLength: 4 }), port: fc.integer({ min: 1, max: 3 }), removed: fc.array(fc.nat(5), { maxLength: 2 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 10 }), (steps) => {
        const store = createSnapshotStore();
        for (const s of steps) {
          if (s.kind === "publish") {
            const set = resourceSet(s.size);
            set.endpoints = Array.from({ length: s.size }, (_, i) => loadAssignment(`cluster-${i}`, [9000 + s.seed]));
            store.publish(set);
          } else if (store.published) {
            // Only assignments no cluster needs may go; changed ones stay.
            const held = new Set(store.resources(TypeUrls.endpoint).keys());
            const changed = s.changed.map((i) => loadAssignment(`cluster-${i}`, [9000 + s.port]));
            try {
              store.updateEndpoints(changed, s.removed.map((i) => `cluster-${i}`).filter((name) => held.has(name)));
            } catch {
              // A removal a cluster still needs is refused whole: nothing changes.
            }
          }
          for (const type of [TypeUrls.cluster, TypeUrls.endpoint, TypeUrls.listener, TypeUrls.route, TypeUrls.secret]) {
            if (!store.published) continue;
            expect(store.version(type)).toBe(typeVersionOf([...store.resources(type).values()].map((r) => r.version)));
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
