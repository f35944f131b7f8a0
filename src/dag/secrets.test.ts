import { beforeAll, describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import type { KubeObject } from "../sources/types.ts";
import { delegationPermitted, secretValue, validateSecret } from "./secrets.ts";
import { delegation, fakeInput, secret, selfSignedCertificate, testCrl, testNow, tlsSecret } from "./testing.ts";
import type { TestCertificate } from "./testing.ts";

let good: TestCertificate;
let other: TestCertificate;
let expired: TestCertificate;
let future: TestCertificate;
let crl: string;

beforeAll(async () => {
  [good, other, expired, future, crl] = await Promise.all([
    selfSignedCertificate("foo.com"),
    selfSignedCertificate("bar.com"),
    selfSignedCertificate("old.com", { notBefore: new Date("2024-01-01T00:00:00Z"), notAfter: new Date("2025-01-01T00:00:00Z") }),
    selfSignedCertificate("new.com", { notBefore: new Date("2027-01-01T00:00:00Z"), notAfter: new Date("2028-01-01T00:00:00Z") }),
    testCrl(),
  ]);
});

function errorOf(result: ReturnType<typeof validateSecret>): string {
  if (!("error" in result)) throw new Error("expected an error");
  return result.error;
}

describe("TLS secrets", () => {
  test("a valid certificate and key give a Secret with a content-hashed SDS name", () => {
    const result = validateSecret(tlsSecret("ns", "tls", good), { kind: "tls", now: testNow });
    if (!("ok" in result)) throw new Error(result.error);
    expect(result.ok.name).toMatch(/^ns\/tls\/[0-9a-f]{8}$/);
    expect(result.ok.ref).toEqual({ kind: "Secret", namespace: "ns", name: "tls" });
    expect(result.ok.certificateChain).toBe(good.certificate);
    expect(result.ok.privateKey).toBe(good.privateKey);
    expect(result.ok.kind).toBe("tls");
  });

  test("rotated content gets a new SDS name, equal content the same", () => {
    const a = validateSecret(tlsSecret("ns", "tls", good), { kind: "tls", now: testNow });
    const b = validateSecret(tlsSecret("ns", "tls", good), { kind: "tls", now: testNow });
    const c = validateSecret(tlsSecret("ns", "tls", other), { kind: "tls", now: testNow });
    if (!("ok" in a) || !("ok" in b) || !("ok" in c)) throw new Error("expected valid secrets");
    expect(a.ok.name).toBe(b.ok.name);
    expect(c.ok.name).not.toBe(a.ok.name);
  });

  test("stringData is read as well as base64 data", () => {
    const object: KubeObject = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { namespace: "ns", name: "s" },
      type: "kubernetes.io/tls",
      stringData: { "tls.crt": good.certificate, "tls.key": good.privateKey },
    };
    expect("ok" in validateSecret(object, { kind: "tls", now: testNow })).toBe(true);
    expect(secretValue(object, "tls.crt")).toBe(good.certificate);
  });

  test("a Secret of another type is refused", () => {
    const object = secret("ns", "s", { "tls.crt": good.certificate, "tls.key": good.privateKey }, "Opaque");
    expect(errorOf(validateSecret(object, { kind: "tls", now: testNow }))).toBe('Secret type is "Opaque", not "kubernetes.io/tls"');
  });

  test("missing certificate or key", () => {
    expect(errorOf(validateSecret(secret("ns", "s", { "tls.key": good.privateKey }), { kind: "tls", now: testNow }))).toBe("missing TLS certificate");
    expect(errorOf(validateSecret(secret("ns", "s", { "tls.crt": good.certificate }), { kind: "tls", now: testNow }))).toBe("missing TLS private key");
  });

  test("a certificate that is not PEM, or a key block of the wrong type", () => {
    expect(errorOf(validateSecret(secret("ns", "s", { "tls.crt": "hello", "tls.key": good.privateKey }), { kind: "tls", now: testNow }))).toBe(
      "invalid TLS certificate: failed to locate PEM block",
    );
    const garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    expect(errorOf(validateSecret(secret("ns", "s", { "tls.crt": garbage, "tls.key": good.privateKey }), { kind: "tls", now: testNow }))).toStartWith(
      "invalid TLS certificate: ",
    );
    expect(errorOf(validateSecret(secret("ns", "s", { "tls.crt": good.certificate, "tls.key": good.certificate }), { kind: "tls", now: testNow }))).toBe(
      "invalid TLS private key: unexpected block type 'CERTIFICATE'",
    );
    const twoKeys = good.privateKey + other.privateKey;
    expect(errorOf(validateSecret(secret("ns", "s", { "tls.crt": good.certificate, "tls.key": twoKeys }), { kind: "tls", now: testNow }))).toBe(
      "invalid TLS private key: multiple private keys",
    );
  });

  test("a key that does not match the certificate is refused", () => {
    const object = secret("ns", "s", { "tls.crt": good.certificate, "tls.key": other.privateKey });
    expect(errorOf(validateSecret(object, { kind: "tls", now: testNow }))).toBe("TLS private key does not match the certificate's public key");
  });

  test("an expired certificate, and one not yet valid, are refused at the given time", () => {
    expect(errorOf(validateSecret(tlsSecret("ns", "old", expired), { kind: "tls", now: testNow }))).toBe("certificate expired at 2025-01-01T00:00:00.000Z");
    expect(errorOf(validateSecret(tlsSecret("ns", "new", future), { kind: "tls", now: testNow }))).toBe("certificate is not valid before 2027-01-01T00:00:00.000Z");
    // The same objects are valid at another instant: expiry is checked against the clock, not cached.
    expect("ok" in validateSecret(tlsSecret("ns", "old", expired), { kind: "tls", now: new Date("2024-06-01T00:00:00Z") })).toBe(true);
  });
});

