// Gateway API objects from manifests: each kind at each accepted apiVersion lands in the object
// cache typed, with the Secrets and Services it names counted as referenced; each kind with a
// field its upstream CRD schema refuses is invalid, the error naming the file and the field; the
// served GatewayClass and Gateway get their conditions (test/gateway-api-manifests/).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { loadManifests } from "../sources/manifests.ts";
import { createObjectCache } from "../pipeline/cache.ts";
import type { KubeObject } from "../sources/types.ts";
import { validateManifests } from "../validate/run.ts";
import { formatJson, formatText } from "../validate/format.ts";
import { buildResources } from "../pipeline/build.ts";
import { statusView } from "../observe/debug-views.ts";
import type { DagOptions } from "./processor.ts";

const dir = join(import.meta.dir, "..", "..", "test", "gateway-api-manifests");
const dag: DagOptions = { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => new Date("2026-01-01T00:00:00Z"), checkCrdSchema: true };

async function cacheOf(file: string) {
  const loaded = await loadManifests(join(dir, file));
  expect(loaded.problems).toEqual([]);
  const cache = createObjectCache({ ingressClassNames: [] });
  cache.applyAll(loaded.objects.map(({ object, origin }) => ({ type: "upsert" as const, object: object as KubeObject, origin })));
  return cache;
}

