// The Ingress processor's TLS: secure virtual hosts from spec.tls, Secrets and their delegation,
// certificate conflicts, HTTP redirects and the minimum TLS version (the rest: ingress.test.ts).
import { beforeAll, describe, expect, test } from "bun:test";
import type { Dag } from "./types.ts";
import { buildObjects as build, delegation, hostRoutes as routes, ingress, rule, selfSignedCertificate, service, statusOf, tlsSecret } from "./testing.ts";
import type { TestCertificate } from "./testing.ts";

let cert: TestCertificate;
let otherCert: TestCertificate;
let expired: TestCertificate;
beforeAll(async () => {
  [cert, otherCert, expired] = await Promise.all([
    selfSignedCertificate("foo.com"),
    selfSignedCertificate("foo.com"),
    selfSignedCertificate("old.com", { notBefore: new Date("2024-01-01T00:00:00Z"), notAfter: new Date("2025-01-01T00:00:00Z") }),
  ]);
});

const web = service("default", "web", { ports: [{ name: "http", port: 80 }, { name: "admin", port: 9000 }] });
const ref = (name: string, namespace = "default") => ({ kind: "Ingress", namespace, name });

const status = (dag: Dag, name: string, namespace = "default") => statusOf(dag, ref(name, namespace));

describe("TLS", () => {
  const tlsIngress = (annotations: Record<string, string> = {}, secretName = "tls") =>
    ingress("default", "a", { tls: [{ hosts: ["foo.com"], secretName }], rules: [rule("foo.com", [["/", "Prefix", "web", 80]])] }, { annotations });

  test("spec.tls makes a secure virtual host with the validated Secret, serving the same routes", () => {
    const dag = build([web, tlsSecret("default", "tls", cert), tlsIngress()]);
    const vhost = dag.secureVirtualHosts.get("foo.com");
    expect(vhost?.secret?.ref).toEqual({ kind: "Secret", namespace: "default", name: "tls" });
    expect(vhost?.minTlsVersion).toBe("1.2");
    expect(vhost?.maxTlsVersion).toBe("1.3");
    expect(routes(dag, "foo.com", true)).toEqual(routes(dag, "foo.com"));
    expect([...dag.secrets.keys()]).toEqual([vhost?.secret?.name as string]);
  });

  test("routes of another Ingress for the same host reach the TLS virtual host too", () => {
    const dag = build([web, tlsSecret("default", "tls", cert), tlsIngress(), ingress("default", "b", { rules: [rule("foo.com", [["/b", "Prefix", "web", 80]])] })]);
    expect(routes(dag, "foo.com", true).map((r) => r.pathMatch.value)).toEqual(["/", "/b"]);
    expect(dag.secureVirtualHosts.get("foo.com")?.sources).toEqual([ref("a"), ref("b")]);
  });

  test("an invalid Secret is an error; the host is still served over plain HTTP", () => {
    for (const [objects, message] of [
      [[], 'spec.tls[0] Secret "default/tls" is invalid: Secret not found'],
      [[tlsSecret("default", "tls", expired)], 'spec.tls[0] Secret "default/tls" is invalid: certificate expired at 2025-01-01T00:00:00.000Z'],
    ] as const) {
      const dag = build([web, ...objects, tlsIngress()]);
      expect(dag.secureVirtualHosts.size).toBe(0);
      expect(routes(dag, "foo.com")).toHaveLength(1);
      expect(status(dag, "a").errors).toEqual([{ type: "TLSError", reason: "SecretNotValid", message }]);
    }
  });

  test("a Secret in another namespace needs a TLSCertificateDelegation", () => {
    const refused = build([web, tlsSecret("certs", "wild", cert), tlsIngress({}, "certs/wild")]);
    expect(refused.secureVirtualHosts.size).toBe(0);
    expect(status(refused, "a").errors).toEqual([{ type: "TLSError", reason: "DelegationNotPermitted", message: 'spec.tls[0] Secret "certs/wild" certificate delegation not permitted' }]);
    const allowed = build([web, tlsSecret("certs", "wild", cert), delegation("certs", "d", "wild", ["default"]), tlsIngress({}, "certs/wild")]);
    expect(allowed.secureVirtualHosts.get("foo.com")?.secret?.ref.namespace).toBe("certs");
    const annotated = build([web, tlsSecret("certs", "wild", cert), delegation("certs", "d", "wild", ["*"]), tlsIngress({ "projectcontour.io/tls-cert-namespace": "certs" }, "wild")]);
    expect(annotated.secureVirtualHosts.get("foo.com")?.secret?.ref.namespace).toBe("certs");
  });

  test("two Ingresses giving one host different certificates: the older wins, both are told", () => {
    const dag = build([
      web,
      tlsSecret("default", "tls", cert),
      tlsSecret("default", "tls2", otherCert),
      ingress("default", "a", { tls: [{ hosts: ["foo.com"], secretName: "tls" }], rules: [rule("foo.com", [["/a", "Prefix", "web", 80]])] }),
      ingress("default", "b", { tls: [{ hosts: ["foo.com"], secretName: "tls2" }], rules: [rule("foo.com", [["/b", "Prefix", "web", 80]])] }),
    ]);
    expect(dag.secureVirtualHosts.get("foo.com")?.secret?.ref.name).toBe("tls");
    const message = 'host "foo.com" has TLS Secrets from Ingress "default/a" and Ingress "default/b"; the older, Ingress "default/a", is used';
    expect(status(dag, "a").warnings).toEqual([{ type: "TLSError", reason: "DuplicateTLSHost", message }]);
    expect(status(dag, "b").errors).toEqual([{ type: "TLSError", reason: "DuplicateTLSHost", message }]);
  });

  test("force-ssl-redirect: plain HTTP routes redirect, TLS routes serve", () => {
    const dag = build([web, tlsSecret("default", "tls", cert), tlsIngress({ "ingress.kubernetes.io/force-ssl-redirect": "true" })]);
    expect(routes(dag, "foo.com")[0]?.httpsRedirect).toBe(true);
    expect(routes(dag, "foo.com", true)[0]?.httpsRedirect).toBeUndefined();
    expect(routes(dag, "foo.com", true)[0]?.clusters).toHaveLength(1);
  });

  test("allow-http: false leaves out the plain HTTP routes", () => {
    const dag = build([web, tlsSecret("default", "tls", cert), tlsIngress({ "kubernetes.io/ingress.allow-http": "false" })]);
    expect(dag.virtualHosts.size).toBe(0);
    expect(routes(dag, "foo.com", true)).toHaveLength(1);
  });

  test("force-ssl-redirect with allow-http: false still redirects plain HTTP (Contour)", () => {
    const dag = build([
      web,
      tlsSecret("default", "tls", cert),
      tlsIngress({ "ingress.kubernetes.io/force-ssl-redirect": "true", "kubernetes.io/ingress.allow-http": "false" }),
    ]);
    expect(routes(dag, "foo.com").map((r) => r.httpsRedirect)).toEqual([true]);
    expect(routes(dag, "foo.com", true)).toHaveLength(1);
  });

  test("tls-minimum-protocol-version, and a bad value falls back with a warning", () => {
    const dag = build([web, tlsSecret("default", "tls", cert), tlsIngress({ "projectcontour.io/tls-minimum-protocol-version": "1.3" })]);
    expect(dag.secureVirtualHosts.get("foo.com")?.minTlsVersion).toBe("1.3");
    const bad = build([web, tlsSecret("default", "tls", cert), tlsIngress({ "projectcontour.io/tls-minimum-protocol-version": "1.0" })]);
    expect(bad.secureVirtualHosts.get("foo.com")?.minTlsVersion).toBe("1.2");
    expect(status(bad, "a").warnings).toEqual([
      {
        type: "AnnotationError",
        reason: "AnnotationNotValid",
        message: 'annotation projectcontour.io/tls-minimum-protocol-version: "1.0" is not a supported TLS version (1.2, 1.3); using 1.2',
      },
    ]);
    expect(status(bad, "a").currentStatus).toBe("valid");
  });

  test("one Ingress giving one host two certificates: the last spec.tls entry is used, as in Contour, with a warning", () => {
    const dag = build([
      web,
      tlsSecret("default", "tls", cert),
      tlsSecret("default", "tls2", otherCert),
      ingress("default", "a", { tls: [{ hosts: ["foo.com"], secretName: "tls" }, { hosts: ["foo.com"], secretName: "tls2" }], rules: [rule("foo.com", [["/", "Prefix", "web", 80]])] }),
    ]);
    expect(dag.secureVirtualHosts.get("foo.com")?.secret?.ref.name).toBe("tls2");
    expect(status(dag, "a")).toMatchObject({
      currentStatus: "valid",
      warnings: [{ type: "TLSError", reason: "DuplicateTLSHost", message: 'host "foo.com" has TLS Secrets from more than one spec.tls entry of this Ingress; the last, spec.tls[1], is used' }],
    });
  });
});
