// Gateway API from a cluster, against the fake API server over HTTPS: every kind is listed and
// watched, at the version the API server serves (TLSRoute at v1alpha2 where v1 is not served); a
// cluster without the Gateway API CRDs is tolerated and each missing kind logged once, and objects
// appear once the CRDs are installed; the leader writes GatewayClass, Gateway, route and
// BackendTLSPolicy status (at the version served), and nothing on another controller's objects.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver/index.ts";
import { createRecorder } from "./fake-apiserver/recorder.ts";
import { createKubernetesSource, type KubernetesSource } from "../src/sources/kubernetes.ts";
import { createObjectCache } from "../src/pipeline/cache.ts";
import { createPipeline } from "../src/pipeline/run.ts";
import { createSnapshotStore } from "../src/xds/snapshot.ts";
import { loadKubeConfig } from "../src/k8s/kubeconfig.ts";
import { startStatusReporting } from "../src/status/reporting.ts";
import type { KubeObject } from "../src/sources/types.ts";
import { testCa } from "./e2e/pki.ts";

const group = "gateway.networking.k8s.io";
const gatewayKinds = ["GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant", "TLSRoute", "TCPRoute", "BackendTLSPolicy"];

function logger() {
  const warnings: string[] = [];
  const infos: string[] = [];
  const log = { withTag: () => log, info: (m: string) => infos.push(m), warn: (m: string) => warnings.push(m), debug() {}, error() {}, log() {} };
  return { log: log as never, warnings, infos };
}

function objects(): KubeObject[] {
  const meta = (name: string, namespace?: string, creationTimestamp?: string) => ({ name, ...(namespace ? { namespace } : {}), ...(creationTimestamp ? { creationTimestamp } : {}) });
  const listeners = [{ name: "http", port: 80, protocol: "HTTP" }];
  const parentRefs = [{ name: "web", namespace: "infra" }];
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "apps", labels: { team: "a" } }, spec: { finalizers: ["kubernetes"] } },
    { apiVersion: `${group}/v1`, kind: "GatewayClass", metadata: meta("contour", undefined, "2026-01-01T00:00:00Z"), spec: { controllerName: "projectcontour.io/gateway-controller" } },
    { apiVersion: `${group}/v1`, kind: "GatewayClass", metadata: meta("contour-young", undefined, "2026-01-02T00:00:00Z"), spec: { controllerName: "projectcontour.io/gateway-controller" } },
    { apiVersion: `${group}/v1`, kind: "GatewayClass", metadata: meta("other", undefined, "2025-01-01T00:00:00Z"), spec: { controllerName: "example.com/other" } },
    { apiVersion: `${group}/v1`, kind: "Gateway", metadata: meta("web", "infra", "2026-02-01T00:00:00Z"), spec: { gatewayClassName: "contour", listeners } },
    { apiVersion: `${group}/v1`, kind: "Gateway", metadata: meta("web-newer", "infra", "2026-03-01T00:00:00Z"), spec: { gatewayClassName: "contour", listeners } },
    { apiVersion: `${group}/v1`, kind: "Gateway", metadata: meta("foreign", "infra", "2025-01-01T00:00:00Z"), spec: { gatewayClassName: "other", listeners } },
    { apiVersion: `${group}/v1`, kind: "HTTPRoute", metadata: meta("app", "apps"), spec: { parentRefs, rules: [{ backendRefs: [{ name: "api", port: 80 }] }] } },
    { apiVersion: `${group}/v1`, kind: "GRPCRoute", metadata: meta("grpc", "apps"), spec: { parentRefs, rules: [{ backendRefs: [{ name: "grpc", port: 9000 }] }] } },
    { apiVersion: `${group}/v1`, kind: "ReferenceGrant", metadata: meta("grant", "apps"), spec: { from: [{ group, kind: "HTTPRoute", namespace: "other" }], to: [{ group: "", kind: "Service" }] } },
    { apiVersion: `${group}/v1`, kind: "TLSRoute", metadata: meta("tls", "apps"), spec: { parentRefs, hostnames: ["tls.example.com"], rules: [{ backendRefs: [{ name: "tls", port: 443 }] }] } },
    { apiVersion: `${group}/v1`, kind: "TCPRoute", metadata: meta("tcp", "apps"), spec: { parentRefs, rules: [{ backendRefs: [{ name: "db", port: 5432 }] }] } },
    { apiVersion: `${group}/v1`, kind: "BackendTLSPolicy", metadata: meta("tls-policy", "apps"), spec: { targetRefs: [{ group: "", kind: "Service", name: "api" }], validation: { hostname: "api.internal", wellKnownCACertificates: "System" } } },
  ];
}

