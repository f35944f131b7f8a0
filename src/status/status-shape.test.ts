// The Gateway API status shapes the writer sends: a Gateway's conditions and listeners, an
// HTTPRoute's parents and a BackendTLSPolicy's ancestors beside other controllers' entries, each condition stamped with
// observedGeneration and a lastTransitionTime kept while its status holds.
import { expect, test } from "bun:test";
import type { ObjectStatus } from "../dag/status.ts";
import type { KubeObject } from "../sources/types.ts";
import { desiredStatus, statusEqual } from "./status-shape.ts";

const now = new Date("2026-12-01T10:00:00Z");
const earlier = "2026-11-01T00:00:00Z";

test("a Gateway: conditions and listeners, each listener condition keeping its transition time while it holds", () => {
  const object: KubeObject = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "web", namespace: "infra", generation: 2 },
    status: { listeners: [{ name: "http", conditions: [{ type: "Accepted", status: "True", lastTransitionTime: earlier }, { type: "Programmed", status: "False", lastTransitionTime: earlier }] }] },
  };
  const status: ObjectStatus = {
    ref: { kind: "Gateway", namespace: "infra", name: "web" },
    currentStatus: "valid",
    description: "",
    errors: [],
    warnings: [],
    conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "ok" }],
    listeners: [
      {
        name: "http",
        supportedKinds: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute" }],
        attachedRoutes: 3,
        conditions: [
          { type: "Accepted", status: "True", reason: "Accepted", message: "Listener accepted" },
          { type: "Programmed", status: "True", reason: "Programmed", message: "Listener programmed in Envoy" },
        ],
      },
    ],
  };
  const desired = desiredStatus(object, status, { now })!;
  const [listener] = desired.listeners as Array<{ attachedRoutes: number; conditions: Array<Record<string, unknown>> }>;
  expect(listener!.attachedRoutes).toBe(3);
  expect(listener!.conditions.map((c) => [c.type, c.observedGeneration, c.lastTransitionTime])).toEqual([
    ["Accepted", 2, earlier],
    ["Programmed", 2, "2026-12-01T10:00:00Z"],
  ]);
  expect(statusEqual({ ...desired }, desired)).toBe(true);
  expect(desired.addresses).toBeUndefined();
  // The Envoy Service's load balancer address (or --ingress-status-address) is where the Gateway is reached.
  const withAddresses = desiredStatus(object, status, { now, loadBalancer: [{ ip: "192.0.2.1" }, { hostname: "lb.example.com" }] })!;
  expect(withAddresses.addresses).toEqual([
    { type: "IPAddress", value: "192.0.2.1" },
    { type: "Hostname", value: "lb.example.com" },
  ]);
});

test("an HTTPRoute: our parents replace ours and keep other controllers' entries", () => {
  const theirs = { parentRef: { name: "other" }, controllerName: "example.com/other", conditions: [{ type: "Accepted", status: "True" }] };
  const object: KubeObject = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "apps", generation: 5 },
    status: { parents: [theirs, { parentRef: { name: "web" }, controllerName: "projectcontour.io/gateway-controller", conditions: [{ type: "Accepted", status: "False", lastTransitionTime: earlier }] }] },
  };
  const status: ObjectStatus = {
    ref: { kind: "HTTPRoute", namespace: "apps", name: "r" },
    currentStatus: "valid",
    description: "",
    errors: [],
    warnings: [],
    parents: [{ parentRef: { name: "web" }, controllerName: "projectcontour.io/gateway-controller", conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "Accepted HTTPRoute" }] }],
  };
  const parents = desiredStatus(object, status, { now })!.parents as Array<{ controllerName: string; conditions: Array<Record<string, unknown>> }>;
  expect(parents.map((p) => p.controllerName)).toEqual(["example.com/other", "projectcontour.io/gateway-controller"]);
  expect(parents[1]!.conditions).toEqual([{ type: "Accepted", status: "True", reason: "Accepted", message: "Accepted HTTPRoute", observedGeneration: 5, lastTransitionTime: "2026-12-01T10:00:00Z" }]);
  // A route this processor says nothing about gets no write.
  expect(desiredStatus(object, { ...status, parents: undefined }, { now })).toBeUndefined();
});

test("an HTTPRoute: our parent entry is matched by its parentRef whatever the order of its keys (the server's copy keeps its own)", () => {
  const object: KubeObject = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "apps", generation: 5 },
    status: { parents: [{ parentRef: { name: "web", namespace: "apps", group: "gateway.networking.k8s.io", kind: "Gateway" }, controllerName: "projectcontour.io/gateway-controller", conditions: [{ type: "Accepted", status: "True", lastTransitionTime: earlier }] }] },
  };
  const status: ObjectStatus = {
    ref: { kind: "HTTPRoute", namespace: "apps", name: "r" },
    currentStatus: "valid",
    description: "",
    errors: [],
    warnings: [],
    parents: [{ parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "apps", name: "web" }, controllerName: "projectcontour.io/gateway-controller", conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "Accepted HTTPRoute" }] }],
  };
  const parents = desiredStatus(object, status, { now })!.parents as Array<{ conditions: Array<Record<string, unknown>> }>;
  expect(parents).toHaveLength(1);
  expect(parents[0]!.conditions[0]!.lastTransitionTime).toBe(earlier);
});

test("a BackendTLSPolicy: our ancestors after other controllers', taken back when it has none; no write when it never had ours", () => {
  const gateway = { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra", name: "web" };
  const theirs = { ancestorRef: { ...gateway, name: "theirs" }, controllerName: "example.com/other", conditions: [{ type: "Accepted", status: "True" }] };
  const ours = { ancestorRef: gateway, controllerName: "projectcontour.io/gateway-controller", conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "Accepted BackendTLSPolicy", lastTransitionTime: earlier }] };
  const object: KubeObject = { apiVersion: "gateway.networking.k8s.io/v1alpha3", kind: "BackendTLSPolicy", metadata: { name: "p", namespace: "apps", generation: 2 }, status: { ancestors: [theirs, ours] } };
  const status: ObjectStatus = {
    ref: { kind: "BackendTLSPolicy", namespace: "apps", name: "p" },
    currentStatus: "valid",
    description: "",
    errors: [],
    warnings: [],
    ancestors: [{ ancestorRef: gateway, controllerName: "projectcontour.io/gateway-controller", conditions: [{ type: "Accepted", status: "True", reason: "Accepted", message: "Accepted BackendTLSPolicy" }] }],
  };
  const desired = desiredStatus(object, status, { now })!;
  expect(desired.ancestors).toEqual([theirs, { ...ours, conditions: [{ ...ours.conditions[0], observedGeneration: 2, lastTransitionTime: earlier }] }]);
  expect(statusEqual(object.status, desired)).toBe(false); // observedGeneration is new
  // No route of the Gateway reaches its target any more: our entry goes, theirs stays.
  const none = { ...status, ancestors: [], controllerName: "projectcontour.io/gateway-controller" };
  expect(desiredStatus(object, none, { now })).toEqual({ ancestors: [theirs] });
  // Never ours: nothing to write.
  expect(desiredStatus({ ...object, status: { ancestors: [theirs] } }, none, { now })).toBeUndefined();
});