describe("CA and CRL secrets", () => {
  test("a CA bundle from ca.crt, in an Opaque Secret", () => {
    const result = validateSecret(secret("ns", "ca", { "ca.crt": good.certificate + other.certificate }, "Opaque"), { kind: "ca", now: testNow });
    if (!("ok" in result)) throw new Error(result.error);
    expect(result.ok.kind).toBe("ca");
    expect(result.ok.privateKey).toBe("");
    expect(result.ok.certificateChain).toBe(good.certificate + other.certificate);
  });

  test("a CA Secret without ca.crt, or with something else in it", () => {
    expect(errorOf(validateSecret(secret("ns", "ca", {}, "Opaque"), { kind: "ca", now: testNow }))).toBe("empty CA certificate bundle");
    expect(errorOf(validateSecret(secret("ns", "ca", { "ca.crt": good.privateKey }, "Opaque"), { kind: "ca", now: testNow }))).toBe(
      "invalid CA certificate bundle: unexpected block type 'PRIVATE KEY'",
    );
  });

  test("a CRL from crl.pem", () => {
    const result = validateSecret(secret("ns", "crl", { "crl.pem": crl }, "Opaque"), { kind: "crl", now: testNow });
    if (!("ok" in result)) throw new Error(result.error);
    expect(result.ok.kind).toBe("crl");
    expect(result.ok.certificateChain).toBe(crl);
    expect(errorOf(validateSecret(secret("ns", "crl", { "crl.pem": good.certificate }, "Opaque"), { kind: "crl", now: testNow }))).toBe(
      "invalid CRL: unexpected block type 'CERTIFICATE'",
    );
    // Envoy reads only the "X509 CRL" label.
    const relabelled = crl.replaceAll("X509 CRL", "CRL");
    expect(errorOf(validateSecret(secret("ns", "crl", { "crl.pem": relabelled }, "Opaque"), { kind: "crl", now: testNow }))).toBe(
      "invalid CRL: unexpected block type 'CRL'",
    );
  });

  test("the same Secret used as TLS and as CA gets two SDS names", () => {
    const object = secret("ns", "both", { "tls.crt": good.certificate, "tls.key": good.privateKey, "ca.crt": other.certificate });
    const tls = validateSecret(object, { kind: "tls", now: testNow });
    const ca = validateSecret(object, { kind: "ca", now: testNow });
    if (!("ok" in tls) || !("ok" in ca)) throw new Error("expected valid secrets");
    expect(tls.ok.name).not.toBe(ca.ok.name);
  });
});

describe("TLSCertificateDelegation", () => {
  test("the same namespace needs no delegation", () => {
    expect(delegationPermitted(fakeInput([]), { namespace: "a", name: "s", targetNamespace: "a" })).toBe(true);
  });

  test("another namespace needs a delegation of that Secret to it", () => {
    const input = fakeInput([delegation("certs", "d", "wild", ["team-a"])]);
    expect(delegationPermitted(input, { namespace: "certs", name: "wild", targetNamespace: "team-a" })).toBe(true);
    expect(delegationPermitted(input, { namespace: "certs", name: "wild", targetNamespace: "team-b" })).toBe(false);
    expect(delegationPermitted(input, { namespace: "certs", name: "other", targetNamespace: "team-a" })).toBe(false);
  });

  test("with the CRD schema checked (manifest mode), a delegation that fails it grants nothing", () => {
    const bad = delegation("certs", "d", "wild", ["team-a"]);
    (bad.spec as { delegations: Array<Record<string, unknown>> }).delegations[0]!.targetNamespace = "team-b"; // misspelled field
    const input = fakeInput([bad]);
    expect(delegationPermitted(input, { namespace: "certs", name: "wild", targetNamespace: "team-a", checkCrdSchema: true })).toBe(false);
    expect(delegationPermitted(input, { namespace: "certs", name: "wild", targetNamespace: "team-a" })).toBe(true); // from a cluster: the API server judged it
    expect(delegationPermitted(fakeInput([delegation("certs", "d", "wild", ["team-a"])]), { namespace: "certs", name: "wild", targetNamespace: "team-a", checkCrdSchema: true })).toBe(true);
  });

  test("a delegation in another namespace than the Secret's does not count", () => {
    const input = fakeInput([delegation("team-a", "d", "wild", ["team-a"])]);
    expect(delegationPermitted(input, { namespace: "certs", name: "wild", targetNamespace: "team-a" })).toBe(false);
  });

  test('"*" delegates to every namespace, and a secretName of "*" every Secret', () => {
    const input = fakeInput([delegation("certs", "d", "wild", ["*"]), delegation("shared", "d", "*", ["team-b"])]);
    expect(delegationPermitted(input, { namespace: "certs", name: "wild", targetNamespace: "anyone" })).toBe(true);
    expect(delegationPermitted(input, { namespace: "shared", name: "whatever", targetNamespace: "team-b" })).toBe(true);
    expect(delegationPermitted(input, { namespace: "shared", name: "whatever", targetNamespace: "team-c" })).toBe(false);
  });
});

test("secretValue decodes base64 data", () => {
  const object = secret("ns", "s", { key: "välue" }, "Opaque");
  expect((object.data as Record<string, string>).key).toBe(Buffer.from("välue").toString("base64"));
  expect(secretValue(object, "key")).toBe("välue");
  expect(secretValue(object, "absent")).toBeUndefined();
});
