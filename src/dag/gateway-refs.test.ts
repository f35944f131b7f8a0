// Hostname intersection, label selectors, ReferenceGrants and Gateway API durations, one behaviour each.
import { describe, expect, test } from "bun:test";
import type { ReferenceGrant } from "./gateway-api-types.ts";
import { gatewayDuration } from "./gateway-httproute.ts";
import { intersectHostname, referenceGranted, routeHostnames, selectorMatches } from "./gateway-refs.ts";

describe("hostname intersection (listener × route)", () => {
  test.each([
    ["a.example.com", "a.example.com", "a.example.com"],
    ["*.example.com", "a.example.com", "a.example.com"],
    ["*.example.com", "a.b.example.com", "a.b.example.com"],
    ["*.example.com", "example.com", undefined],
    ["a.example.com", "*.example.com", "a.example.com"],
    ["*.example.com", "*.a.example.com", "*.a.example.com"],
    ["*.a.example.com", "*.example.com", "*.a.example.com"],
    ["*.example.com", "*.example.com", "*.example.com"],
    ["a.example.com", "b.example.com", undefined],
    ["*.example.com", "a.example.org", undefined],
  ])("listener %s, route %s → %s", (listener, route, expected) => {
    expect(intersectHostname(listener, route)).toBe(expected);
  });

  test("no hostname on either side: the listener's, the route's, or any host", () => {
    expect(routeHostnames(undefined, undefined)).toEqual(["*"]);
    expect(routeHostnames("*.example.com", [])).toEqual(["*.example.com"]);
    expect(routeHostnames(undefined, ["A.example.com"])).toEqual(["a.example.com"]);
    expect(routeHostnames("*.example.com", ["a.example.com", "a.example.org", "*.example.com"])).toEqual(["a.example.com", "*.example.com"]);
  });
});

test("label selectors: matchLabels and the four operators", () => {
  const labels = { team: "a", tier: "web" };
  expect(selectorMatches({ matchLabels: { team: "a" } }, labels)).toBe(true);
  expect(selectorMatches({ matchLabels: { team: "b" } }, labels)).toBe(false);
  expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "In", values: ["web", "api"] }] }, labels)).toBe(true);
  expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["web"] }] }, labels)).toBe(false);
  expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "Exists" }] }, labels)).toBe(true);
  expect(selectorMatches({ matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, labels)).toBe(false);
  expect(selectorMatches({}, labels)).toBe(true);
  expect(selectorMatches(undefined, labels)).toBe(false);
});

test("ReferenceGrants: same namespace needs none; another needs a grant from that kind and namespace, to that name when named", () => {
  const grant = (to: { name?: string }): ReferenceGrant => ({
    apiVersion: "gateway.networking.k8s.io/v1beta1",
    kind: "ReferenceGrant",
    metadata: { namespace: "backends", name: "g" },
    spec: { from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "apps" }], to: [{ group: "", kind: "Service", ...to }] },
  });
  const from = { kind: "HTTPRoute", namespace: "apps" };
  const to = { kind: "Service", namespace: "backends", name: "api" };
  expect(referenceGranted([], { kind: "HTTPRoute", namespace: "backends" }, to)).toBe(true);
  expect(referenceGranted([], from, to)).toBe(false);
  expect(referenceGranted([grant({})], from, to)).toBe(true);
  expect(referenceGranted([grant({ name: "api" })], from, to)).toBe(true);
  expect(referenceGranted([grant({ name: "other" })], from, to)).toBe(false);
  expect(referenceGranted([grant({})], { kind: "Gateway", namespace: "apps" }, to)).toBe(false);
  expect(referenceGranted([grant({})], { kind: "HTTPRoute", namespace: "elsewhere" }, to)).toBe(false);
  expect(referenceGranted([grant({})], from, { ...to, kind: "Secret" })).toBe(false);
});

test("Gateway API durations", () => {
  expect(gatewayDuration("10s")).toBe(10_000);
  expect(gatewayDuration("1h2m3s500ms")).toBe(3_723_500);
  expect(gatewayDuration("0s")).toBe(0);
  expect(gatewayDuration("1.5s")).toBeUndefined();
  expect(gatewayDuration("10")).toBeUndefined();
});
