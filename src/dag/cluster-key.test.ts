// The fast cluster keys agree with canonicalJson for every settings value, common or not, one
// instance used for many settings in a row (as a build uses it).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { canonicalJson, createClusterKeys, referenceClusterKeys, type ClusterSettings } from "./cluster-key.ts";

const scalar = fc.oneof(
  fc.string(),
  fc.constantFrom("app", "a\"b", "back\\slash", "ünïcode", "tab\t", ""),
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0),
);
/** Mostly a scalar, now and then what the fast path must refuse (an object, a list, a boolean, null). */
const value = fc.oneof({ weight: 8, arbitrary: scalar }, { weight: 1, arbitrary: fc.constantFrom(true, null, [1], { x: 1 }) }, { weight: 2, arbitrary: fc.constant(undefined) });
const secret = fc.record({ name: fc.string(), kind: fc.constantFrom("tls", "ca"), certificateChain: fc.string(), privateKey: fc.string(), ref: fc.constant({ kind: "Secret", namespace: "n", name: "s" }) });

const settings = fc.record(
  {
    service: fc.record({ namespace: value, name: value, port: value, portName: value, targetPort: value, extra: value }, { requiredKeys: ["namespace", "name", "port"] }),
    protocol: value,
    loadBalancer: value,
    externalName: value,
    sni: value,
    connectTimeoutMs: value,
    idleTimeoutMs: value,
    clientCertificate: fc.oneof(secret, fc.constant(undefined), fc.constant({ name: "not a secret" })),
    healthCheck: fc.oneof(fc.constant(undefined), fc.record({ path: fc.string(), intervalSeconds: fc.integer() })),
    circuitBreakers: fc.oneof(fc.constant(undefined), fc.record({ maxConnections: fc.integer() })),
  },
  { requiredKeys: ["service"] },
) as unknown as fc.Arbitrary<ClusterSettings>;

describe("cluster keys", () => {
  test("the fast keys are canonicalJson's, settings after settings", () => {
    fc.assert(
      fc.property(fc.array(settings, { minLength: 1, maxLength: 8 }), (all) => {
        const keys = createClusterKeys();
        for (const s of all) expect(keys.key(s)).toBe(referenceClusterKeys.key(s));
      }),
      { numRuns: 500 },
    );
  });

  test("the common settings take the fast path and still read as canonical JSON", () => {
    const s = { service: { namespace: "ns", name: "app", port: 80, portName: "http" }, protocol: "h2c", loadBalancer: "RoundRobin" } as ClusterSettings;
    expect(createClusterKeys().key(s)).toBe('{"loadBalancer":"RoundRobin","protocol":"h2c","service":{"name":"app","namespace":"ns","port":80,"portName":"http"}}');
    expect(createClusterKeys().key(s)).toBe(canonicalJson(s));
  });
});
