import { describe, expect, test } from "bun:test";
import type { ListenerOptions } from "../dag/listeners.ts";
import type { Dag } from "../dag/types.ts";
import { resourceTypes } from "./common.ts";
import { loadAssignments } from "./endpoint.ts";
import { translate } from "./translate.ts";
import {
  expectEnvoyAccepts,
  expectSnapshotAccepted,
  testCluster,
  testDag,
  testRoute,
  testSecret,
  testSecureVirtualHost,
  testVirtualHost,
  weighted,
} from "./testing.ts";

type J = Record<string, any>;

/** A DAG using most features; `reverse` builds the same DAG with every map filled in the opposite order. */
function richDag(reverse = false, listeners: ListenerOptions = {}): Dag {
  const order = <T>(items: T[]): T[] => (reverse ? [...items].reverse() : items);
  const echo = testCluster("echo");
  const canary = testCluster("canary", { protocol: "h2c", loadBalancer: "Cookie" });
  const secureBackend = testCluster("secure", {
    protocol: "tls",
    validation: { caSecret: testSecret("default/upstream-ca/1", "ca"), subjectNames: ["secure.svc"] },
  });
  const ca = testSecret("default/client-ca/1", "ca");
  const plain = order([
    testVirtualHost("*", [testRoute("/")]),
    testVirtualHost(
      "foo.com",
      order([
        testRoute("/", { clusters: order([weighted(echo, 90), weighted(canary, 10)]), cookieHash: true }),
        testRoute("/api", { websocket: true, timeout: { responseMs: 0 } }),
        testRoute("/", { pathMatch: { kind: "exact", value: "/healthz" }, directResponse: { statusCode: 200, body: "ok" } }),
      ]),
      { cors: { allowOrigin: ["https://a.com"], allowMethods: ["GET"], allowHeaders: ["x"], exposeHeaders: [], allowCredentials: true } },
    ),
    testVirtualHost("secure.com", [testRoute("/", { httpsRedirect: true })]),
  ]);
  const secure = order([
    testSecureVirtualHost("secure.com", [testRoute("/", { clusters: [weighted(secureBackend)] })], {
      secret: testSecret("default/secure-tls/1"),
      downstreamValidation: { caSecret: ca, skipClientCertValidation: false, optionalClientCertificate: false },
    }),
    testSecureVirtualHost("open.com", [testRoute("/", { cookieRewrites: [{ name: "s", secure: true }] })], { fallbackCertificate: true }),
    testSecureVirtualHost("mtls-fallback.com", [testRoute("/")], {
      fallbackCertificate: true,
      downstreamValidation: { caSecret: ca, skipClientCertValidation: false, optionalClientCertificate: false },
    }),
    testSecureVirtualHost("pass.com", [], { passthrough: true, secret: undefined, tcpProxy: { clusters: [weighted(echo)] } }),
  ]);
  const dag = testDag({ plain, secure, fallbackSecret: testSecret("isobar/fallback/1") }, listeners);
  dag.secrets.set(ca.name, ca);
  return dag;
}

