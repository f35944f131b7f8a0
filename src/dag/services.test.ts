import { describe, expect, test } from "bun:test";
import { appProtocolOf, inetAton, isForbiddenAddress, resolveService } from "./services.ts";
import { fakeInput, service } from "./testing.ts";

const off = { enableExternalNameService: false };
const on = { enableExternalNameService: true };

describe("resolveService", () => {
  const input = fakeInput([
    service("ns", "web", {
      ports: [
        { name: "http", port: 80, targetPort: 8080 },
        { name: "https", port: 443, targetPort: "https" },
        { name: "dns", port: 53, protocol: "UDP" },
      ],
      annotations: {
        "projectcontour.io/upstream-protocol.tls": "https",
        "projectcontour.io/upstream-protocol.h2c": "80",
        "projectcontour.io/max-connections": "100",
        "projectcontour.io/per-host-max-connections": "7",
        "projectcontour.io/max-retries": "nope",
      },
    }),
  ]);

  test("by port number, with the annotated protocol for that number and the circuit breakers", () => {
    expect(resolveService(input, { namespace: "ns", name: "web", port: 80 }, off)).toEqual({
      ok: {
        namespace: "ns",
        name: "web",
        port: 80,
        portName: "http",
        targetPort: 8080,
        serviceProtocol: "h2c",
        circuitBreakers: { maxConnections: 100, perHostMaxConnections: 7 },
        annotationProblems: ['projectcontour.io/max-retries: "nope" is not an unsigned integer'],
      },
    });
  });

  test("by port name, with the annotated protocol for that name", () => {
    const result = resolveService(input, { namespace: "ns", name: "web", port: "https" }, off);
    if (!("ok" in result)) throw new Error(result.error.message);
    expect(result.ok.port).toBe(443);
    expect(result.ok.portName).toBe("https");
    expect(result.ok.serviceProtocol).toBe("tls");
  });

  test("a port's appProtocol decides the protocol instead of the annotations (kubernetes.io/h2c, https; anything else is HTTP/1.1)", () => {
    const annotations = { "projectcontour.io/upstream-protocol.h2c": "80,81,82" };
    const declared = fakeInput([
      service("ns", "app", {
        ports: [
          { name: "a", port: 80, appProtocol: "kubernetes.io/h2c" },
          { name: "b", port: 81, appProtocol: "https" },
          { name: "c", port: 82, appProtocol: "http" },
          { name: "d", port: 83, appProtocol: "kubernetes.io/ws" },
        ],
        annotations,
      }),
    ]);
    const protocolOf = (port: number) => {
      const result = resolveService(declared, { namespace: "ns", name: "app", port }, off);
      if (!("ok" in result)) throw new Error(result.error.message);
      return result.ok.serviceProtocol;
    };
    expect([80, 81, 82, 83].map(protocolOf)).toEqual(["h2c", "tls", undefined, undefined]);
  });

  test("a numeric string is a port number", () => {
    const result = resolveService(input, { namespace: "ns", name: "web", port: "443" }, off);
    expect("ok" in result && result.ok.portName).toBe("https");
  });

  test("a missing Service, a missing port and a UDP port are unresolved references", () => {
    expect(resolveService(input, { namespace: "ns", name: "nope", port: 80 }, off)).toEqual({
      error: {
        type: "ServiceError",
        reason: "ServiceUnresolvedReference",
        message: 'Spec.Routes unresolved service reference: service "ns/nope" not found',
      },
      cause: 'service "ns/nope" not found',
    });
    const port = resolveService(input, { namespace: "ns", name: "web", port: 8080 }, off);
    expect("error" in port && port.cause).toBe('port "8080" on service "ns/web" not matched');
    const named = resolveService(input, { namespace: "ns", name: "web", port: "grpc" }, off);
    expect("error" in named && named.cause).toBe('port "grpc" on service "ns/web" not matched');
    const udp = resolveService(input, { namespace: "ns", name: "web", port: 53 }, off);
    expect("error" in udp && udp.cause).toBe('unsupported service protocol "UDP"');
  });

  test("a Service without annotations has no protocol or circuit breakers", () => {
    const result = resolveService(fakeInput([service("ns", "plain")]), { namespace: "ns", name: "plain", port: 80 }, off);
    expect(result).toEqual({ ok: { namespace: "ns", name: "plain", port: 80, portName: "" } });
  });
});

