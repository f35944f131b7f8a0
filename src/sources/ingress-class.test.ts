import { describe, expect, test } from "bun:test";
import { ingressClassMatches, objectIngressClass } from "./ingress-class.ts";
import type { KubeObject } from "./types.ts";

function ingress(annotations: Record<string, string>, ingressClassName?: string): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name: "i", namespace: "default", annotations },
    spec: ingressClassName === undefined ? {} : { ingressClassName },
  };
}

describe("ingress class", () => {
  test("the annotation wins over spec.ingressClassName; projectcontour.io before kubernetes.io, as in Contour", () => {
    expect(objectIngressClass(ingress({}, "spec"))).toBe("spec");
    expect(objectIngressClass(ingress({ "kubernetes.io/ingress.class": "k8s" }, "spec"))).toBe("k8s");
    expect(objectIngressClass(ingress({ "kubernetes.io/ingress.class": "k8s", "projectcontour.io/ingress.class": "pc" }))).toBe("pc");
    expect(objectIngressClass(ingress({ "kubernetes.io/ingress.class": "" }, ""))).toBeUndefined();
  });

  test("no names configured: no class or 'contour'; names configured: exact matches, no class only with 'contour'", () => {
    expect(ingressClassMatches(undefined, [])).toBe(true);
    expect(ingressClassMatches("contour", [])).toBe(true);
    expect(ingressClassMatches("nginx", [])).toBe(false);
    expect(ingressClassMatches("a", ["a", "b"])).toBe(true);
    expect(ingressClassMatches("contour", ["a"])).toBe(false);
    expect(ingressClassMatches(undefined, ["a"])).toBe(false);
    expect(ingressClassMatches(undefined, ["a", "contour"])).toBe(true);
  });
});
