// BackendTLSPolicy, one behaviour per test: which policy a backend's Service port gets (sectionName
// first, the older of two on one target), CA bundles from several refs, what makes a policy
// invalid and its conditions, and which routes it applies to.
import { describe, expect, test } from "bun:test";
import { buildResources } from "../pipeline/build.ts";
import { createObjectCache } from "../pipeline/cache.ts";
import type { KubeObject } from "../sources/types.ts";
import { selfSignedCertificate, testOptions } from "./testing.ts";

const group = "gateway.networking.k8s.io";
const [caA, caB] = await Promise.all([selfSignedCertificate("ca-a"), selfSignedCertificate("ca-b")]);

const fixed: KubeObject[] = [
  { apiVersion: `${group}/v1`, kind: "GatewayClass", metadata: { name: "contour" }, spec: { controllerName: "projectcontour.io/gateway-controller" } },
  {
    apiVersion: `${group}/v1`,
    kind: "Gateway",
    metadata: { name: "web", namespace: "apps" },
    spec: { gatewayClassName: "contour", listeners: [{ name: "http", port: 80, protocol: "HTTP" }, { name: "tls", port: 443, protocol: "TLS", hostname: "db.example.com", tls: { mode: "Passthrough" } }] },
  },
  { apiVersion: "v1", kind: "Service", metadata: { name: "svc", namespace: "apps" }, spec: { ports: [{ name: "https", port: 443 }, { name: "admin", port: 8443 }] } },
  { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "ca-a", namespace: "apps" }, data: { "ca.crt": caA.certificate } },
  { apiVersion: "v1", kind: "Secret", metadata: { name: "ca-b", namespace: "apps" }, type: "Opaque", data: { "ca.crt": Buffer.from(caB.certificate).toString("base64") } },
];

function policy(name: string, validation: Record<string, unknown>, options: { sectionName?: string; created?: string; apiVersion?: string } = {}): KubeObject {
  return {
    apiVersion: `${group}/${options.apiVersion ?? "v1"}`,
    kind: "BackendTLSPolicy",
    metadata: { name, namespace: "apps", ...(options.created ? { creationTimestamp: options.created } : {}) },
    spec: { targetRefs: [{ group: "", kind: "Service", name: "svc", ...(options.sectionName ? { sectionName: options.sectionName } : {}) }], validation },
  };
}

const caRef = (kind: string, name: string, refGroup = "") => ({ group: refGroup, kind, name });
const route = (backendRefs: unknown[], extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: `${group}/v1`,
  kind: "HTTPRoute",
  metadata: { name: "app", namespace: "apps" },
  spec: { parentRefs: [{ name: "web", sectionName: "http" }], hostnames: ["app.example.com"], rules: [{ backendRefs, ...extra }] },
});

