// The Gateway API conformance tests that assert status only, rewritten as our own test against a
// cluster: the compiled agent (`agent serve --kubeconfig`) and the fake API server over HTTPS, which
// bumps metadata.generation on each spec change (docs/gateway-api-conformance.md maps them).
// GatewayClassObservedGenerationBump, GatewayObservedGenerationBump (a listener added: the Gateway's
// and every listener's conditions carry the new generation), HTTPRouteObservedGenerationBump (the
// route's parent conditions), and GatewayWithAttachedRoutes (attachedRoutes follows the routes).
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { eventually } from "./e2e/harness.ts";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver/index.ts";
import { ensureAgentBinary, startServe, type RunningBinary } from "./helpers/agent-binary.ts";
import type { KubeObject } from "../src/sources/types.ts";

// Spawns the agent: on a loaded 2-core machine it takes seconds to start.
setDefaultTimeout(30_000);

const gatewayApi = "gateway.networking.k8s.io/v1";
let api: FakeApiServer;
let agent: RunningBinary & { port: number };

interface Condition {
  type: string;
  status: string;
  reason: string;
  observedGeneration?: number;
}
interface GatewayStatus {
  conditions?: Condition[];
  listeners?: Array<{ name: string; attachedRoutes: number; conditions: Condition[] }>;
}
interface RouteStatus {
  parents?: Array<{ parentRef: { name: string }; conditions: Condition[] }>;
}

const http = (name: string, hostname: string) => ({ name, port: 80, protocol: "HTTP", hostname });
const gateway: KubeObject = { apiVersion: gatewayApi, kind: "Gateway", metadata: { name: "web", namespace: "infra" }, spec: { gatewayClassName: "isobar", listeners: [http("one", "one.example.com")] } };
const httpRoute = (name: string, backend: string): KubeObject => ({
  apiVersion: gatewayApi,
  kind: "HTTPRoute",
  metadata: { name, namespace: "infra" },
  spec: { parentRefs: [{ name: "web" }], rules: [{ backendRefs: [{ name: backend, port: 80 }] }] },
});

beforeAll(async () => {
  await ensureAgentBinary();
  api = await startFakeApiServer();
  api.create({ apiVersion: gatewayApi, kind: "GatewayClass", metadata: { name: "isobar" }, spec: { controllerName: "example.com/isobar" } });
  api.create(gateway);
  api.create(httpRoute("first", "app"));
  api.create({ apiVersion: "v1", kind: "Service", metadata: { name: "app", namespace: "infra" }, spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }] } });
  agent = await startServe(["--kubeconfig", api.kubeconfigPath, "--disable-leader-election", "--holdoff", "20ms", "--gateway-controller-name", "example.com/isobar"]);
}, 60_000);

afterAll(async () => {
  expect(await agent?.stop()).toBe(0);
  await api?.close();
});

const status = <T>(kind: string, namespace: string | undefined, name: string) => (api.get(kind, namespace, name)?.status ?? {}) as T;
const generationOf = (kind: string, namespace: string | undefined, name: string) => api.get(kind, namespace, name)!.metadata.generation!;
/** Every condition's observedGeneration, deduplicated: one number when all agree. */
const observed = (conditions: Condition[]) => [...new Set(conditions.map((c) => c.observedGeneration))];
const gatewayConditions = () => {
  const gw = status<GatewayStatus>("Gateway", "infra", "web");
  return [...(gw.conditions ?? []), ...(gw.listeners ?? []).flatMap((l) => l.conditions)];
};

/** Applies `edit` to the object's spec through the API server (which bumps its generation). */
function editSpec(kind: string, namespace: string | undefined, name: string, edit: (spec: Record<string, unknown>) => void): number {
  const current = structuredClone(api.get(kind, namespace, name)!);
  edit(current.spec as Record<string, unknown>);
  api.update(current);
  return generationOf(kind, namespace, name);
}

test("GatewayClass: Accepted carries the generation, and the new one after a spec change", async () => {
  const before = await eventually(() => observed(status<GatewayStatus>("GatewayClass", undefined, "isobar").conditions ?? [])[0], { what: "the GatewayClass status" });
  expect(before).toBe(generationOf("GatewayClass", undefined, "isobar"));
  const bumped = editSpec("GatewayClass", undefined, "isobar", (spec) => (spec.description = "changed"));
  expect(bumped).toBe(before + 1);
  await eventually(() => observed(status<GatewayStatus>("GatewayClass", undefined, "isobar").conditions ?? []).join() === String(bumped), { what: "the GatewayClass's conditions observe the new generation" });
});

test("Gateway: its conditions and every listener's carry the generation; a listener added bumps them all, and the new listener has its status", async () => {
  const before = await eventually(() => {
    const all = gatewayConditions();
    return all.length > 0 && observed(all).length === 1 && observed(all)[0];
  }, { what: "the Gateway status" });
  expect(before).toBe(generationOf("Gateway", "infra", "web"));
  const bumped = editSpec("Gateway", "infra", "web", (spec) => (spec.listeners as unknown[]).push(http("two", "two.example.com")));
  expect(bumped).toBeGreaterThan(before);
  await eventually(() => {
    const listeners = status<GatewayStatus>("Gateway", "infra", "web").listeners ?? [];
    return listeners.length === 2 && observed(gatewayConditions()).join() === String(bumped);
  }, { what: "the Gateway's and both listeners' conditions observe the new generation" });
  const two = status<GatewayStatus>("Gateway", "infra", "web").listeners!.find((l) => l.name === "two")!;
  expect(two.conditions.filter((c) => c.type === "Accepted" || c.type === "Programmed").map((c) => `${c.type}=${c.status}`)).toEqual(["Accepted=True", "Programmed=True"]);
});

test("HTTPRoute: its parent conditions carry the generation, and the new one after a spec change", async () => {
  const parentConditions = () => (status<RouteStatus>("HTTPRoute", "infra", "first").parents ?? []).flatMap((p) => p.conditions);
  const before = await eventually(() => observed(parentConditions())[0], { what: "the HTTPRoute status" });
  expect(before).toBe(generationOf("HTTPRoute", "infra", "first"));
  // A backend that does not exist: the new generation's ResolvedRefs says so.
  const bumped = editSpec("HTTPRoute", "infra", "first", (spec) => (spec.rules = [{ backendRefs: [{ name: "nothere", port: 80 }] }]));
  expect(bumped).toBe(before + 1);
  await eventually(() => observed(parentConditions()).join() === String(bumped), { what: "the route's conditions observe the new generation" });
  expect(parentConditions().map((c) => `${c.type}=${c.status} ${c.reason}`)).toEqual(["Accepted=True Accepted", "ResolvedRefs=False BackendNotFound"]);
});

test("attachedRoutes counts the routes attached to each listener, and follows a route created and deleted", async () => {
  const attached = () => Object.fromEntries((status<GatewayStatus>("Gateway", "infra", "web").listeners ?? []).map((l) => [l.name, l.attachedRoutes]));
  await eventually(() => JSON.stringify(attached()) === JSON.stringify({ one: 1, two: 1 }), { what: "one route attached to each listener" });
  api.create(httpRoute("second", "app"));
  await eventually(() => JSON.stringify(attached()) === JSON.stringify({ one: 2, two: 2 }), { what: "a second route attached" });
  api.delete("HTTPRoute", "infra", "second");
  await eventually(() => JSON.stringify(attached()) === JSON.stringify({ one: 1, two: 1 }), { what: "the deleted route detached" });
});