describe("translate", () => {
  test("every resource passes the strict encoder (and Envoy's rules when the validator exists)", async () => {
    const out = translate(richDag());
    for (const [kind, resources] of Object.entries(out)) {
      const type = resourceTypes[kind as keyof typeof resourceTypes];
      for (const resource of resources) await expectEnvoyAccepts(type, resource);
    }
    for (const assignment of loadAssignments(richDag().clusters.values(), () => [])) {
      await expectEnvoyAccepts(resourceTypes.endpoints, assignment);
    }
  });

  test("the whole set, with its load assignments, passes the snapshot validator untouched", async () => {
    const dag = richDag();
    await expectSnapshotAccepted({ ...translate(dag), endpoints: loadAssignments(dag.clusters.values(), () => []) });
  });

  test("deterministic: the same DAG, built in any order, gives byte-identical JSON", () => {
    const a = JSON.stringify(translate(richDag()));
    const b = JSON.stringify(translate(richDag(true)));
    expect(b).toBe(a);
    expect(JSON.stringify(translate(richDag()))).toBe(a);
  });

  test("names: listeners, route configurations, clusters and secrets, each sorted", () => {
    const out = translate(richDag());
    const names = (list: J[]) => list.map((r) => r.name);
    expect(names(out.listeners)).toEqual(["ingress_http", "ingress_https", "stats-health"]);
    expect(names(out.routes)).toEqual(["https/mtls-fallback.com", "https/open.com", "https/secure.com", "ingress_fallbackcert", "ingress_http"]);
    expect(names(out.clusters)).toEqual([...names(out.clusters)].sort());
    expect(names(out.clusters)).toContain("envoy-admin");
    expect(names(out.secrets)).toEqual([
      "default/client-ca/1",
      "default/secure-tls/1",
      "default/tls/0123456789",
      "default/upstream-ca/1",
      "isobar/fallback/1",
    ]);
  });

  test("consistent: every route configuration, cluster and secret a resource names exists", () => {
    const out = translate(richDag());
    const text = JSON.stringify(out);
    const routeNames = new Set(out.routes.map((r) => r.name));
    const clusterNames = new Set(out.clusters.map((c) => c.name));
    const secretNames = new Set(out.secrets.map((s) => s.name));
    for (const [, name] of text.matchAll(/"route_config_name":"([^"]+)"/g)) expect(routeNames).toContain(name!);
    for (const [, name] of text.matchAll(/"cluster":"([^"]+)"/g)) expect(clusterNames).toContain(name!);
    for (const listener of out.listeners) {
      for (const [, name] of JSON.stringify(listener).matchAll(/\{"name":"([^"]+)","sds_config"/g)) expect(secretNames).toContain(name!);
    }
    for (const cluster of out.clusters) {
      for (const [, name] of JSON.stringify(cluster).matchAll(/\{"name":"([^"]+)","sds_config"/g)) expect(secretNames).toContain(name!);
    }
  });

  test("the fallback route configuration leaves out hosts that validate client certificates", () => {
    const out = translate(richDag());
    const fallback = out.routes.find((r) => r.name === "ingress_fallbackcert") as J;
    expect(fallback.virtual_hosts.map((vh: J) => vh.name)).toEqual(["open.com"]);
  });

  test("options: ports, address, admin socket, access log", () => {
    const out = translate(richDag(false, { httpPort: 18080, httpsPort: 18443, address: "127.0.0.1" }), { statsPort: 18002, address: "127.0.0.1", adminSocketPath: "/tmp/a.sock", accessLog: false });
    const ports = out.listeners.map((l: J) => [l.name, l.address.socket_address.address, l.address.socket_address.port_value]);
    expect(ports).toEqual([
      ["ingress_http", "127.0.0.1", 18080],
      ["ingress_https", "127.0.0.1", 18443],
      ["stats-health", "127.0.0.1", 18002],
    ]);
    const admin = out.clusters.find((c) => c.name === "envoy-admin") as J;
    expect(admin.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.pipe.path).toBe("/tmp/a.sock");
    expect(JSON.stringify(out.listeners)).not.toContain("access_log");
  });

  test("an empty DAG still has ingress_http (404 for everything), its route configuration, stats and envoy-admin", async () => {
    const out = translate(testDag({}));
    expect(out.listeners.map((l) => l.name)).toEqual(["ingress_http", "stats-health"]);
    expect(out.routes).toEqual([expect.objectContaining({ name: "ingress_http", virtual_hosts: [] })]);
    expect(out.clusters.map((c) => c.name)).toEqual(["envoy-admin"]);
    expect(out.secrets).toEqual([]);
    for (const l of out.listeners) await expectEnvoyAccepts(resourceTypes.listeners, l);
  });
});