function build(objects: KubeObject[]) {
  const cache = createObjectCache({ ingressClassNames: [] });
  cache.applyAll([...fixed, ...objects].map((object) => ({ type: "upsert" as const, object })));
  const result = buildResources(cache, { dag: testOptions({ checkCrdSchema: true }) });
  const clusters = [...result.dag.clusters.values()];
  const tlsOf = (port: number) => {
    const cluster = clusters.find((c) => c.service.name === "svc" && c.service.port === port);
    return cluster && { protocol: cluster.protocol, sni: cluster.sni, subjectNames: cluster.validation?.subjectNames, uris: cluster.validation?.uriSubjectNames, ca: cluster.validation?.caSecret.certificateChain };
  };
  const conditions = (name: string) =>
    result.statuses.find((s) => s.ref.kind === "BackendTLSPolicy" && s.ref.name === name)?.ancestors?.flatMap((a) => a.conditions.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`));
  return { result, tlsOf, conditions };
}

describe("which policy applies", () => {
  test("a policy naming the port (sectionName) wins over one naming the Service; the other port gets the Service's; both are accepted", () => {
    const { tlsOf, conditions } = build([
      route([{ name: "svc", port: 443 }, { name: "svc", port: 8443 }]),
      policy("whole", { caCertificateRefs: [caRef("ConfigMap", "ca-a")], hostname: "svc.internal" }, { created: "2026-01-01T00:00:00Z" }),
      policy("admin", { caCertificateRefs: [caRef("Secret", "ca-b")], hostname: "admin.internal" }, { sectionName: "admin", created: "2026-02-01T00:00:00Z", apiVersion: "v1alpha3" }),
    ]);
    expect(tlsOf(443)).toMatchObject({ protocol: "tls", sni: "svc.internal", subjectNames: ["svc.internal"], ca: caA.certificate });
    expect(tlsOf(8443)).toMatchObject({ protocol: "tls", sni: "admin.internal", subjectNames: ["admin.internal"], ca: caB.certificate });
    expect(conditions("whole")?.[0]).toStartWith("Accepted=True Accepted");
    expect(conditions("admin")?.[0]).toStartWith("Accepted=True Accepted");
  });

  test("of two policies on one target the older applies, then the first by namespace/name; the other is Conflicted, naming it", () => {
    const same = "2026-01-01T00:00:00Z";
    const { tlsOf, conditions } = build([
      route([{ name: "svc", port: 443 }]),
      policy("b-policy", { caCertificateRefs: [caRef("ConfigMap", "ca-a")], hostname: "b.internal" }, { created: same }),
      policy("a-policy", { caCertificateRefs: [caRef("ConfigMap", "ca-a")], hostname: "a.internal" }, { created: same }),
      policy("older", { caCertificateRefs: [caRef("ConfigMap", "ca-a")], hostname: "older.internal" }, { sectionName: "https", created: "2025-01-01T00:00:00Z" }),
      policy("younger", { caCertificateRefs: [caRef("ConfigMap", "ca-a")], hostname: "younger.internal" }, { sectionName: "https", created: "2026-05-01T00:00:00Z" }),
    ]);
    expect(tlsOf(443)?.sni).toBe("older.internal");
    expect(conditions("younger")?.[0]).toBe("Accepted=False Conflicted: BackendTLSPolicy apps/older is older and targets the same Service apps/svc port https: it is the one applied");
    // The Service-wide pair is not reached by this route (the port has its own), so neither has our ancestor.
    expect([conditions("a-policy"), conditions("b-policy")]).toEqual([[], []]);
    const wide = build([route([{ name: "svc", port: 443 }]), policy("b-policy", { caCertificateRefs: [caRef("ConfigMap", "ca-a")], hostname: "b.internal" }, { created: same }), policy("a-policy", { caCertificateRefs: [caRef("ConfigMap", "ca-a")], hostname: "a.internal" }, { created: same })]);
    expect(wide.tlsOf(443)?.sni).toBe("a.internal");
    expect(wide.conditions("b-policy")?.[0]).toStartWith("Accepted=False Conflicted: BackendTLSPolicy apps/a-policy is older");
  });

  test("TLS and TCP routes' backends are left alone (their bytes are not ours to wrap); a mirror's Service gets the policy's TLS", () => {
    const { result, tlsOf } = build([
      route([{ name: "svc", port: 8443 }], { filters: [{ type: "RequestMirror", requestMirror: { backendRef: { name: "svc", port: 443 } } }] }),
      { apiVersion: `${group}/v1`, kind: "TLSRoute", metadata: { name: "db", namespace: "apps" }, spec: { parentRefs: [{ name: "web", sectionName: "tls" }], hostnames: ["db.example.com"], rules: [{ backendRefs: [{ name: "svc", port: 443 }] }] } },
      policy("whole", { caCertificateRefs: [caRef("ConfigMap", "ca-a")], hostname: "svc.internal" }),
    ]);
    const passthrough = result.dag.secureVirtualHosts.get("db.example.com")?.tcpProxy?.clusters[0]?.cluster;
    expect([passthrough?.protocol, passthrough?.validation]).toEqual(["http1", undefined]);
    expect(result.dag.virtualHosts.get("app.example.com")?.routes[0]?.mirrors[0]?.cluster).toMatchObject({ protocol: "tls", sni: "svc.internal" });
    expect(tlsOf(8443)?.sni).toBe("svc.internal");
  });
});

describe("CA bundles and validation", () => {
  test("several CA refs become one validation context holding each bundle; subjectAltNames replace the hostname as the names checked", () => {
    const { tlsOf } = build([
      route([{ name: "svc", port: 443 }]),
      policy("both", {
        caCertificateRefs: [caRef("ConfigMap", "ca-a"), caRef("Secret", "ca-b")],
        hostname: "svc.internal",
        subjectAltNames: [{ type: "Hostname", hostname: "svc.example.com" }, { type: "URI", uri: "spiffe://cluster.local/ns/apps/sa/svc" }],
      }),
    ]);
    const tls = tlsOf(443)!;
    expect(tls.ca).toBe(`${caA.certificate.trim()}\n${caB.certificate.trim()}\n`);
    expect([tls.sni, tls.subjectNames, tls.uris]).toEqual(["svc.internal", ["svc.example.com"], ["spiffe://cluster.local/ns/apps/sa/svc"]]);
  });

  test("one valid CA ref of two: applied with the valid one, ResolvedRefs False naming the other", () => {
    const { tlsOf, conditions } = build([route([{ name: "svc", port: 443 }]), policy("half", { caCertificateRefs: [caRef("ConfigMap", "nowhere"), caRef("ConfigMap", "ca-a")], hostname: "svc.internal" })]);
    expect(tlsOf(443)?.ca).toBe(caA.certificate);
    expect(conditions("half")).toEqual(["Accepted=True Accepted: Accepted BackendTLSPolicy", "ResolvedRefs=False InvalidCACertificateRef: caCertificateRef ConfigMap apps/nowhere not found"]);
  });

  test("no valid CA: NoValidCACertificate with InvalidKind or InvalidCACertificateRef, and the backend is not served (500)", () => {
    const cases: Array<[KubeObject[], Record<string, unknown>, string]> = [
      [[], { caCertificateRefs: [caRef("Bundle", "x", "example.com")] }, "ResolvedRefs=False InvalidKind: caCertificateRef example.com/Bundle x: only core ConfigMaps and Secrets (with ca.crt) are supported"],
      [[{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "empty", namespace: "apps" }, data: { "other.crt": "x" } }], { caCertificateRefs: [caRef("ConfigMap", "empty")] }, "ResolvedRefs=False InvalidCACertificateRef: caCertificateRef ConfigMap apps/empty has no ca.crt"],
      [[{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "junk", namespace: "apps" }, data: { "ca.crt": "not a certificate" } }], { caCertificateRefs: [caRef("ConfigMap", "junk")] }, "ResolvedRefs=False InvalidCACertificateRef: caCertificateRef ConfigMap apps/junk is invalid: invalid CA certificate bundle: failed to locate PEM block"],
      [[], { caCertificateRefs: [caRef("Secret", "absent")] }, "ResolvedRefs=False InvalidCACertificateRef: caCertificateRef Secret apps/absent: invalid CA Secret \"apps/absent\": Secret not found"],
    ];
    for (const [extra, validation, resolvedRefs] of cases) {
      const { result, conditions } = build([...extra, route([{ name: "svc", port: 443 }]), policy("bad", { ...validation, hostname: "svc.internal" })]);
      expect(conditions("bad")).toEqual(["Accepted=False NoValidCACertificate: no caCertificateRef is a valid CA bundle: see ResolvedRefs", resolvedRefs]);
      expect(result.dag.virtualHosts.get("app.example.com")?.routes[0]?.directResponse).toEqual({ statusCode: 500 });
    }
  });

  test("wellKnownCACertificates and an IP address as hostname are refused (Accepted False Invalid)", () => {
    const system = build([route([{ name: "svc", port: 443 }]), policy("system", { wellKnownCACertificates: "System", hostname: "svc.internal" })]);
    expect(system.conditions("system")?.[0]).toBe("Accepted=False Invalid: validation.wellKnownCACertificates System is not supported (as in Contour): name the CA bundle with validation.caCertificateRefs");
    const ip = build([route([{ name: "svc", port: 443 }]), policy("ip", { caCertificateRefs: [caRef("ConfigMap", "ca-a")], hostname: "10.0.0.1" })]);
    expect(ip.conditions("ip")?.[0]).toBe('Accepted=False Invalid: validation.hostname "10.0.0.1" must be a DNS name without a wildcard, not an IP address');
    expect(ip.result.statuses.find((s) => s.ref.kind === "HTTPRoute")?.warnings.map((w) => w.reason)).toEqual(["BackendTLSPolicyNotApplied"]);
  });
});
