// Contour 1.33's HTTPProxy fields, through the real Envoy: 303/307/308 redirects, the retryOn values
// Contour added (accepted by Envoy, and retrying), slow start on a cluster's load balancer, a
// Service port's appProtocol (kubernetes.io/h2c spoken to over HTTP/2 in cleartext, https over
// TLS), and healthPort (Envoy's health checks go to the other port, and decide who gets traffic).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type Http2Server } from "node:http2";
import { eventually, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";
import { serverCertificate, startTlsEcho, testCa, type TlsEcho } from "./pki.ts";

const host = "fields.example.com";
let stack: Stack;
let plain: EchoBackend;
let served: EchoBackend;
let health: EchoBackend;
let sickServed: EchoBackend;
let sickHealth: EchoBackend;
let h2c: Http2Server;
let h2cPort: number;
let tls: TlsEcho;
const h2cRequests: string[] = [];

/** An HTTP/2-only cleartext backend (prior knowledge, as gRPC servers are): answers the HTTP version it saw. */
async function startH2c(): Promise<void> {
  h2c = createServer((request, response) => {
    h2cRequests.push(request.httpVersion);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ backend: "h2c", httpVersion: request.httpVersion, path: request.url }));
  });
  await new Promise<void>((resolve) => h2c.listen(0, "127.0.0.1", () => resolve()));
  h2cPort = (h2c.address() as { port: number }).port;
}

/** A Service with a traffic port and a health port, each on its own backend (slice ports named like the Service's). */
function checkedService(name: string, traffic: EchoBackend, healthPort: EchoBackend): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec:
  ports: [{ name: http, port: 80, targetPort: ${traffic.port} }, { name: health, port: 81, targetPort: ${healthPort.port} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: default, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: ${traffic.port}, protocol: TCP }, { name: health, port: ${healthPort.port}, protocol: TCP }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
`;
}

const proxy = `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: fields, namespace: default }
spec:
  virtualhost: { fqdn: ${host} }
  routes:
    - conditions: [{ prefix: /see-other }]
      requestRedirectPolicy: { path: /elsewhere, statusCode: 303 }
    - conditions: [{ prefix: /temporary }]
      requestRedirectPolicy: { hostname: temp.example.com, statusCode: 307 }
    - conditions: [{ prefix: /permanent }]
      requestRedirectPolicy: { scheme: https, statusCode: 308 }
    - conditions: [{ prefix: /retry }]
      retryPolicy: { count: 2, retryOn: [5xx, reset-before-request, envoy-ratelimited, http3-post-connect-failure] }
      services: [{ name: plain, port: 80 }]
    - conditions: [{ prefix: /slow }]
      services: [{ name: plain, port: 80, slowStartPolicy: { window: 30s, aggression: "1.5", minWeightPercent: 20 } }]
    - conditions: [{ prefix: /grpc-undeclared }]
      services: [{ name: h2c-undeclared, port: 80 }]
    - conditions: [{ prefix: /grpc }]
      services: [{ name: h2c, port: 80 }]
    - conditions: [{ prefix: /secure }]
      services: [{ name: secure, port: 80 }]
    - conditions: [{ prefix: /checked }]
      healthCheckPolicy: { path: /healthz, intervalSeconds: 1, timeoutSeconds: 1, unhealthyThresholdCount: 1, healthyThresholdCount: 1 }
      services: [{ name: checked, port: 80, healthPort: 81 }]
    - conditions: [{ prefix: /sick }]
      healthCheckPolicy: { path: /healthz, intervalSeconds: 1, timeoutSeconds: 1, unhealthyThresholdCount: 1, healthyThresholdCount: 1 }
      services: [{ name: sick, port: 80, healthPort: 81 }]
