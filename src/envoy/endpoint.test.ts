import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { compareStrings } from "../base/values.ts";
import type { KubeObject } from "../sources/types.ts";
import { resourceTypes } from "./common.ts";
import { compareEndpointKeys, edsTargets, edsTargetsByService, loadAssignmentFor, loadAssignments } from "./endpoint.ts";
import { expectEnvoyAccepts, testCluster } from "./testing.ts";

type J = Record<string, any>;

function slice(service: string, name: string, spec: { ports: unknown[]; endpoints: unknown[]; addressType?: string }): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { namespace: "default", name, labels: { "kubernetes.io/service-name": service } },
    addressType: spec.addressType ?? "IPv4",
    ports: spec.ports,
    endpoints: spec.endpoints,
  };
}

function lookup(slices: KubeObject[]) {
  return (namespace: string, service: string) =>
    slices.filter((s) => s.metadata.namespace === namespace && s.metadata.labels?.["kubernetes.io/service-name"] === service);
}

describe("load assignments", () => {
  test("ready endpoints only, grouped by zone with locality always set, sorted, duplicates merged", async () => {
    const slices = [
      slice("echo", "echo-b", {
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
        endpoints: [
          { addresses: ["10.0.0.3"], conditions: { ready: true }, zone: "zone-b" },
          { addresses: ["10.0.0.1"], conditions: { ready: true }, zone: "zone-a" },
          { addresses: ["10.0.0.9"], conditions: { ready: false }, zone: "zone-a" },
        ],
      }),
      slice("echo", "echo-a", {
        ports: [{ name: "http", port: 8080 }],
        endpoints: [
          { addresses: ["10.0.0.2"], zone: "zone-a" }, // no conditions: ready
          { addresses: ["10.0.0.1"], conditions: { ready: true }, zone: "zone-a" },
          { addresses: ["10.0.0.4"], conditions: {} },
        ],
      }),
    ];
    const assignment = (await expectEnvoyAccepts(resourceTypes.endpoints, loadAssignmentFor(testCluster("echo"), lookup(slices)))) as J;
    const address = (ip: string) => ({ endpoint: { address: { socket_address: { address: ip, port_value: 8080 } } } });
    expect(assignment).toEqual({
      cluster_name: "default/echo/http",
      endpoints: [
        { locality: { zone: "" }, lb_endpoints: [address("10.0.0.4")], load_balancing_weight: 1 },
        { locality: { zone: "zone-a" }, lb_endpoints: [address("10.0.0.1"), address("10.0.0.2")], load_balancing_weight: 2 },
        { locality: { zone: "zone-b" }, lb_endpoints: [address("10.0.0.3")], load_balancing_weight: 1 },
      ],
    });
  });

  test("port by the Service port's name; an unnamed slice port takes a numeric targetPort; other ports and FQDN slices skipped", () => {
    const named = slice("svc", "a", { ports: [{ name: "metrics", port: 9090 }, { name: "http", port: 8080 }], endpoints: [{ addresses: ["10.0.0.1"] }] });
    const target = { edsServiceName: "default/svc/http", service: { namespace: "default", name: "svc", port: 80, portName: "http" } };
    const ports = (a: J) => a.endpoints.flatMap((l: J) => l.lb_endpoints.map((e: J) => e.endpoint.address.socket_address.port_value));
    expect(ports(loadAssignmentFor(target, lookup([named])))).toEqual([8080]);

    const unnamedSlice = slice("svc", "b", { ports: [{ port: 3000 }], endpoints: [{ addresses: ["10.0.0.2"] }] });
    const unnamedTarget = { edsServiceName: "default/svc/80", service: { namespace: "default", name: "svc", port: 80, portName: "", targetPort: 3000 } };
    expect(ports(loadAssignmentFor(unnamedTarget, lookup([unnamedSlice])))).toEqual([3000]);

    const unknownPort = { ...target, service: { ...target.service, portName: "grpc" } };
    expect(loadAssignmentFor(unknownPort, lookup([named])).endpoints).toEqual([]);

    const fqdn = slice("svc", "c", { addressType: "FQDN", ports: [{ name: "http", port: 80 }], endpoints: [{ addresses: ["example.com"] }] });
    expect(loadAssignmentFor(target, lookup([fqdn])).endpoints).toEqual([]);
  });

  test("addresses that are not IP literals and ports out of range are skipped: Envoy would reject the whole assignment", async () => {
    const odd = slice("echo", "odd", {
      ports: [{ name: "http", port: 8080 }],
      endpoints: [{ addresses: ["", "not-an-ip", "10.0.0.1", "fd00::1", 7] }],
    });
    const assignment = (await expectEnvoyAccepts(resourceTypes.endpoints, loadAssignmentFor(testCluster("echo"), lookup([odd])))) as J;
    expect(assignment.endpoints[0].lb_endpoints.map((e: J) => e.endpoint.address.socket_address.address)).toEqual(["10.0.0.1", "fd00::1"]);
    const badPort = slice("echo", "bad-port", { ports: [{ name: "http", port: 0 }], endpoints: [{ addresses: ["10.0.0.2"] }] });
    expect(loadAssignmentFor(testCluster("echo"), lookup([badPort])).endpoints).toEqual([]);
  });

  test("only unicast addresses of other hosts are served; the rest is reported naming the slice; loopback only when allowed", async () => {
    const refused = ["127.0.0.1", "127.9.9.9", "0.0.0.0", "0.1.2.3", "169.254.169.254", "224.0.0.1", "239.1.1.1", "255.255.255.255", "240.0.0.1", "::1", "::", "fe80::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "999.1.1.1", "10.0.0", "host.example"];
    const served = ["10.0.0.1", "192.168.1.2", "8.8.8.8", "fd00::1", "2001:db8::2", "::ffff:10.0.0.3"];
    const mixed = slice("echo", "echo-x1", { ports: [{ name: "http", port: 8080 }], endpoints: [{ addresses: [...refused, ...served] }] });
    const outOfRange = slice("echo", "echo-x2", { ports: [{ name: "http", port: 70000 }], endpoints: [{ addresses: ["10.0.0.9"] }] });
    const negative = slice("echo", "echo-x3", { ports: [{ name: "http", port: -80 }], endpoints: [{ addresses: ["10.0.0.8"] }] });
    const problems: Array<{ slice: string; reason: string; message: string }> = [];
    const report = (p: { slice: string; reason: string; message: string }) => problems.push({ slice: p.slice, reason: p.reason, message: p.message });
    const assignment = (await expectEnvoyAccepts(resourceTypes.endpoints, loadAssignmentFor(testCluster("echo"), lookup([mixed, outOfRange, negative]), { report }))) as J;
    const addresses = (a: J) => a.endpoints.flatMap((l: J) => l.lb_endpoints.map((e: J) => e.endpoint.address.socket_address.address)).sort();
    expect(addresses(assignment)).toEqual([...served].sort());
    expect(problems.filter((p) => p.slice === "default/echo-x1").map((p) => p.message)).toEqual(refused.map((address) => expect.stringContaining(`EndpointSlice default/echo-x1: address ${JSON.stringify(address)} is `)));
    expect(problems.find((p) => p.message.includes('"127.0.0.1"'))!.message).toBe('EndpointSlice default/echo-x1: address "127.0.0.1" is a loopback address, not a unicast address of another host (agent serve --allow-loopback-endpoints serves loopback, for local development): not served');
    expect(problems.find((p) => p.message.includes('"169.254.169.254"'))!).toMatchObject({ reason: "AddressNotAllowed", message: 'EndpointSlice default/echo-x1: address "169.254.169.254" is a link-local address, not a unicast address of another host: not served' });
    expect(problems.find((p) => p.message.includes('"999.1.1.1"'))!).toMatchObject({ reason: "AddressNotValid", message: 'EndpointSlice default/echo-x1: address "999.1.1.1" is not an IP address: not served' });
    expect(problems.filter((p) => p.reason === "PortOutOfRange")).toEqual([
      { slice: "default/echo-x2", reason: "PortOutOfRange", message: "EndpointSlice default/echo-x2: port 70000 is not a port from 1 to 65535: its endpoints are not served" },
      { slice: "default/echo-x3", reason: "PortOutOfRange", message: "EndpointSlice default/echo-x3: port -80 is not a port from 1 to 65535: its endpoints are not served" },
    ]);
    // Loopback allowed (local development): 127.0.0.0/8, ::1 and ::ffff:127.x are served, nothing else more.
    const allowed = loadAssignmentFor(testCluster("echo"), lookup([mixed]), { policy: { allowLoopback: true } });
    expect(addresses(allowed)).toEqual([...served, "127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"].sort());
  });

  test("one empty assignment per EDS name with no endpoints; ExternalName clusters have none; shared EDS names once", async () => {
    const clusters = [
      testCluster("echo"),
      testCluster("echo", { name: "default/echo/80/other", loadBalancer: "Random" }),
      testCluster("gone"),
      testCluster("ext", { externalName: "example.com" }),
    ];
    const assignments = loadAssignments(clusters, () => []);
    expect(assignments).toEqual([
      { cluster_name: "default/echo/http", endpoints: [] },
      { cluster_name: "default/gone/http", endpoints: [] },
    ]);
    for (const a of assignments) await expectEnvoyAccepts(resourceTypes.endpoints, a);
    expect(edsTargets(clusters).map((t) => t.edsServiceName)).toEqual(["default/echo/http", "default/gone/http"]);
    expect([...edsTargetsByService(clusters).keys()]).toEqual(["default/echo", "default/gone"]);
  });

  test("the fast path gives the same assignment as the full computation", () => {
    const slices = [slice("echo", "e", { ports: [{ name: "http", port: 8080 }], endpoints: [{ addresses: ["10.1.0.1", "127.0.0.1", "169.254.1.1"], zone: "z" }] })];
    const clusters = [testCluster("echo"), testCluster("other")];
    const full = loadAssignments(clusters, lookup(slices), { policy: {} });
    const fast = edsTargetsByService(clusters).get("default/echo")!.map((t) => loadAssignmentFor(t, lookup(slices), { policy: {} }));
    expect(JSON.stringify(fast)).toBe(JSON.stringify(full.filter((a) => a.cluster_name === "default/echo/http")));
  });
});

test("endpoints sort by address and port as their `address|port` keys sort, without writing the keys", () => {
  const address = fc.oneof(fc.ipV4(), fc.ipV6(), fc.stringMatching(/^[0-9a-f.:]{0,12}$/));
  const port = fc.integer({ min: 1, max: 65535 });
  fc.assert(
    fc.property(address, port, address, port, (a, aPort, b, bPort) => {
      expect(Math.sign(compareEndpointKeys(a, aPort, b, bPort))).toBe(Math.sign(compareStrings(`${a}|${aPort}`, `${b}|${bPort}`)));
    }),
    { numRuns: 2000 },
  );
});
