import { beforeAll, describe, expect, test } from "bun:test";
import type { KubeObject } from "../sources/types.ts";
import { delegation, secret, selfSignedCertificate, service, testCrl, tlsSecret, type TestCertificate } from "./testing.ts";
import { build, paths, proxy, routesOf, statusOf } from "./httpproxy-testing.ts";

let cert: TestCertificate;
let crl: string;
beforeAll(async () => {
  cert = await selfSignedCertificate("s.example.com");
  crl = await testCrl();
});

const svc = [{ name: "app", port: 80 }];
const errorsOf = (dag: ReturnType<typeof build>) => statusOf(dag, "roots", "s")?.errors;

function root(virtualhost: Record<string, unknown>, rest: Record<string, unknown> = { routes: [{ services: svc }] }): KubeObject {
  return proxy("roots", "s", { virtualhost: { fqdn: "s.example.com", ...virtualhost }, ...rest });
}

function world(extra: KubeObject[] = []): KubeObject[] {
  return [service("roots", "app"), tlsSecret("roots", "tls", cert), secret("roots", "ca", { "ca.crt": cert.certificate }, "Opaque"), ...extra];
}

describe("TLS virtual hosts", () => {
  test("termination: HTTPS routes route, plaintext routes redirect except permitInsecure and ACME challenges", () => {
    const dag = build([
      root(
        { tls: { secretName: "tls", minimumProtocolVersion: "1.3" } },
        {
          routes: [
            { conditions: [{ prefix: "/secure" }], services: svc },
            { conditions: [{ prefix: "/open" }], services: svc, permitInsecure: true },
            { conditions: [{ prefix: "/.well-known/acme-challenge/" }], services: svc },
          ],
        },
      ),
      ...world(),
    ]);
    expect(routesOf(dag, "s.example.com").map((r) => [r.pathMatch.value, r.httpsRedirect ?? false])).toEqual([
      ["/secure", true],
      ["/open", false],
      ["/.well-known/acme-challenge/", false],
    ]);
    const secure = dag.secureVirtualHosts.get("s.example.com")!;
    expect(secure.routes.map((r) => [r.pathMatch.value, r.httpsRedirect ?? false])).toEqual([
      ["/secure", false],
      ["/open", false],
      ["/.well-known/acme-challenge/", false],
    ]);
    expect(secure.secret?.ref).toEqual({ kind: "Secret", namespace: "roots", name: "tls" });
    expect([secure.minTlsVersion, secure.maxTlsVersion, secure.passthrough]).toEqual(["1.3", "1.3", false]);
    expect(statusOf(dag, "roots", "s")?.currentStatus).toBe("valid");
  });

  test("a Secret of another namespace needs a TLSCertificateDelegation", () => {
    const other = tlsSecret("certs", "wild", cert);
    const refused = build([root({ tls: { secretName: "certs/wild" } }), ...world([other])]);
    expect(errorsOf(refused)).toEqual([
      { type: "TLSError", reason: "DelegationNotPermitted", message: 'Spec.VirtualHost.TLS Secret "certs/wild" certificate delegation not permitted' },
    ]);
    expect(refused.secureVirtualHosts.size + refused.virtualHosts.size).toBe(0);
    const allowed = build([root({ tls: { secretName: "certs/wild" } }), ...world([other, delegation("certs", "d", "wild", ["*"])])]);
    expect(errorsOf(allowed)).toEqual([]);
    expect(allowed.secureVirtualHosts.get("s.example.com")?.secret?.ref.namespace).toBe("certs");
  });

  test("TLS configuration errors", () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ secretName: "missing" }, "SecretNotValid", 'Spec.VirtualHost.TLS Secret "missing" is invalid: Secret not found'],
      [{ secretName: "tls", passthrough: true }, "TLSConfigNotValid", "Spec.VirtualHost.TLS: both Passthrough and SecretName were specified"],
      [{}, "TLSConfigNotValid", "Spec.VirtualHost.TLS: neither Passthrough nor SecretName were specified"],
      [{ passthrough: true, clientValidation: { caSecret: "ca" } }, "TLSIncompatibleFeatures", "Spec.VirtualHost.TLS passthrough cannot be combined with tls.clientValidation"],
      [{ passthrough: true, enableFallbackCertificate: true }, "TLSIncompatibleFeatures", "Spec.VirtualHost.TLS: both Passthrough and enableFallbackCertificate were specified"],
      [{ secretName: "tls", minimumProtocolVersion: "1.3", maximumProtocolVersion: "1.2" }, "TLSConfigNotValid",
        "Spec.Virtualhost.TLS the minimum protocol version is greater than the maximum protocol version"],
      [{ secretName: "tls", enableFallbackCertificate: true, clientValidation: { caSecret: "ca" } }, "TLSIncompatibleFeatures", "Spec.Virtualhost.TLS fallback & client validation are incompatible"],
      [{ secretName: "tls", enableFallbackCertificate: true }, "FallbackNotPresent",
        "Spec.Virtualhost.TLS enabled fallback but the fallback Certificate Secret is not configured in Contour configuration file"],
      [{ secretName: "tls", clientValidation: {} }, "ClientValidationInvalid", "Spec.VirtualHost.TLS client validation is invalid: CA Secret must be specified"],
      [{ secretName: "tls", clientValidation: { caSecret: "nope" } }, "ClientValidationInvalid", 'Spec.VirtualHost.TLS client validation is invalid: invalid CA Secret "roots/nope": Secret not found'],
      [{ passthrough: true }, "TLSConfigNotValid", "Spec.VirtualHost.TLS passthrough requires Spec.TCPProxy to be set"],
      // Found by the differential fuzz: Envoy cannot load a CRL without a CA.
      [{ secretName: "tls", clientValidation: { skipClientCertValidation: true, crlSecret: "crl" } }, "ClientValidationInvalid", "Spec.VirtualHost.TLS client validation is invalid: a CRL Secret needs a CA Secret"],
    ];
    for (const [tls, reason, message] of cases) {
      const dag = build([root({ tls }), ...world()]);
      expect(errorsOf(dag)).toEqual([{ type: "TLSError", reason, message }]);
      expect(dag.secureVirtualHosts.size + dag.virtualHosts.size).toBe(0);
    }
  });

  test("client validation: CA, optional certificates, CRL, forwarded details; skip needs no CA", () => {
    const dag = build([
      root({
        tls: {
          secretName: "tls",
          clientValidation: {
            caSecret: "ca",
            optionalClientCertificate: true,
            crlSecret: "crl",
            crlOnlyVerifyLeafCert: true,
            forwardClientCertificate: { subject: true, cert: true, chain: false, dns: true, uri: false },
          },
        },
      }),
      ...world([secret("roots", "crl", { "crl.pem": crl }, "Opaque")]),
    ]);
    const validation = dag.secureVirtualHosts.get("s.example.com")?.downstreamValidation;
    expect(validation).toMatchObject({
      skipClientCertValidation: false,
      optionalClientCertificate: true,
      crlOnlyVerifyLeafCert: true,
      forwardClientCertificate: { subject: true, cert: true, chain: false, dns: true, uri: false },
    });
    expect(validation?.caSecret?.kind).toBe("ca");
    expect(validation?.crlSecret?.kind).toBe("crl");
    const skip = build([root({ tls: { secretName: "tls", clientValidation: { skipClientCertValidation: true } } }), ...world()]);
    expect(skip.secureVirtualHosts.get("s.example.com")?.downstreamValidation).toEqual({ skipClientCertValidation: true, optionalClientCertificate: false });
    const foreignCa = build([root({ tls: { secretName: "tls", clientValidation: { caSecret: "certs/ca" } } }), ...world([secret("certs", "ca", { "ca.crt": cert.certificate }, "Opaque")])]);
    expect(errorsOf(foreignCa)).toEqual([
      { type: "TLSError", reason: "DelegationNotPermitted", message: 'Spec.VirtualHost.TLS CA Secret "certs/ca" is invalid: certificate delegation not permitted' },
    ]);
  });

  test("fallback certificate: delegated to the proxy's namespace", () => {
    const fallback = tlsSecret("admin", "fallback", cert);
    const options = { fallbackCertificate: { namespace: "admin", name: "fallback" } };
    const refused = build([root({ tls: { secretName: "tls", enableFallbackCertificate: true } }), ...world([fallback])], options);
    expect(errorsOf(refused)).toEqual([
      { type: "TLSError", reason: "FallbackNotDelegated", message: 'Spec.VirtualHost.TLS Secret "admin/fallback" is not configured for certificate delegation' },
    ]);
    const dag = build([root({ tls: { secretName: "tls", enableFallbackCertificate: true } }), ...world([fallback, delegation("admin", "d", "fallback", ["*"])])], options);
    expect(dag.secureVirtualHosts.get("s.example.com")?.fallbackCertificate).toBe(true);
    expect(dag.fallbackSecret?.ref).toEqual({ kind: "Secret", namespace: "admin", name: "fallback" });
  });
});