describe("ExternalName Services", () => {
  const external = (name: string, externalName: string) => service("ns", name, { type: "ExternalName", externalName });

  test("refused unless enabled", () => {
    const input = fakeInput([external("ext", "api.example.com")]);
    const refused = resolveService(input, { namespace: "ns", name: "ext", port: 80 }, off);
    expect("error" in refused && refused.cause).toBe(
      "ns/ext is an ExternalName service, these are not currently enabled. See the config.enableExternalNameService config file setting",
    );
    const allowed = resolveService(input, { namespace: "ns", name: "ext", port: 80 }, on);
    expect("ok" in allowed && allowed.ok.externalName).toBe("api.example.com");
  });

  test("never to localhost names", () => {
    for (const host of ["localhost", "LOCALHOST.", "localhost.localdomain", "foo.localhost", "local.projectcontour.io"]) {
      const result = resolveService(fakeInput([external("ext", host)]), { namespace: "ns", name: "ext", port: 80 }, on);
      expect("error" in result && result.cause).toBe("ns/ext is an ExternalName service that points to localhost, this is not allowed");
    }
  });

  test("never to loopback, link-local or unspecified addresses", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "0.0.0.0", "169.254.169.254", "::1", "::", "fe80::1", "::ffff:127.0.0.1", "[::1]"]) {
      const result = resolveService(fakeInput([external("ext", host)]), { namespace: "ns", name: "ext", port: 80 }, on);
      expect("error" in result && result.error.reason).toBe("ServiceUnresolvedReference");
    }
    const ok = resolveService(fakeInput([external("ext", "10.0.0.1")]), { namespace: "ns", name: "ext", port: 80 }, on);
    expect("ok" in ok).toBe(true);
  });
});

test("isForbiddenAddress", () => {
  expect(isForbiddenAddress("127.0.0.1")).toBe(true);
  // inet_aton shorthands a resolver reads as addresses
  for (const host of ["127.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.0.1", "0", "169.254.1", "127.0.0.1."]) expect(isForbiddenAddress(host)).toBe(true);
  for (const host of ["10.1", "167772161", "db.example.com", "1.example", "08.1"]) expect(isForbiddenAddress(host)).toBe(false);
  expect(inetAton("127.1")).toBe("127.0.0.1");
  expect(inetAton("2130706433")).toBe("127.0.0.1");
  expect(inetAton("1.2.65535")).toBe("1.2.255.255");
  expect(inetAton("256.1")).toBeUndefined();
  expect(isForbiddenAddress("169.254.0.1")).toBe(true);
  expect(isForbiddenAddress("0::0")).toBe(true);
  expect(isForbiddenAddress("0:0:0:0:0:0:0:1")).toBe(true);
  expect(isForbiddenAddress("febf::1")).toBe(true);
  expect(isForbiddenAddress("::ffff:169.254.1.1")).toBe(true);
  expect(isForbiddenAddress("fec0::1")).toBe(false);
  expect(isForbiddenAddress("8.8.8.8")).toBe(false);
  expect(isForbiddenAddress("2001:db8::1")).toBe(false);
  expect(isForbiddenAddress("example.com")).toBe(false);
});

describe("appProtocol (Contour's mapping; when set, the upstream-protocol annotations are not read)", () => {
  test("maps kubernetes.io/h2c, https, http and kubernetes.io/ws; anything else is HTTP/1.1 with a problem", () => {
    expect(appProtocolOf("kubernetes.io/h2c")).toEqual({ protocol: "h2c" });
    expect(appProtocolOf("https")).toEqual({ protocol: "tls" });
    expect(appProtocolOf("http")).toEqual({});
    expect(appProtocolOf("kubernetes.io/ws")).toEqual({});
    expect(appProtocolOf("h2")).toEqual({ problem: 'appProtocol "h2" is not supported (kubernetes.io/h2c, kubernetes.io/ws, http, https are); the port is spoken to as HTTP/1.1' });
  });

  test("overrides the annotation for its port, and only for its port", () => {
    const input = fakeInput([
      service("ns", "grpc", {
        ports: [
          { name: "grpc", port: 50051, appProtocol: "kubernetes.io/h2c" },
          { name: "web", port: 80, appProtocol: "http" },
          { name: "other", port: 81 },
        ],
        annotations: { "projectcontour.io/upstream-protocol.tls": "50051,80,81" },
      }),
    ]);
    const protocolOf = (port: number) => {
      const lookup = resolveService(input, { namespace: "ns", name: "grpc", port }, off);
      return "ok" in lookup ? (lookup.ok.serviceProtocol ?? "http1") : lookup.cause;
    };
    expect([protocolOf(50051), protocolOf(80), protocolOf(81)]).toEqual(["h2c", "http1", "tls"]);
  });
});
