import { describe, expect, test } from "bun:test";
import { TypeUrls } from "../xds/types.ts";
import { resourceOwners } from "./ownership.ts";
import { testCluster, testDag, testRef, testRoute, testSecret, testSecureVirtualHost, testVirtualHost, weighted } from "./testing.ts";

describe("resource ownership", () => {
  const root = testRef("root");
  const child = testRef("child");
  const upstream = testCluster("secure", {
    protocol: "tls",
    validation: { caSecret: testSecret("default/upstream-ca/1", "ca"), subjectNames: ["secure.svc"] },
    clientCertificate: testSecret("isobar/client-cert/1"),
  });
  const crl = testSecret("default/crl/1", "crl");
  const ca = testSecret("default/client-ca/1", "ca");
  const dag = testDag({
    plain: [testVirtualHost("a.com", [testRoute("/", { source: child, clusters: [weighted(upstream)] })], { sources: [root] })],
    secure: [
      testSecureVirtualHost("s.com", [testRoute("/", { source: root })], {
        sources: [root],
        downstreamValidation: { caSecret: ca, crlSecret: crl, skipClientCertValidation: false, optionalClientCertificate: false },
      }),
    ],
  });
  const owners = resourceOwners(dag);

  test("cluster-side secrets (upstream CA, client certificate) are owned by the objects whose routes use the cluster", () => {
    expect(owners.of(TypeUrls.cluster, upstream.name)).toEqual([child]);
    expect(owners.of(TypeUrls.secret, "default/upstream-ca/1")).toEqual([child]);
    expect(owners.of(TypeUrls.secret, "isobar/client-cert/1")).toEqual([child]);
    expect(owners.of(TypeUrls.endpoint, upstream.edsServiceName)).toEqual([child]);
  });

  test("a virtual host of a route configuration and a filter chain of a listener are lookups", () => {
    expect(owners.ofVirtualHost("ingress_http", "a.com")).toEqual([root, child]);
    expect(owners.ofVirtualHost("https/s.com", "s.com")).toEqual([root]);
    expect(owners.ofVirtualHost("ingress_http", "s.com")).toEqual([]);
    expect(owners.ofFilterChain("ingress_https", "https/s.com")).toEqual([root]);
    expect(owners.of(TypeUrls.route, "ingress_http")).toEqual([root]);
    // A VHDS virtual host is owned as its virtual host of the route configuration.
    expect(owners.of(TypeUrls.virtualHost, "ingress_http/a.com")).toEqual([root, child]);
    expect(owners.of(TypeUrls.virtualHost, "ingress_http/s.com")).toEqual([]);
  });

  test("the client validation secret (the CA joined with the CRL) is owned by the TLS host that validates with it", () => {
    expect(owners.of(TypeUrls.secret, `${ca.name}+${crl.name}`)).toEqual([root]);
  });
});
