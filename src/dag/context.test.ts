import { beforeAll, describe, expect, test } from "bun:test";
import { createBuildContext } from "./context.ts";
import { canonicalJson } from "./cluster-key.ts";
import type { Cluster } from "./types.ts";
import { delegation, fakeInput, secret, selfSignedCertificate, service, testOptions, tlsSecret } from "./testing.ts";
import type { TestCertificate } from "./testing.ts";

const ing = { kind: "Ingress", namespace: "team", name: "web" };
const other = { kind: "HTTPProxy", namespace: "team", name: "proxy" };

let cert: TestCertificate;
let expired: TestCertificate;
beforeAll(async () => {
  [cert, expired] = await Promise.all([
    selfSignedCertificate("foo.com"),
    selfSignedCertificate("old.com", { notBefore: new Date("2024-01-01T00:00:00Z"), notAfter: new Date("2025-01-01T00:00:00Z") }),
  ]);
});

describe("virtual hosts", () => {
  test("created on first use by lower-cased name, sources recorded once each", () => {
    const ctx = createBuildContext(fakeInput([]), testOptions());
    const a = ctx.virtualHost("Foo.COM", ing);
    const b = ctx.virtualHost("foo.com", other);
    ctx.virtualHost("foo.com", ing);
    expect(a).toBe(b);
    expect(a.name).toBe("foo.com");
    expect(a.sources).toEqual([ing, other]);
    expect([...ctx.dag.virtualHosts.keys()]).toEqual(["foo.com"]);
  });

  test("secure virtual hosts start at TLS 1.2–1.3, not passthrough, without a secret", () => {
    const ctx = createBuildContext(fakeInput([]), testOptions());
    const vhost = ctx.secureVirtualHost("*.Foo.com", ing);
    expect(vhost).toEqual({ name: "*.foo.com", routes: [], sources: [ing], minTlsVersion: "1.2", maxTlsVersion: "1.3", passthrough: false });
    expect(ctx.secureVirtualHost("*.foo.com", other)).toBe(vhost);
    expect(ctx.dag.virtualHosts.size).toBe(0);
  });
});

describe("clusters", () => {
  const settings = (overrides: Partial<Cluster> = {}): Omit<Cluster, "name" | "edsServiceName"> => ({
    service: { namespace: "ns", name: "web", port: 80, portName: "http" },
    protocol: "http1",
    loadBalancer: "RoundRobin",
    ...overrides,
  });

  test("equal settings share one cluster, whatever the key order", () => {
    const ctx = createBuildContext(fakeInput([]), testOptions());
    const a = ctx.cluster(settings());
    const b = ctx.cluster({ loadBalancer: "RoundRobin", protocol: "http1", service: { portName: "http", port: 80, name: "web", namespace: "ns" } });
    expect(a).toBe(b);
    expect(a.name).toMatch(/^ns\/web\/80\/[0-9a-f]{10}$/);
    expect(a.edsServiceName).toBe("ns/web/http");
    expect([...ctx.dag.clusters.values()]).toEqual([a]);
  });

  test("different settings, different cluster names; the EDS name is shared", () => {
    const ctx = createBuildContext(fakeInput([]), testOptions());
    const a = ctx.cluster(settings());
    const b = ctx.cluster(settings({ protocol: "h2" }));
    expect(a.name).not.toBe(b.name);
    expect(a.edsServiceName).toBe(b.edsServiceName);
    expect(ctx.dag.clusters.size).toBe(2);
  });

  test("names are stable across builds (same input, same name)", () => {
    const one = createBuildContext(fakeInput([]), testOptions()).cluster(settings({ circuitBreakers: { maxConnections: 3 } }));
    const two = createBuildContext(fakeInput([]), testOptions()).cluster(settings({ circuitBreakers: { maxConnections: 3 } }));
    expect(one.name).toBe(two.name);
  });

  test("the name is the hash of the canonical settings, whichever path finds the cluster", () => {
    const caSecret = { name: "ns/ca/12345678", ref: { kind: "Secret", namespace: "ns", name: "ca" }, certificateChain: "PEM", privateKey: "", kind: "ca" as const };
    const variants: Array<Omit<Cluster, "name" | "edsServiceName">> = [
      settings(),
      settings({ sni: "a|b", idleTimeoutMs: 5 }),
      settings({ sni: "a\"\\u2028é\\\\", connectTimeoutMs: 2.5, externalName: "x.example.com" }),
      settings({ sni: "a", idleTimeoutMs: 5 }),
      settings({ service: { namespace: "ns", name: "web", port: 80, portName: "http", targetPort: "80" } }),
      settings({ service: { namespace: "ns", name: "web", port: 80, portName: "http", targetPort: 80 } }),
      settings({ clientCertificate: caSecret }),
      settings({ validation: { caSecret, subjectNames: ["x"] } }),
      settings({ circuitBreakers: { maxConnections: 3 } }),
    ];
    const ctx = createBuildContext(fakeInput([]), testOptions());
    const first = variants.map((v) => ctx.cluster(v));
    expect(new Set(first.map((c) => c.name)).size).toBe(variants.length);
    for (const [i, v] of variants.entries()) {
      const hash = new Bun.CryptoHasher("sha256").update(canonicalJson(v)).digest("hex").slice(0, 10);
      expect(first[i]!.name).toBe(`ns/web/80/${hash}`);
      expect(ctx.cluster(structuredClone(v))).toBe(first[i]!);
      expect(ctx.cluster({ ...v, healthCheck: undefined, sni: v.sni })).toBe(first[i]!);
    }
    expect(ctx.dag.clusters.size).toBe(variants.length);
  });

  test("an unnamed port gives an EDS name with the port number", () => {
    const ctx = createBuildContext(fakeInput([]), testOptions());
    expect(ctx.cluster(settings({ service: { namespace: "ns", name: "web", port: 8080, portName: "" } })).edsServiceName).toBe("ns/web/8080");
  });

  test("canonical JSON sorts keys, drops undefined and names secrets by SDS name", () => {
    const caSecret = { name: "ns/ca/12345678", ref: { kind: "Secret", namespace: "ns", name: "ca" }, certificateChain: "PEM", privateKey: "", kind: "ca" as const };
    expect(canonicalJson({ b: 1, a: undefined, c: { validation: { caSecret, subjectNames: ["x"] } } })).toBe(
      '{"b":1,"c":{"validation":{"caSecret":"secret:ns/ca/12345678","subjectNames":["x"]}}}',
    );
  });
});

