// The compiled agent against a cluster, as a user runs it from a laptop: `dist/agent serve
// --kubeconfig FILE` against the fake API server over HTTPS with its own CA. Objects created in the
// cluster reach an xDS client; the leader writes Ingress status with the configured address; an
// object changed in the cluster changes what is served; the GatewayClass of --gateway-controller-name
// and its Gateway get their status, another controller's do not.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { eventually } from "./e2e/harness.ts";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver/index.ts";
import { ensureAgentBinary, runAgent, startServe, type RunningBinary } from "./helpers/agent-binary.ts";
import type { KubeObject } from "../src/sources/types.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

let api: FakeApiServer;
let agent: RunningBinary & { port: number };

const service: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "shop" }, spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }] } };
const slice: KubeObject = {
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: "web-1", namespace: "shop", labels: { "kubernetes.io/service-name": "web" } },
  addressType: "IPv4",
  ports: [{ name: "http", port: 8080 }],
  endpoints: [{ addresses: ["10.9.0.1"], conditions: { ready: true } }],
};
const ingress = (host: string): KubeObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "Ingress",
  metadata: { name: "web", namespace: "shop" },
  spec: { rules: [{ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { name: "http" } } } }] } }] },
});

const gatewayApi = "gateway.networking.k8s.io/v1";
const listeners = [{ name: "http", port: 80, protocol: "HTTP" }];
const gatewayObjects: KubeObject[] = [
  { apiVersion: gatewayApi, kind: "GatewayClass", metadata: { name: "isobar" }, spec: { controllerName: "example.com/isobar" } },
  { apiVersion: gatewayApi, kind: "GatewayClass", metadata: { name: "contour" }, spec: { controllerName: "projectcontour.io/gateway-controller" } },
  { apiVersion: gatewayApi, kind: "Gateway", metadata: { name: "ours", namespace: "infra" }, spec: { gatewayClassName: "isobar", listeners } },
  { apiVersion: gatewayApi, kind: "Gateway", metadata: { name: "theirs", namespace: "infra" }, spec: { gatewayClassName: "contour", listeners } },
];

async function xds(type: string, ...names: string[]): Promise<string> {
  const run = await runAgent(["xds", "--server", `127.0.0.1:${agent.port}`, "--type", type, "--timeout", "5s", ...names]);
  expect(run.code).toBe(0);
  return run.stdout;
}

beforeAll(async () => {
  await ensureAgentBinary();
  api = await startFakeApiServer();
  for (const object of [service, slice, ingress("shop.example.com"), ...gatewayObjects]) api.create(object);
  agent = await startServe(["--kubeconfig", api.kubeconfigPath, "--ingress-status-address", "192.0.2.10", "--leader-election-namespace", "isobar-system", "--holdoff", "20ms", "--gateway-controller-name", "example.com/isobar"]);
  await agent.waitForLine(/first snapshot published/);
}, 60_000);

afterAll(async () => {
  expect(await agent?.stop()).toBe(0);
  await api?.close();
});

