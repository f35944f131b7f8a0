import { describe, expect, test } from "bun:test";
import { parse } from "yaml";
import { configFromSpec } from "./contour-configuration.ts";
import { configFromFile } from "./file.ts";
import { parseGoDuration } from "./read.ts";
import { defaultGlobalConfig } from "./defaults.ts";

const fromFile = (text: string) => configFromFile(parse(text)).config;
const fileError = (text: string) => {
  try {
    configFromFile(parse(text));
  } catch (error) {
    return (error as Error).message;
  }
  return "no error";
};

describe("Contour's configuration file", () => {
  test("empty and Contour's stock ConfigMap: Contour's defaults", () => {
    expect(fromFile("")).toEqual(defaultGlobalConfig());
    const stock = fromFile("disablePermitInsecure: false\ntls:\n  fallback-certificate:\n  envoy-client-certificate:\naccesslog-format: envoy\n");
    expect(stock).toEqual(defaultGlobalConfig());
    expect(Object.keys(stock.accessLog.jsonFields)).toHaveLength(23);
  });

  test("every implemented setting lands in the typed configuration", () => {
    const config = fromFile(`
timeouts:
  request-timeout: 1m30s
  connection-idle-timeout: infinity
  stream-idle-timeout: 10s
  max-connection-duration: 1h
  delayed-close-timeout: 500ms
  connection-shutdown-grace-period: 2s
  connect-timeout: 3s
accesslog-format: json
json-fields: ["@timestamp", method, "custom=%REQ(X-CUSTOM)%", response_code]
accesslog-level: error
tls:
  minimum-protocol-version: "1.3"
  cipher-suites: ["[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]", AES256-SHA]
  fallback-certificate: { name: fallback, namespace: projectcontour }
  envoy-client-certificate: { name: client, namespace: projectcontour }
default-http-versions: [HTTP/2]
serverHeaderTransformation: pass_through
disableMergeSlashes: true
disableAllowChunkedLength: true
disablePermitInsecure: true
compression: { algorithm: brotli }
policy:
  request-headers: { set: { x-env: prod }, remove: [x-debug] }
  response-headers: { set: { x-served-by: isobar } }
  applyToIngress: true
cluster:
  dns-lookup-family: v6
  max-requests-per-connection: 10
  circuit-breakers: { max-connections: 5, per-host-max-connections: 2 }
network: { num-trusted-hops: 2, strip-trailing-host-dot: false }
listener:
  max-requests-per-connection: 100
  http2-max-concurrent-streams: 50
  max-connections-per-listener: 1000
  socket-options: { tos: 64, traffic-class: 64 }
`);
    expect(config.timeouts).toEqual({ requestMs: 90_000, connectionIdleMs: 0, streamIdleMs: 10_000, maxConnectionDurationMs: 3_600_000, delayedCloseMs: 500, connectionShutdownGracePeriodMs: 2_000, connectMs: 3_000 });
    expect(config.accessLog).toEqual({ format: "json", formatString: undefined, level: "error", jsonFields: { "@timestamp": "%START_TIME%", method: "%REQ(:METHOD)%", custom: "%REQ(X-CUSTOM)%", response_code: "%RESPONSE_CODE%" } });
    expect(config.tls).toEqual({ minVersion: "1.3", maxVersion: "1.3", cipherSuites: ["[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]", "AES256-SHA"] });
    expect(config.fallbackCertificate).toEqual({ namespace: "projectcontour", name: "fallback" });
    expect(config.clientCertificate).toEqual({ namespace: "projectcontour", name: "client" });
    expect(config.defaultHttpVersions).toEqual(["http/2"]);
    expect([config.serverHeaderTransformation, config.mergeSlashes, config.allowChunkedLength, config.disablePermitInsecure, config.compression]).toEqual(["pass_through", false, false, true, "brotli"]);
    expect(config.policy).toEqual({ requestHeaders: { set: { "x-env": "prod" }, remove: ["x-debug"] }, responseHeaders: { set: { "x-served-by": "isobar" }, remove: [] }, applyToIngress: true });
    expect(config.cluster).toEqual({ dnsLookupFamily: "v6", maxRequestsPerConnection: 10, perConnectionBufferLimitBytes: undefined, circuitBreakers: { maxConnections: 5, perHostMaxConnections: 2 } });
    expect([config.numTrustedHops, config.stripTrailingHostDot]).toEqual([2, false]);
    expect(config.listener).toMatchObject({ maxRequestsPerConnection: 100, http2MaxConcurrentStreams: 50, maxConnectionsPerListener: 1000, socketOptions: { tos: 64, trafficClass: 64 } });
  });

  test("unknown keys, refused settings and bad values are one line naming the setting", () => {
    expect(fileError("timeout:\n  request-timeout: 1s\n")).toBe("unknown setting timeout");
    expect(fileError("timeouts:\n  request-timout: 1s\n")).toBe("unknown setting timeouts.request-timout");
    expect(fileError("tracing:\n  extensionService: projectcontour/otel\n")).toBe("tracing is not implemented");
    expect(fileError("rateLimitService:\n  extensionService: a/b\n")).toBe("rateLimitService is not implemented");
    expect(fileError("timeouts:\n  request-timeout: 30\n")).toBe('timeouts.request-timeout must be a string, got 30');
    expect(fileError("timeouts:\n  request-timeout: soon\n")).toBe('timeouts.request-timeout must be a duration such as "30s" or "1m30s" or "infinity", got "soon"');
    expect(fileError("timeouts:\n  connect-timeout: infinity\n")).toBe('timeouts.connect-timeout must be a duration such as "30s" or "1m30s", got "infinity"');
    expect(fileError("accesslog-format: xml\n")).toBe('accesslog-format must be one of envoy, json, got "xml"');
    expect(fileError("json-fields: [nonsense]\n")).toBe("json-fields: invalid JSON log field name nonsense");
    expect(fileError("accesslog-format-string: '%START_TIME% %NOPE%\\n'\n")).toBe("accesslog-format-string: unknown or unsupported command operator %NOPE%");
    expect(fileError("accesslog-format-string: '%START_TIME%'\n")).toBe("accesslog-format-string: an access log format must end in a newline");
    expect(fileError("tls:\n  minimum-protocol-version: '1.3'\n  maximum-protocol-version: '1.2'\n")).toBe("tls.minimum-protocol-version 1.3 is greater than tls.maximum-protocol-version 1.2");
    expect(fileError("cluster:\n  upstream-tls:\n    ecdh-curves: [X25519]\n")).toBe("cluster.upstream-tls.ecdh-curves is not implemented: Envoy's default curves are used");
    expect(fromFile("cluster:\n  upstream-tls:\n    minimum-protocol-version: '1.3'\n").cluster.upstreamTls).toEqual({ minVersion: "1.3", maxVersion: "1.3", cipherSuites: [] });
    expect(fileError("tls:\n  cipher-suites: [RC4-MD5]\n")).toBe('tls.cipher-suites: invalid TLS cipher suite "RC4-MD5"');
    expect(fileError("default-http-versions: [http/3]\n")).toBe('default-http-versions: invalid HTTP version "http/3" (http/1.1 or http/2)');
    expect(fileError("policy:\n  request-headers:\n    set: { host: x }\n")).toBe('policy.request-headers: rewriting "host" is not supported');
    expect(fileError("- a\n")).toBe("the document must be a mapping of settings");
  });

  test("refused settings given their zero value are accepted (Contour's stock files set them empty)", () => {
    expect(fileError("tracing:\nrateLimitService: {}\nfeatureFlags: []\nnetwork:\n  admin-port: 0\n")).toBe("no error");
  });

  test("Go durations", () => {
    expect(["0", "1s", "1.5s", "1m30s", "250ms", "2h", "100us"].map(parseGoDuration)).toEqual([0, 1000, 1500, 90_000, 250, 7_200_000, 0.1]);
    expect(["", "1", "-1s", "1x", "s"].map(parseGoDuration)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});

describe("ContourConfiguration", () => {
  test("the spec maps onto the same typed configuration as the file", () => {
    const spec = parse(`
envoy:
  timeouts: { requestTimeout: 1m30s, connectTimeout: 3s }
  logging: { accessLogFormat: json, accessLogJSONFields: [method], accessLogLevel: critical }
  listener:
    useProxyProtocol: true
    compression: { algorithm: zstd }
    tls: { minimumProtocolVersion: "1.3" }
    httpMaxConcurrentStreams: 20
  http: { address: 0.0.0.0, port: 8081 }
  https: { port: 8444 }
  metrics: { port: 8003 }
  network: { numTrustedHops: 1 }
  cluster: { circuitBreakers: { maxRequests: 7 } }
httpproxy: { disablePermitInsecure: true, rootNamespaces: [roots], fallbackCertificate: { name: f, namespace: ns } }
ingress: { classNames: [contour] }
policy: { responseHeaders: { set: { x-a: b } } }
`);
    const config = configFromSpec(spec);
    expect(config.timeouts.requestMs).toBe(90_000);
    expect(config.timeouts.connectMs).toBe(3_000);
    expect(config.accessLog).toMatchObject({ format: "json", level: "critical", jsonFields: { method: "%REQ(:METHOD)%" } });
    expect(config.listener).toMatchObject({ useProxyProtocol: true, http2MaxConcurrentStreams: 20 });
    expect([config.compression, config.tls.minVersion, config.numTrustedHops, config.disablePermitInsecure]).toEqual(["zstd", "1.3", 1, true]);
    expect([config.http, config.https, config.stats]).toEqual([{ address: "0.0.0.0", port: 8081 }, { address: undefined, port: 8444 }, { address: undefined, port: 8003 }]);
    expect([config.rootNamespaces, config.ingressClassNames, config.fallbackCertificate]).toEqual([["roots"], ["contour"], { namespace: "ns", name: "f" }]);
    expect(config.cluster.circuitBreakers).toEqual({ maxRequests: 7 });
    expect(config.policy.responseHeaders.set).toEqual({ "x-a": "b" });
  });

  test("unknown and refused fields are named by their path", () => {
    const error = (spec: string) => {
      try {
        configFromSpec(parse(spec));
      } catch (e) {
        return (e as Error).message;
      }
      return "no error";
    };
    expect(error("envoy:\n  timeout: {}\n")).toBe("unknown setting spec.envoy.timeout");
    expect(error("gateway:\n  gatewayRef: { name: g }\n")).toBe("spec.gateway.gatewayRef needs both name and namespace");
    expect(error("gateway:\n  controllerName: x\n")).toBe("unknown setting spec.gateway.controllerName");
    expect(error("envoy:\n  logging:\n    accessLogLevel: verbose\n")).toBe('spec.envoy.logging.accessLogLevel must be one of info, error, critical, disabled, got "verbose"');
  });
});

test("gateway.gatewayRef names the Gateway served, in the file and in a ContourConfiguration", () => {
  expect(fromFile("gateway:\n  gatewayRef: { namespace: infra, name: web }\n").gatewayRef).toEqual({ namespace: "infra", name: "web" });
  expect(configFromSpec({ gateway: { gatewayRef: { namespace: "infra", name: "web" } } }).gatewayRef).toEqual({ namespace: "infra", name: "web" });
  expect(fromFile("").gatewayRef).toBeUndefined();
});