describe("secrets", () => {
  test("a valid TLS Secret in the same namespace is added to the DAG", () => {
    const ctx = createBuildContext(fakeInput([tlsSecret("team", "tls", cert)]), testOptions());
    const result = ctx.lookupTlsSecret("team", "tls", ing);
    if (!("ok" in result)) throw new Error(result.error.message);
    expect(ctx.dag.secrets.get(result.ok.name)).toBe(result.ok);
    expect(ctx.lookupTlsSecret("team", "tls", ing)).toEqual(result);
  });

  test("Contour's conditions: not found, invalid, delegation not permitted", () => {
    const ctx = createBuildContext(fakeInput([tlsSecret("team", "old", expired), tlsSecret("certs", "wild", cert)]), testOptions());
    expect(ctx.lookupTlsSecret("team", "missing", ing)).toEqual({
      error: { type: "TLSError", reason: "SecretNotValid", message: 'Spec.VirtualHost.TLS Secret "team/missing" is invalid: Secret not found' },
      cause: "Secret not found",
    });
    expect(ctx.lookupTlsSecret("team", "old", ing)).toEqual({
      error: {
        type: "TLSError",
        reason: "SecretNotValid",
        message: 'Spec.VirtualHost.TLS Secret "team/old" is invalid: certificate expired at 2025-01-01T00:00:00.000Z',
      },
      cause: "certificate expired at 2025-01-01T00:00:00.000Z",
    });
    expect(ctx.lookupTlsSecret("certs", "wild", ing)).toEqual({
      error: { type: "TLSError", reason: "DelegationNotPermitted", message: 'Spec.VirtualHost.TLS Secret "certs/wild" certificate delegation not permitted' },
      cause: "certificate delegation not permitted",
    });
    expect(ctx.dag.secrets.size).toBe(0);
  });

  test("a delegated Secret is usable from the target namespace; unchecked lookups skip delegation", () => {
    const ctx = createBuildContext(fakeInput([tlsSecret("certs", "wild", cert), delegation("certs", "d", "wild", ["team"])]), testOptions());
    expect("ok" in ctx.lookupTlsSecret("certs", "wild", ing)).toBe(true);
    expect("ok" in ctx.lookupTlsSecret("certs", "wild", { kind: "Ingress", namespace: "elsewhere", name: "x" })).toBe(false);
    expect("ok" in ctx.lookupTlsSecretUnchecked("certs", "wild")).toBe(true);
  });

  test("CA and CRL lookups phrase their causes as Contour does", () => {
    const ctx = createBuildContext(fakeInput([secret("team", "ca", { "ca.crt": cert.certificate }, "Opaque")]), testOptions());
    const ca = ctx.lookupCaSecret("team", "ca", ing);
    expect("ok" in ca && ca.ok.kind).toBe("ca");
    expect(ctx.lookupCaSecret("team", "nope", ing)).toEqual({
      error: { type: "TLSError", reason: "SecretNotValid", message: 'CA Secret "team/nope" is invalid: Secret not found' },
      cause: 'invalid CA Secret "team/nope": Secret not found',
    });
    const crl = ctx.lookupCrlSecret("other", "crl", ing);
    expect("error" in crl && crl.error.reason).toBe("DelegationNotPermitted");
  });

  test("the upstream client certificate is looked up once, when configured", () => {
    const without = createBuildContext(fakeInput([]), testOptions());
    expect(without.upstreamClientCertificate()).toBeUndefined();
    const ctx = createBuildContext(
      fakeInput([tlsSecret("projectcontour", "envoy-client", cert)]),
      testOptions({ upstreamClientCertificate: { namespace: "projectcontour", name: "envoy-client" } }),
    );
    const first = ctx.upstreamClientCertificate();
    expect(first && "ok" in first && first.ok.ref.name).toBe("envoy-client");
    expect(ctx.upstreamClientCertificate()).toBe(first);
  });
});

test("service lookups honour enableExternalNameService", () => {
  const input = fakeInput([service("ns", "ext", { type: "ExternalName", externalName: "api.example.com" })]);
  expect("error" in createBuildContext(input, testOptions()).lookupService("ns", "ext", 80)).toBe(true);
  expect("ok" in createBuildContext(input, testOptions({ enableExternalNameService: true })).lookupService("ns", "ext", 80)).toBe(true);
});

test("checkRegex accepts RE2 and refuses what RE2 lacks", () => {
  const ctx = createBuildContext(fakeInput([]), testOptions());
  expect(ctx.checkRegex("^/api/v[0-9]+/.*")).toBeUndefined();
  expect(ctx.checkRegex("^/(?=admin)")).toContain("lookaround");
  expect(ctx.checkRegex("(a")).toBeString();
});