let api: FakeApiServer;
let source: KubernetesSource | undefined;

beforeEach(async () => {
  api = await startFakeApiServer({ bookmarkIntervalMs: 0 });
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
  await api.close();
});

function startSource(log: ReturnType<typeof logger>, watchNamespaces?: string[]) {
  const { kubeConfig } = loadKubeConfig({ kubeconfig: api.kubeconfigPath });
  source = createKubernetesSource({ kubeConfig, logger: log.log, backoff: { initialMs: 10, maxMs: 50 }, watchNamespaces });
  return source;
}

/**
 * Starts the cluster source, a pipeline over it and status reporting as the leader (no election);
 * `since` counts the API server's requests before the source starts.
 */
async function startLeader() {
  const log = logger();
  const kubernetes = startSource(log);
  const cache = createObjectCache({ ingressClassNames: [] });
  const dag = { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => new Date(), gateway: { bundleVersion: kubernetes.gatewayApiBundleVersion } };
  const pipeline = createPipeline(createSnapshotStore(), cache, { dag, holdoffMs: 5, maxDelayMs: 20, sources: ["kubernetes"] });
  const { kubeConfig } = loadKubeConfig({ kubeconfig: api.kubeconfigPath });
  const reporting = startStatusReporting({ kubeConfig, pipeline, cache, leaderElection: false, logger: log.log });
  const since = api.requests.length;
  await kubernetes.start(pipeline.handlerFor("kubernetes"));
  return { log, cache, pipeline, reporting, since };
}

