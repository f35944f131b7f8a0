// Which GatewayClass and Gateway the agent serves: ours by controllerName, the oldest class and
// the oldest Gateway of it (creationTimestamp, then namespace/name), or the one --gateway-ref names.
import { describe, expect, test } from "bun:test";
import type { Gateway, GatewayClass } from "./gateway-api-types.ts";
import { byAge, defaultGatewayControllerName, selectGateway } from "./gateway-select.ts";

function gatewayClass(name: string, controllerName: string, creationTimestamp?: string): GatewayClass {
  return { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name, creationTimestamp }, spec: { controllerName } };
}

function gateway(namespace: string, name: string, gatewayClassName: string, creationTimestamp?: string): Gateway {
  return { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: { namespace, name, creationTimestamp }, spec: { gatewayClassName, listeners: [{ name: "http", port: 80, protocol: "HTTP" }] } };
}

const ours = defaultGatewayControllerName;
const names = (objects: Array<{ metadata: { namespace?: string; name: string } }>) => objects.map((o) => `${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`);

describe("selectGateway", () => {
  test("the oldest class of ours is accepted, younger ones are not; another controller's is left out", () => {
    const classes = [
      gatewayClass("b-young", ours, "2026-01-02T00:00:00Z"),
      gatewayClass("a-foreign", "example.com/other", "2025-01-01T00:00:00Z"),
      gatewayClass("z-old", ours, "2026-01-01T00:00:00Z"),
    ];
    const selection = selectGateway(classes, []);
    expect(selection.acceptedClass?.metadata.name).toBe("z-old");
    expect(names(selection.olderClassExists)).toEqual(["b-young"]);
    expect(selection.gateway).toBeUndefined();
  });

  test("classes created at the same time: the first by name wins", () => {
    const classes = [gatewayClass("beta", ours, "2026-01-01T00:00:00Z"), gatewayClass("alpha", ours, "2026-01-01T00:00:00Z")];
    expect(selectGateway(classes, []).acceptedClass?.metadata.name).toBe("alpha");
  });

  test("the oldest Gateway of the accepted class is served: creationTimestamp, then namespace/name", () => {
    const classes = [gatewayClass("contour", ours, "2026-01-01T00:00:00Z")];
    const gateways = [
      gateway("b", "same-time", "contour", "2026-02-01T00:00:00Z"),
      gateway("a", "same-time", "contour", "2026-02-01T00:00:00Z"),
      gateway("a", "newest", "contour", "2026-03-01T00:00:00Z"),
      gateway("a", "foreign-but-oldest", "other", "2025-01-01T00:00:00Z"),
    ];
    const selection = selectGateway(classes, gateways);
    expect(selection.gateway?.metadata).toMatchObject({ namespace: "a", name: "same-time" });
    expect(names(selection.olderGatewayExists)).toEqual(["b/same-time", "a/newest"]);
  });

  test("a Gateway without a creationTimestamp (a manifest) is younger than any dated one", () => {
    const classes = [gatewayClass("contour", ours)];
    const selection = selectGateway(classes, [gateway("a", "undated", "contour"), gateway("z", "dated", "contour", "2026-01-01T00:00:00Z")]);
    expect(selection.gateway?.metadata.name).toBe("dated");
    expect([gateway("b", "x", "c"), gateway("a", "y", "c")].sort(byAge).map((g) => g.metadata.namespace)).toEqual(["a", "b"]);
  });

  test("Gateways of a younger class of ours are not served", () => {
    const classes = [gatewayClass("old", ours, "2026-01-01T00:00:00Z"), gatewayClass("young", ours, "2026-01-02T00:00:00Z")];
    const selection = selectGateway(classes, [gateway("a", "on-young", "young", "2025-01-01T00:00:00Z")]);
    expect(selection.acceptedClass?.metadata.name).toBe("old");
    expect(selection.gateway).toBeUndefined();
    expect(selection.olderGatewayExists).toEqual([]);
  });

  test("--gateway-controller-name: only classes with that controllerName are ours", () => {
    const classes = [gatewayClass("contour", ours, "2025-01-01T00:00:00Z"), gatewayClass("mine", "example.com/mine", "2026-01-01T00:00:00Z")];
    const selection = selectGateway(classes, [gateway("a", "gw", "contour"), gateway("b", "gw", "mine")], { controllerName: "example.com/mine" });
    expect(selection.acceptedClass?.metadata.name).toBe("mine");
    expect(names([selection.gateway!])).toEqual(["b/gw"]);
    expect(selection.olderClassExists).toEqual([]);
  });

  test("--gateway-ref: that Gateway and its class, whatever their age; nothing else gets a verdict", () => {
    const classes = [gatewayClass("old", ours, "2025-01-01T00:00:00Z"), gatewayClass("young", ours, "2026-01-01T00:00:00Z")];
    const gateways = [gateway("a", "oldest", "old", "2025-01-01T00:00:00Z"), gateway("b", "named", "young", "2026-06-01T00:00:00Z")];
    const selection = selectGateway(classes, gateways, { gatewayRef: { namespace: "b", name: "named" } });
    expect(names([selection.gateway!])).toEqual(["b/named"]);
    expect(selection.acceptedClass?.metadata.name).toBe("young");
    expect(selection.olderClassExists).toEqual([]);
    expect(selection.olderGatewayExists).toEqual([]);
  });

  test("--gateway-ref naming a Gateway of another controller, or none: nothing is served", () => {
    const classes = [gatewayClass("contour", ours), gatewayClass("other", "example.com/other")];
    const gateways = [gateway("a", "foreign", "other"), gateway("a", "ours", "contour")];
    for (const name of ["foreign", "missing"]) {
      const selection = selectGateway(classes, gateways, { gatewayRef: { namespace: "a", name } });
      expect(selection.gateway).toBeUndefined();
      expect(selection.acceptedClass).toBeUndefined();
    }
  });
});