describe("Gateway API input from manifests", () => {
  test("every kind, at every accepted apiVersion, reaches the cache typed", async () => {
    const objects = (await cacheOf("valid.yaml")).gatewayApi();
    const keys = (list: Array<{ apiVersion: string; metadata: { namespace?: string; name: string } }>) => list.map((o) => `${o.apiVersion} ${o.metadata.namespace ?? ""}/${o.metadata.name}`);
    expect(keys(objects.gatewayClasses)).toEqual(["gateway.networking.k8s.io/v1 /contour"]);
    expect(keys(objects.gateways)).toEqual(["gateway.networking.k8s.io/v1 infra/web"]);
    expect(keys(objects.httpRoutes)).toEqual(["gateway.networking.k8s.io/v1 apps/app"]);
    expect(keys(objects.grpcRoutes)).toEqual(["gateway.networking.k8s.io/v1 apps/grpc"]);
    expect(keys(objects.referenceGrants)).toEqual(["gateway.networking.k8s.io/v1beta1 backends/backends", "gateway.networking.k8s.io/v1 certs/certs"]);
    expect(keys(objects.tlsRoutes)).toEqual(["gateway.networking.k8s.io/v1alpha2 apps/passthrough", "gateway.networking.k8s.io/v1 apps/passthrough-v1"]);
    expect(keys(objects.tcpRoutes)).toEqual(["gateway.networking.k8s.io/v1alpha2 apps/database", "gateway.networking.k8s.io/v1 apps/database-v1"]);
    expect(keys(objects.backendTLSPolicies)).toEqual(["gateway.networking.k8s.io/v1alpha3 apps/api-tls", "gateway.networking.k8s.io/v1 apps/api-tls-v1"]);
    expect(objects.namespaces).toEqual([{ name: "apps", labels: { "gateway-access": "true" } }]);
    // Typed: what a processor reads, without casts.
    const [gateway] = objects.gateways;
    expect(gateway!.spec.listeners.map((l) => `${l.name}:${l.protocol}:${l.port}`)).toEqual(["http:HTTP:80", "https:HTTPS:443"]);
    expect(gateway!.spec.listeners[0]!.allowedRoutes?.namespaces?.selector?.matchLabels).toEqual({ "gateway-access": "true" });
    expect(gateway!.spec.listeners[1]!.tls?.certificateRefs?.[0]?.name).toBe("wildcard");
    const rule = objects.httpRoutes[0]!.spec.rules![0]!;
    expect(rule.matches?.[0]?.path).toEqual({ type: "PathPrefix", value: "/api" });
    expect(rule.backendRefs?.[0]).toMatchObject({ name: "api", port: 80, weight: 3 });
    expect(objects.grpcRoutes[0]!.spec.rules![0]!.matches?.[0]?.method).toEqual({ service: "echo.Echo", method: "Say" });
    expect(objects.backendTLSPolicies[0]!.spec.validation.hostname).toBe("api.internal");
  });

  test("the Secrets and Services Gateway API objects name count as referenced (their changes rebuild)", async () => {
    const cache = await cacheOf("valid.yaml");
    expect(cache.isReferenced("Secret", "infra", "wildcard")).toBe(true);
    expect(cache.isReferenced("Service", "apps", "api")).toBe(true);
    expect(cache.isReferenced("Service", "apps", "grpc")).toBe(true);
    expect(cache.isReferenced("Service", "apps", "postgres")).toBe(true);
    expect(cache.isReferenced("Secret", "apps", "ca")).toBe(true);
    expect(cache.isReferenced("Service", "apps", "unnamed")).toBe(false);
    // A Namespace's labels change the DAG's input; its status alone does not.
    const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: "apps", resourceVersion: "2", labels: { "gateway-access": "true" } }, status: { phase: "Terminating" } };
    expect(cache.apply({ type: "upsert", object: namespace }).affectsDag).toBe(false);
    expect(cache.apply({ type: "upsert", object: { ...namespace, metadata: { ...namespace.metadata, resourceVersion: "3", labels: {} } } }).affectsDag).toBe(true);
    expect(cache.gatewayApi().namespaces).toEqual([{ name: "apps", labels: {} }]);
  });

  test("an apiVersion no CRD serves is not read", async () => {
    const cache = createObjectCache({ ingressClassNames: [] });
    const result = cache.apply({ type: "upsert", object: { apiVersion: "gateway.networking.k8s.io/v1alpha1", kind: "TCPRoute", metadata: { name: "old", namespace: "a" }, spec: {} } });
    expect(result.affectsDag).toBe(false);
    expect(cache.gatewayApi().tcpRoutes).toEqual([]);
  });

  test("each kind with a field its CRD schema refuses is invalid, naming the file and the field; the rest is judged as usual", async () => {
    const report = await validateManifests([dir], { dag });
    // (Routes the Gateway's listeners refuse are invalid too, for their own reasons: only schema errors here.)
    const invalid = report.objects.filter((o) => o.errors.some((e) => e.reason === "SpecNotValid")).map((o) => [`${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`, `${o.file?.slice(dir.length + 1)}:${o.line}`, o.errors.map((e) => `${e.reason}: ${e.message}`)]);
    expect(invalid).toEqual([
      ["BackendTLSPolicy apps/broken", "invalid.yaml:45", ["SpecNotValid: spec.validation.hostname: Required value"]],
      ["GRPCRoute apps/broken", "invalid.yaml:20", ["SpecNotValid: spec.rules[0].backendRefs[0].port: Invalid value: 70000: spec.rules[0].backendRefs[0].port in body should be less than or equal to 65535"]],
      ["Gateway infra/broken", "invalid.yaml:7", ["SpecNotValid: spec.listeners[0].hostnme: field not declared in schema"]],
      ["GatewayClass broken-class", "invalid.yaml:2", ["SpecNotValid: spec.paramsRef: field not declared in schema"]],
      ["HTTPRoute apps/broken", "invalid.yaml:14", ['SpecNotValid: spec.rules[0].matches[0].path.type: Unsupported value: "PathPrefx": supported values: "Exact", "PathPrefix", "RegularExpression"']],
      ["ReferenceGrant certs/broken", "invalid.yaml:26", ["SpecNotValid: spec.from[0].namespace: Required value"]],
      ["TCPRoute apps/broken", "invalid.yaml:39", ['SpecNotValid: spec.rules[0].backendRefs[0].port: Invalid value: "string": spec.rules[0].backendRefs[0].port in body must be of type integer: "string"']],
      [
        "TLSRoute apps/broken",
        "invalid.yaml:33",
        [
          "SpecNotValid: spec.rules: Required value",
          "SpecNotValid: spec.hostnames[0]: Invalid value: \"Not_A_Host\": spec.hostnames[0] in body should match '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'",
        ],
      ],
    ]);
    expect(report.valid).toBe(false);
    // Every valid object of valid.yaml is valid; the routes are
    // processed (the Gateway has no TLS or TCP listener; the HTTPRoute's Service is not in these manifests).
    const valid = report.objects.filter((o) => o.file?.endsWith("valid.yaml") && !o.file.endsWith("invalid.yaml"));
    expect(valid.filter((o) => o.currentStatus !== "valid").map((o) => `${o.kind} ${o.name}: ${o.errors.map((e) => e.reason).join()}`)).toEqual([
      "TCPRoute database: NotAllowedByListeners",
      "TCPRoute database-v1: NotAllowedByListeners",
      "TLSRoute passthrough: NotAllowedByListeners",
      "TLSRoute passthrough-v1: NotAllowedByListeners",
    ]);
    const route = report.objects.find((o) => o.kind === "HTTPRoute" && o.name === "app")!;
    expect(route.warnings).toEqual([{ type: "RouteError", reason: "BackendNotFound", message: 'backendRef to Service apps/api: service "apps/api" not found' }]);
    const policy = report.objects.find((o) => o.kind === "BackendTLSPolicy" && o.name === "api-tls")!;
    // Its Service is not in these manifests: no route sends to it, so no ancestor (and nothing to say).
    expect([policy.currentStatus, policy.warnings, policy.ancestors]).toEqual(["valid", [], []]);
  });

  test("the served GatewayClass and Gateway carry the spec's conditions; schema-invalid ones take no part", async () => {
    const report = await validateManifests([dir], { dag });
    const conditions = (kind: string, name: string) => report.objects.find((o) => o.kind === kind && o.name === name)?.conditions;
    expect(conditions("GatewayClass", "contour")).toEqual([
      { type: "Accepted", status: "True", reason: "Accepted", message: "Valid GatewayClass" },
      { type: "SupportedVersion", status: "True", reason: "SupportedVersion", message: "manifests are checked against the Gateway API v1.3.0 CRD schemas" },
    ]);
    expect(conditions("Gateway", "web")).toEqual([
      { type: "Accepted", status: "True", reason: "Accepted", message: "Gateway is accepted: its GatewayClass contour is served by this agent" },
      { type: "Programmed", status: "True", reason: "Programmed", message: "1 of 2 listeners are programmed in Envoy" },
    ]);
    // The schema-invalid class and Gateway are reported, never selected nor given conditions.
    expect(conditions("GatewayClass", "broken-class")).toBeUndefined();
    expect(conditions("Gateway", "broken")).toBeUndefined();
  });

  test("/debug/status shows the conditions the status writer writes", async () => {
    const result = buildResources(await cacheOf("valid.yaml"), { dag });
    const view = statusView(result.statuses) as Array<{ kind: string; name: string; conditions?: Array<{ type: string; status: string }> }>;
    expect(view.find((s) => s.kind === "Gateway" && s.name === "web")?.conditions?.map((c) => `${c.type}=${c.status}`)).toEqual(["Accepted=True", "Programmed=True"]);
    expect(view.find((s) => s.kind === "HTTPRoute")?.conditions).toBeUndefined();
  });

  test("agent validate prints the Gateway's listeners and each route's parents", async () => {
    const report = await validateManifests([join(dir, "valid.yaml")], { dag });
    const text = formatText(report, { color: false, routes: false });
    expect(text).toContain("  listener http: 2 attached routes\n    Accepted=True Accepted: Listener accepted\n");
    expect(text).toContain("  parent infra/web section http\n    Accepted=True Accepted: Accepted HTTPRoute\n    ResolvedRefs=False BackendNotFound:");
    const json = JSON.parse(formatJson(report, { routes: false })) as { objects: Array<{ kind: string; parents?: Array<{ controllerName: string }> }> };
    expect(json.objects.find((o) => o.kind === "HTTPRoute")?.parents?.map((p) => p.controllerName)).toEqual(["projectcontour.io/gateway-controller"]);
  });

  test("Gateways and classes of another controller get no status and are listed as ignored", async () => {
    const report = await validateManifests([join(dir, "valid.yaml")], { dag: { ...dag, gateway: { controllerName: "example.com/other" } } });
    expect(report.objects.filter((o) => o.kind === "Gateway" || o.kind === "GatewayClass")).toEqual([]);
    expect(report.ignored.map((o) => `${o.kind} ${o.name}`)).toEqual(["Gateway web", "GatewayClass contour"]);
  });
});
