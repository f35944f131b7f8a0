// Which Ingresses and HTTPProxies this agent serves, by ingress class, with Contour's semantics.
// Shared by the object cache (which drops what is not ours) and anyone who needs to explain why.
//
// Contour (docs "k8s Ingress Resource Support", internal/ingressclass): the class of an object is its
// class annotation when set (`projectcontour.io/ingress.class`, then `kubernetes.io/ingress.class`, in
// Contour's order), else `spec.ingressClassName`: the annotation takes precedence. With no class names configured,
// Contour serves objects whose class is unset or "contour"; with names configured, only exact matches.
//
// One deliberate difference: when the configured names include "contour", objects with no class are
// served too. A `--ingress-class-name` flag that defaults to "contour" then behaves like Contour's
// unset default, instead of silently ignoring every Ingress that names no class.
import type { KubeObject } from "./types.ts";

export const defaultIngressClassName = "contour";

export const ingressClassAnnotations = ["projectcontour.io/ingress.class", "kubernetes.io/ingress.class"] as const;

/** The class an object asks for: annotation first, then spec.ingressClassName; undefined when none. */
export function objectIngressClass(object: KubeObject): string | undefined {
  const annotations = object.metadata.annotations ?? {};
  for (const name of ingressClassAnnotations) {
    const value = annotations[name];
    if (typeof value === "string" && value !== "") return value;
  }
  const spec = object.spec as { ingressClassName?: unknown } | undefined;
  const fromSpec = spec?.ingressClassName;
  return typeof fromSpec === "string" && fromSpec !== "" ? fromSpec : undefined;
}

/** Whether an object of the given class is served when the agent serves `servedClassNames`. */
export function ingressClassMatches(objectClass: string | undefined, servedClassNames: readonly string[]): boolean {
  if (servedClassNames.length === 0) {
    return objectClass === undefined || objectClass === defaultIngressClassName;
  }
  if (objectClass === undefined) return servedClassNames.includes(defaultIngressClassName);
  return servedClassNames.includes(objectClass);
}

/** Whether this agent serves the Ingress or HTTPProxy. */
export function servesIngressClass(object: KubeObject, servedClassNames: readonly string[]): boolean {
  return ingressClassMatches(objectIngressClass(object), servedClassNames);
}