describe("tcpproxy", () => {
  test("passthrough with services: weights, load balancing, TCP health checks", () => {
    const dag = build([
      root(
        { tls: { passthrough: true } },
        {
          tcpproxy: {
            services: [{ name: "app", port: 80, weight: 3 }, { name: "db", port: 5432 }],
            loadBalancerPolicy: { strategy: "Random" },
            healthCheckPolicy: { intervalSeconds: 7 },
          },
        },
      ),
      ...world([service("roots", "db", { ports: [{ port: 5432 }] })]),
    ]);
    const secure = dag.secureVirtualHosts.get("s.example.com")!;
    expect(secure.passthrough).toBe(true);
    expect(secure.secret).toBeUndefined();
    expect(secure.tcpProxy?.clusters.map((c) => [c.cluster.service.name, c.weight, c.cluster.loadBalancer])).toEqual([
      ["app", 3, "Random"],
      ["db", 1, "Random"],
    ]);
    expect(secure.tcpProxy?.clusters[0]!.cluster.tcpHealthCheck).toEqual({ intervalSeconds: 7, timeoutSeconds: 2, unhealthyThresholdCount: 3, healthyThresholdCount: 2 });
    expect(dag.virtualHosts.size).toBe(0);

    const heavy = build([root({ tls: { passthrough: true } }, { tcpproxy: { services: [{ name: "app", port: 80, weight: 4294967295 }, { name: "app", port: 80 }] } }), ...world([])]);
    expect(heavy.secureVirtualHosts.get("s.example.com")?.tcpProxy).toBeUndefined();
    expect(heavy.status.get({ kind: "HTTPProxy", namespace: "roots", name: "s" })?.errors).toEqual([
      { type: "TCPProxyError", reason: "WeightNotValid", message: "Spec.TCPProxy service weights add up to 4294967296, more than 4294967295" },
    ]);
  });

  test("terminated TLS with a tcpproxy keeps HTTP routes on the plaintext side only", () => {
    const dag = build([root({ tls: { secretName: "tls" } }, { tcpproxy: { services: svc }, routes: [{ services: svc }] }), ...world()]);
    expect(dag.secureVirtualHosts.get("s.example.com")?.routes).toEqual([]);
    expect(dag.secureVirtualHosts.get("s.example.com")?.tcpProxy?.clusters).toHaveLength(1);
    expect(routesOf(dag, "s.example.com")[0]!.httpsRedirect).toBe(true);
  });

  test("include of another proxy's tcpproxy (also through the deprecated `includes`)", () => {
    for (const field of ["include", "includes"]) {
      const dag = build([
        root({ tls: { passthrough: true } }, { tcpproxy: { [field]: { name: "backend", namespace: "db" } } }),
        proxy("db", "backend", { tcpproxy: { services: [{ name: "pg", port: 5432 }] } }),
        service("db", "pg", { ports: [{ port: 5432 }] }),
      ]);
      expect(dag.secureVirtualHosts.get("s.example.com")?.tcpProxy?.clusters[0]!.cluster.service).toMatchObject({ namespace: "db", name: "pg" });
      expect(statusOf(dag, "db", "backend")?.currentStatus).toBe("valid");
    }
  });

  test("tcpproxy errors", () => {
    const tcpRoot = (tcpproxy: unknown, tls: unknown = { passthrough: true }) => root({ tls }, { tcpproxy });
    const cases: Array<[KubeObject[], string, string, string]> = [
      [[root({}, { tcpproxy: { services: svc } })], "TCPProxyError", "TLSMustBeConfigured", "Spec.TCPProxy requires that either Spec.TLS.Passthrough or Spec.TLS.SecretName be set"],
      [[tcpRoot({ services: svc, include: { name: "x" } })], "TCPProxyError", "NoServicesAndInclude", "cannot specify services and include in the same httpproxy"],
      [[tcpRoot({})], "TCPProxyError", "NothingDefined", "either services or inclusion must be specified"],
      [[tcpRoot({ services: [{ name: "nope", port: 80 }] })], "TCPProxyError", "ServiceUnresolvedReference", 'Spec.TCPProxy unresolved service reference: service "roots/nope" not found'],
      [[tcpRoot({ include: { name: "gone" } })], "TCPProxyIncludeError", "IncludeNotFound", "include roots/gone not found"],
      [[tcpRoot({ include: { name: "other" } }), root({ fqdn: "o.example.com" })].map((p, i) => (i === 1 ? { ...p, metadata: { ...p.metadata, name: "other" } } : p)),
        "TCPProxyIncludeError", "RootIncludesRoot", "root httpproxy cannot include another root httpproxy (roots/other)"],
    ];
    for (const [objects, type, reason, message] of cases) {
      const dag = build([...objects, ...world()]);
      expect(errorsOf(dag)).toEqual([{ type, reason, message }]);
    }
  });

  test("tcpproxy include cycle and the Cookie load balancer warning", () => {
    const dag = build([
      root({ tls: { passthrough: true } }, { tcpproxy: { include: { name: "a" }, loadBalancerPolicy: { strategy: "Cookie" } } }),
      proxy("roots", "a", { tcpproxy: { include: { name: "b" } } }),
      proxy("roots", "b", { tcpproxy: { include: { name: "a" } } }),
      ...world(),
    ]);
    expect(statusOf(dag, "roots", "b")?.errors).toEqual([
      { type: "TCPProxyIncludeError", reason: "IncludeCreatesCycle", message: "include creates a cycle: roots/s -> roots/a -> roots/b -> roots/a" },
    ]);
    expect(statusOf(dag, "roots", "s")?.warnings).toEqual([
      { type: "TCPProxyError", reason: "IgnoredField", message: 'ignoring field "Spec.TCPProxy.LoadBalancerPolicy"; Cookie load balancer policy is not supported for TCPProxies' },
    ]);
    expect(dag.secureVirtualHosts.size).toBe(0);
    expect(paths(routesOf(dag, "s.example.com"))).toEqual([]);
  });
});
