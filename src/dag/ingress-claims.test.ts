// PathClaims against the plain reference it replaced: one Map keyed by host, plain/TLS and match text.
import { expect, test } from "bun:test";
import fc from "fast-check";
import { PathClaims, type PathClaim } from "./ingress-claims.ts";
import type { PathMatch, Route } from "./types.ts";

const match: fc.Arbitrary<PathMatch> = fc.oneof(
  fc.record({ kind: fc.constant("exact" as const), value: fc.constantFrom("/", "/a", "/b", "/a/") }),
  fc.record({ kind: fc.constant("regex" as const), value: fc.constantFrom("/a", "/.*") }),
  fc.record({ kind: fc.constant("prefix" as const), value: fc.constantFrom("/", "/a", "/b", "/c", "/d"), segment: fc.boolean() }),
);
const operation = fc.record({ host: fc.constantFrom("a.example.com", "b.example.com", "*"), secure: fc.boolean(), match, set: fc.boolean() });
const referenceKey = (host: string, secure: boolean, m: PathMatch) => `${secure ? "tls" : "plain"}\u0000${host}\u0000${m.kind}\u0000${m.value}\u0000${m.kind === "prefix" && m.segment}`;

test("claims are found by host, plain or TLS, and match as by their key text, however many a host has", () => {
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 120 }), (operations) => {
      const claims = new PathClaims();
      const reference = new Map<string, PathClaim>();
      operations.forEach((op, i) => {
        const key = referenceKey(op.host, op.secure, op.match);
        // A fresh match object each time: found by its content, not its identity.
        const given = { ...op.match } as PathMatch;
        if (op.set) {
          const claim: PathClaim = { ref: { kind: "Ingress", namespace: "ns", name: `i${i}` }, route: {} as Route };
          claims.set(op.host, op.secure, given, claim);
          reference.set(key, claim);
        } else expect(claims.get(op.host, op.secure, given)).toBe(reference.get(key));
      });
      for (const op of operations) expect(claims.get(op.host, op.secure, op.match)).toBe(reference.get(referenceKey(op.host, op.secure, op.match)));
    }),
    { numRuns: 300 },
  );
});