`;

beforeAll(async () => {
  [plain, served, health] = [await startEcho("plain"), await startEcho("served"), await startEcho("health")];
  [sickServed, sickHealth] = [await startEcho("sick-served"), await startEcho("sick-health")];
  // Envoy checks a new endpoint at once, then only every minute until the cluster has had traffic
  // (its no_traffic_interval): so the failing health port fails from the start.
  sickHealth.failNext(1_000_000, 503);
  await startH2c();
  const ca = await testCa("contour-fields CA");
  tls = await startTlsEcho("secure", await serverCertificate(ca, ["secure.default.svc"]));
  stack = await startStack({
    manifests: {
      "services.yaml": [
        serviceFor("default", "plain", [plain]),
        serviceFor("default", "h2c", [{ port: h2cPort }], { appProtocol: "kubernetes.io/h2c" }),
        serviceFor("default", "h2c-undeclared", [{ port: h2cPort }]),
        serviceFor("default", "secure", [{ port: tls.port }], { appProtocol: "https" }),
        checkedService("checked", served, health),
        checkedService("sick", sickServed, sickHealth),
      ].join("---\n"),
      "proxy.yaml": proxy,
    },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([plain?.close(), served?.close(), health?.close(), sickServed?.close(), sickHealth?.close(), tls?.close()]);
  await new Promise<void>((resolve) => (h2c ? h2c.close(() => resolve()) : resolve()));
});

/** A resource of the given type from Envoy's /config_dump (dynamic clusters or route configs). */
async function dumped(kind: "clusters" | "routes"): Promise<unknown[]> {
  const dump = await stack.envoy.configDump();
  const type = kind === "clusters" ? ".ClustersConfigDump" : ".RoutesConfigDump"; // not ScopedRoutesConfigDump
  const section = dump.configs.find((c) => String(c["@type"]).endsWith(type)) as Record<string, Array<Record<string, unknown>>> | undefined;
  const entries = kind === "clusters" ? (section?.dynamic_active_clusters ?? []) : (section?.dynamic_route_configs ?? []);
  return entries.map((e) => (kind === "clusters" ? e.cluster : e.route_config));
}

test("redirects answer 303, 307 and 308 with their locations", async () => {
  const seeOther = await send(stack.httpPort, "/see-other", { host });
  expect(seeOther.status).toBe(303);
  expect(seeOther.headers.location).toBe(`http://${host}/elsewhere`);
  const temporary = await send(stack.httpPort, "/temporary/x", { host });
  expect(temporary.status).toBe(307);
  expect(temporary.headers.location).toBe("http://temp.example.com/temporary/x");
  const permanent = await send(stack.httpPort, "/permanent?q=1", { host });
  expect(permanent.status).toBe(308);
  expect(permanent.headers.location).toBe(`https://${host}/permanent?q=1`);
});

test("Envoy takes the retryOn values Contour 1.33 added, and retries a failed request", async () => {
  const routes = JSON.stringify(await dumped("routes"));
  expect(routes).toContain('"retry_on":"5xx,reset-before-request,envoy-ratelimited,http3-post-connect-failure"');
  const before = plain.received.length;
  plain.failNext(1, 503);
  const response = await send(stack.httpPort, "/retry", { host });
  expect(response.status).toBe(200);
  expect(response.json().backend).toBe("plain");
  expect(plain.received.length - before).toBe(2);
});

test("slow start is on the cluster's round robin balancer in Envoy, and the cluster serves", async () => {
  const clusters = (await dumped("clusters")) as Array<{ name: string; round_robin_lb_config?: { slow_start_config?: Record<string, unknown> } }>;
  const slow = clusters.filter((c) => c.name.startsWith("default/plain/80/") && c.round_robin_lb_config?.slow_start_config);
  expect(slow.map((c) => c.round_robin_lb_config!.slow_start_config)).toEqual([
    { slow_start_window: "30s", aggression: { default_value: 1.5, runtime_key: "contour.slowstart.aggression" }, min_weight_percent: { value: 20 } },
  ]);
  const response = await send(stack.httpPort, "/slow", { host });
  expect(response.status).toBe(200);
  expect(response.json().backend).toBe("plain");
});

test("appProtocol kubernetes.io/h2c: an HTTP/2-only backend is spoken to over HTTP/2; undeclared, it is not reached", async () => {
  const response = await send(stack.httpPort, "/grpc/call", { host });
  expect(response.status).toBe(200);
  expect(JSON.parse(response.body)).toEqual({ backend: "h2c", httpVersion: "2.0", path: "/grpc/call" });
  const seen = h2cRequests.length;
  const undeclared = await send(stack.httpPort, "/grpc-undeclared", { host });
  expect(undeclared.status).toBeGreaterThanOrEqual(502);
  expect(h2cRequests.length).toBe(seen);
});

test("appProtocol https: the backend is spoken to over TLS", async () => {
  const response = await send(stack.httpPort, "/secure/x", { host });
  expect(response.status).toBe(200);
  expect(JSON.parse(response.body)).toMatchObject({ backend: "secure", method: "GET", path: "/secure/x" });
});

test("healthPort: Envoy health-checks the other port, and its answer decides whether the endpoint gets traffic", async () => {
  // \`checked\`: its health port answers 200, so the endpoint is served.
  await eventually(async () => ((await stack.envoy.stat("cluster.default_checked_80.health_check.success")) ?? 0) >= 1, { what: "a passed health check of checked" });
  const ok = await send(stack.httpPort, "/checked", { host });
  expect(ok.status).toBe(200);
  expect(ok.json().backend).toBe("served");
  expect(health.received.map((r) => `${r.path} ${r.host}`)).toContain("/healthz contour-envoy-healthcheck");
  expect(served.received.filter((r) => r.path === "/healthz")).toEqual([]);
  // \`sick\`: its traffic port would answer, but its health port fails: Envoy sends it nothing.
  await eventually(async () => ((await stack.envoy.stat("cluster.default_sick_80.health_check.failure")) ?? 0) >= 1, { what: "a failed health check of sick" });
  const refused = await send(stack.httpPort, "/sick", { host });
  expect(refused.status).toBe(503);
  expect(sickServed.received).toEqual([]);
  expect(sickHealth.received.map((r) => `${r.path} ${r.host}`)).toContain("/healthz contour-envoy-healthcheck");
});