describe("agent serve --kubeconfig (compiled binary, fake API server over HTTPS)", () => {
  test("the cluster's objects are served over xDS", async () => {
    expect(await xds("rds", "ingress_http")).toContain("shop.example.com");
    expect(await xds("eds", "shop/web/http")).toContain("10.9.0.1");
  });

  test("the leader writes the Ingress status with the configured address", async () => {
    await api.waitForRequest((r) => r.method === "PATCH" && r.path.includes("/ingresses/web/status"), 0);
    const status = api.get("Ingress", "shop", "web")!.status as { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
    expect(status.loadBalancer?.ingress).toEqual([{ ip: "192.0.2.10" }]);
    expect(api.requests.some((r) => r.path.includes("/leases") && (r.method === "POST" || r.method === "PUT"))).toBe(true);
  }, 20_000);

  test("the leader writes the status of its GatewayClass and Gateway, and none on another controller's", async () => {
    await api.waitForRequest((r) => r.method === "PATCH" && r.path.endsWith("/gateways/ours/status"), 0);
    await api.waitForRequest((r) => r.method === "PATCH" && r.path.endsWith("/gatewayclasses/isobar/status"), 0);
    const conditions = (kind: string, namespace: string | undefined, name: string) =>
      ((api.get(kind, namespace, name)?.status as { conditions?: Array<{ type: string; status: string; reason: string }> } | undefined)?.conditions ?? []).map((c) => `${c.type}=${c.status} ${c.reason}`);
    // No CRD object in this fake cluster: the bundle version is unknown, and the class says so.
    expect(conditions("GatewayClass", undefined, "isobar")).toEqual(["Accepted=True Accepted", "SupportedVersion=False UnsupportedVersion"]);
    expect(conditions("Gateway", "infra", "ours")).toEqual(["Accepted=True Accepted", "Programmed=False Pending"]);
    expect(api.requests.filter((r) => r.method === "PATCH" && /contour|theirs/.test(r.path))).toEqual([]);
  }, 20_000);

  test("a change in the cluster changes what is served", async () => {
    const current = api.get("Ingress", "shop", "web")!;
    api.update({ ...ingress("store.example.com"), metadata: { ...current.metadata } });
    const deadline = Date.now() + 10_000;
    let routes = "";
    while (Date.now() < deadline) {
      routes = await xds("rds", "ingress_http");
      if (routes.includes("store.example.com")) break;
    }
    expect(routes).toContain("store.example.com");
    expect(routes).not.toContain("shop.example.com");
  }, 20_000);
});

describe("without --ingress-status-address: Contour's default, the Service envoy in the agent's namespace", () => {
  test("its load balancer address goes into Ingress status", async () => {
    const cluster = await startFakeApiServer();
    let defaulted: (RunningBinary & { port: number }) | undefined;
    try {
      for (const object of [service, slice, ingress("shop.example.com")]) cluster.create(object);
      // The fake's kubeconfig names no namespace: the agent's namespace is then isobar-system.
      cluster.create({ apiVersion: "v1", kind: "Service", metadata: { name: "envoy", namespace: "isobar-system" }, spec: { type: "LoadBalancer", ports: [{ name: "http", port: 80 }] } });
      cluster.setStatus("Service", "isobar-system", "envoy", { loadBalancer: { ingress: [{ ip: "192.0.2.20" }] } });
      defaulted = await startServe(["--kubeconfig", cluster.kubeconfigPath, "--disable-leader-election", "--holdoff", "20ms"]);
      await cluster.waitForRequest((r) => r.method === "PATCH" && r.path.includes("/ingresses/web/status"), 0);
      expect((cluster.get("Ingress", "shop", "web")!.status as { loadBalancer?: unknown }).loadBalancer).toEqual({ ingress: [{ ip: "192.0.2.20" }] });
    } finally {
      if (defaulted) expect(await defaulted.stop()).toBe(0);
      await cluster.close();
    }
  }, 30_000);
});

describe("agent serve --contour-config-name against a cluster", () => {
  test("the ContourConfiguration is read from the agent's namespace, marked Valid, and a bad edit is marked not Valid while the last good one is served", async () => {
    const cluster = await startFakeApiServer();
    const config = (responseHeaders: Record<string, unknown>): KubeObject => ({
      apiVersion: "projectcontour.io/v1alpha1",
      kind: "ContourConfiguration",
      metadata: { name: "contour", namespace: "projectcontour" },
      spec: { policy: { responseHeaders, applyToIngress: true } },
    });
    for (const object of [service, slice, ingress("config.example.com"), config({ set: { "x-config": "first" } })]) cluster.create(object);
    const served = await startServe(["--kubeconfig", cluster.kubeconfigPath, "--contour-config-name", "contour", "--disable-leader-election", "--holdoff", "20ms", "--log-format", "json"], { env: { CONTOUR_NAMESPACE: "projectcontour" } });
    try {
      await served.waitForLine(/first snapshot published/);
      const valid = () => ((cluster.get("ContourConfiguration", "projectcontour", "contour")!.status as { conditions?: Array<{ type: string; status: string; message: string }> } | undefined)?.conditions ?? [])[0];
      expect(valid()).toMatchObject({ type: "Valid", status: "True" });
      const rds = async () => (await runAgent(["xds", "--server", `127.0.0.1:${served.port}`, "--type", "rds", "--timeout", "5s", "ingress_http"])).stdout;
      expect(await rds()).toContain("first");
      cluster.update(config({ set: { "x-config": "second" }, sett: {} }));
      await served.waitForLine(/unknown setting spec\.policy\.responseHeaders\.sett; still serving the last good configuration/);
      await eventually(() => valid()?.status === "False", { what: "the Valid=False condition" });
      expect(valid()).toMatchObject({ type: "Valid", status: "False", message: "ContourConfiguration projectcontour/contour: unknown setting spec.policy.responseHeaders.sett" });
      expect(await rds()).toContain("first");
      cluster.update(config({ set: { "x-config": "third" } }));
      await served.waitForLine(/ContourConfiguration projectcontour\/contour changed: applying it/);
      await eventually(async () => (await rds()).includes("third"), { what: "the edited configuration served" });
      expect(valid()).toMatchObject({ type: "Valid", status: "True" });
    } finally {
      expect(await served.stop()).toBe(0);
      await cluster.close();
    }
  }, 60_000);
});