describe("Gateway API from a cluster", () => {
  test("every kind is listed and watched, each at a version the API server serves", async () => {
    api.setServedVersions("TLSRoute", ["v1alpha2"]);
    api.setServedVersions("BackendTLSPolicy", ["v1alpha3"]);
    for (const object of objects()) api.create(object);
    const log = logger();
    const recorder = createRecorder();
    await startSource(log).start(recorder);
    await recorder.synced;
    const held = [...recorder.state.values()].filter((o) => o.apiVersion.startsWith(group) || o.kind === "Namespace");
    expect(held.map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`).sort()).toEqual([
      `${group}/v1 GRPCRoute apps/grpc`,
      `${group}/v1 Gateway infra/foreign`,
      `${group}/v1 Gateway infra/web`,
      `${group}/v1 Gateway infra/web-newer`,
      `${group}/v1 GatewayClass contour`,
      `${group}/v1 GatewayClass contour-young`,
      `${group}/v1 GatewayClass other`,
      `${group}/v1 HTTPRoute apps/app`,
      `${group}/v1 ReferenceGrant apps/grant`,
      `${group}/v1 TCPRoute apps/tcp`,
      `${group}/v1alpha2 TLSRoute apps/tls`,
      `${group}/v1alpha3 BackendTLSPolicy apps/tls-policy`,
      "v1 Namespace apps",
    ]);
    expect(log.infos).toContain("TLSRoute: watching gateway.networking.k8s.io/v1alpha2 (the API server does not serve v1)");
    // Namespaces keep their labels only.
    expect(recorder.state.get("Namespace apps")).toMatchObject({ metadata: { labels: { team: "a" } } });
    expect(recorder.state.get("Namespace apps")!.spec).toBeUndefined();
    // The objects reach the cache, which accepts the older version.
    const cache = createObjectCache({ ingressClassNames: [] });
    cache.applyAll(recorder.events);
    expect(cache.gatewayApi().tlsRoutes.map((r) => r.apiVersion)).toEqual([`${group}/v1alpha2`]);
    expect(cache.gatewayApi().backendTLSPolicies.map((r) => r.metadata.name)).toEqual(["tls-policy"]);
    // Watched: a change after the list arrives.
    api.create({ apiVersion: `${group}/v1alpha2`, kind: "TLSRoute", metadata: { name: "later", namespace: "apps" }, spec: { rules: [{ backendRefs: [{ name: "tls", port: 443 }] }] } });
    await recorder.waitFor(() => recorder.state.has("TLSRoute apps/later"));
    expect(recorder.anomalies).toEqual([]);
  });

  test("without the Gateway API CRDs the source syncs, says so once per kind, and picks the objects up once they are installed", async () => {
    api.setGroupInstalled(group, false);
    const log = logger();
    const recorder = createRecorder();
    await startSource(log, ["apps", "infra"]).start(recorder);
    await recorder.synced;
    // Retried in the background (backoff of 10-50 ms here): still one message per kind.
    const retried = api.requests.length;
    await api.waitForRequest((r) => r.plural === "httproutes" && r.verb === "list", retried);
    for (const kind of gatewayKinds) {
      expect(log.warnings.filter((w) => w.startsWith(`${kind} (`))).toEqual([`${kind} (${group}/v1) is not served by the API server (CRD not installed?); retrying`]);
    }
    expect(log.infos.some((m) => m.startsWith("Gateway API CRD bundle version not read: GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/gatewayclasses.gateway.networking.k8s.io: 404"))).toBe(true);
    api.setGroupInstalled(group, true);
    for (const object of objects()) api.create(object);
    await recorder.waitFor(() => ["GatewayClass contour", "Gateway infra/web", "HTTPRoute apps/app", "BackendTLSPolicy apps/tls-policy"].every((key) => recorder.state.has(key)));
    expect(recorder.anomalies).toEqual([]);
  });

  test("the leader writes GatewayClass and Gateway status with the CRDs' bundle version; other controllers' objects are not touched", async () => {
    api.create({ apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: `gatewayclasses.${group}`, annotations: { [`${group}/bundle-version`]: "v1.3.0" } }, spec: {} });
    for (const object of objects()) api.create(object);
    const { log, pipeline, reporting, since } = await startLeader();
    const patched = (plural: string, name: string) => (r: { verb: string; plural?: string; subresource?: string; path: string }) => r.verb === "patch" && r.plural === plural && r.subresource === "status" && r.path.endsWith(`/${name}/status`);
    await Promise.all([
      api.waitForRequest(patched("gatewayclasses", "contour"), since),
      api.waitForRequest(patched("gatewayclasses", "contour-young"), since),
      api.waitForRequest(patched("gateways", "web"), since),
      api.waitForRequest(patched("gateways", "web-newer"), since),
      api.waitForRequest(patched("httproutes", "app"), since),
      api.waitForRequest(patched("grpcroutes", "grpc"), since),
      api.waitForRequest(patched("tlsroutes", "tls"), since),
    ]);
    await reporting.stop();
    await pipeline.stop();
    expect(log.infos).toContain("Gateway API CRDs found: bundle version v1.3.0");
    const conditions = (kind: string, namespace: string | undefined, name: string) =>
      ((api.get(kind, namespace, name)?.status as { conditions?: Array<Record<string, unknown>> } | undefined)?.conditions ?? []).map(({ lastTransitionTime, ...rest }) => {
        expect(typeof lastTransitionTime).toBe("string");
        return rest;
      });
    expect(conditions("GatewayClass", undefined, "contour")).toEqual([
      { type: "Accepted", status: "True", reason: "Accepted", message: "Valid GatewayClass", observedGeneration: 1 },
      { type: "SupportedVersion", status: "True", reason: "SupportedVersion", message: "Gateway API CRD bundle version v1.3.0 is supported", observedGeneration: 1 },
    ]);
    expect(conditions("GatewayClass", undefined, "contour-young")[0]).toEqual({
      type: "Accepted",
      status: "False",
      reason: "OlderGatewayClassExists",
      message: "another older GatewayClass with controllerName projectcontour.io/gateway-controller exists: contour",
      observedGeneration: 1,
    });
    expect(conditions("Gateway", "infra", "web")).toEqual([
      { type: "Accepted", status: "True", reason: "Accepted", message: "Gateway is accepted: its GatewayClass contour is served by this agent", observedGeneration: 1 },
      { type: "Programmed", status: "True", reason: "Programmed", message: "1 of 1 listeners are programmed in Envoy", observedGeneration: 1 },
    ]);
    expect(conditions("Gateway", "infra", "web-newer").map((c) => `${c.type}=${c.status} ${c.reason}`)).toEqual(["Accepted=False OlderGatewayExists", "Programmed=False OlderGatewayExists"]);
    // The HTTPRoute in another namespace than the Gateway is refused by its listener (from: Same), and says so under our controllerName.
    const parents = (api.get("HTTPRoute", "apps", "app")?.status as { parents?: Array<{ controllerName: string; conditions: Array<{ type: string; status: string; reason: string }> }> } | undefined)?.parents ?? [];
    expect(parents.map((p) => [p.controllerName, ...p.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`)])).toEqual([
      ["projectcontour.io/gateway-controller", "Accepted=False NotAllowedByListeners", "ResolvedRefs=False BackendNotFound"],
    ]);
    const grpcParents = (api.get("GRPCRoute", "apps", "grpc")?.status as { parents?: Array<{ conditions: Array<{ type: string; status: string; reason: string }> }> } | undefined)?.parents ?? [];
    expect(grpcParents.map((p) => p.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`))).toEqual([["Accepted=False NotAllowedByListeners", "ResolvedRefs=False BackendNotFound"]]);
    // The TCPRoute (read at v1) gets its parents too: the Gateway has no TCP listener.
    const tcpParents = (api.get("TCPRoute", "apps", "tcp")?.status as { parents?: Array<{ conditions: Array<{ type: string; status: string; reason: string }> }> } | undefined)?.parents ?? [];
    expect(tcpParents.map((p) => p.conditions.map((c) => `${c.type}=${c.status} ${c.reason}`))).toEqual([["Accepted=False NotAllowedByListeners", "ResolvedRefs=False BackendNotFound"]]);
    // Nothing written on another controller's class or Gateway, on ReferenceGrants, or on a policy whose Service no route reaches.
    const writes = api.requests.slice(since).filter((r) => r.verb === "patch" || r.verb === "update");
    expect(writes.map((r) => r.path).filter((p) => /other|foreign|referencegrants|backendtlspolicies/.test(p))).toEqual([]);
    expect(api.get("GatewayClass", undefined, "other")?.status).toBeUndefined();
    expect(api.get("Gateway", "infra", "foreign")?.status).toBeUndefined();
  });

  test("a BackendTLSPolicy served at v1alpha3 gets its ancestor status there, and its CA ConfigMap is watched, kept as ca.crt only", async () => {
    api.setServedVersions("BackendTLSPolicy", ["v1alpha3"]);
    const ca = await testCa("cluster backend CA");
    const parentRefs = [{ name: "web", namespace: "infra" }];
    for (const object of [
      objects().find((o) => o.kind === "GatewayClass")!,
      objects().find((o) => o.kind === "Gateway")!,
      { apiVersion: "v1", kind: "Service", metadata: { name: "secure", namespace: "infra" }, spec: { ports: [{ name: "https", port: 443 }] } },
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "secure-ca", namespace: "infra" }, data: { "ca.crt": ca.certificatePem, "other.conf": "x".repeat(10_000) } },
      { apiVersion: `${group}/v1`, kind: "HTTPRoute", metadata: { name: "secure", namespace: "infra" }, spec: { parentRefs, rules: [{ backendRefs: [{ name: "secure", port: 443 }] }] } },
      { apiVersion: `${group}/v1alpha3`, kind: "BackendTLSPolicy", metadata: { name: "secure", namespace: "infra" }, spec: { targetRefs: [{ group: "", kind: "Service", name: "secure" }], validation: { caCertificateRefs: [{ group: "", kind: "ConfigMap", name: "secure-ca" }], hostname: "secure.internal" } } },
    ] as KubeObject[]) api.create(object);
    const { cache, pipeline, reporting, since } = await startLeader();
    const write = await api.waitForRequest((r) => r.verb === "patch" && r.plural === "backendtlspolicies" && r.subresource === "status", since);
    await reporting.stop();
    await pipeline.stop();
    expect(write.path).toBe(`/apis/${group}/v1alpha3/namespaces/infra/backendtlspolicies/secure/status`);
    const ancestors = (api.get("BackendTLSPolicy", "infra", "secure")?.status as { ancestors?: Array<Record<string, any>> } | undefined)?.ancestors ?? [];
    expect(ancestors.map((a) => [a.ancestorRef, a.controllerName, a.conditions.map((c: Record<string, unknown>) => `${c.type}=${c.status} ${c.reason} (generation ${c.observedGeneration})`)])).toEqual([
      [{ group, kind: "Gateway", namespace: "infra", name: "web" }, "projectcontour.io/gateway-controller", ["Accepted=True Accepted (generation 1)", "ResolvedRefs=True ResolvedRefs (generation 1)"]],
    ]);
    expect(cache.configMap("infra", "secure-ca")?.data).toEqual({ "ca.crt": ca.certificatePem });
  });
});
