// What the fake API server serves and how it matches: the resource types (group, version, plural,
// scope, status subresource), label and field selectors as the API server parses them, and JSON
// merge patch (RFC 7386).
import type { KubeObject } from "../../src/sources/types.ts";

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  /** Has a status subresource: writes to the main resource leave status alone. */
  hasStatus: boolean;
  /** metadata.generation is bumped on spec changes. */
  generation: boolean;
  /** Field labels a fieldSelector may use besides metadata.name/namespace. */
  fields?: string[];
  /** Every version served (default: `version` only); objects are the same at each, as after conversion. */
  versions?: string[];
}

const gatewayGroup = "gateway.networking.k8s.io";

export const resourceTypes: ResourceType[] = [
  { group: "networking.k8s.io", version: "v1", kind: "Ingress", plural: "ingresses", namespaced: true, hasStatus: true, generation: true },
  { group: "networking.k8s.io", version: "v1", kind: "IngressClass", plural: "ingressclasses", namespaced: false, hasStatus: false, generation: true },
  { group: "", version: "v1", kind: "Service", plural: "services", namespaced: true, hasStatus: true, generation: false },
  { group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice", plural: "endpointslices", namespaced: true, hasStatus: false, generation: true },
  { group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true, hasStatus: false, generation: false, fields: ["type"] },
  { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true, hasStatus: false, generation: false },
  { group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false, hasStatus: true, generation: false },
  { group: "projectcontour.io", version: "v1", kind: "HTTPProxy", plural: "httpproxies", namespaced: true, hasStatus: true, generation: true },
  { group: "projectcontour.io", version: "v1alpha1", kind: "ContourConfiguration", plural: "contourconfigurations", namespaced: true, hasStatus: true, generation: true },
  { group: "projectcontour.io", version: "v1", kind: "TLSCertificateDelegation", plural: "tlscertificatedelegations", namespaced: true, hasStatus: false, generation: true },
  { group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true, hasStatus: false, generation: false },
  { group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition", plural: "customresourcedefinitions", namespaced: false, hasStatus: true, generation: true },
  // Gateway API, at the versions the upstream CRDs serve (v1.6: every one isobar accepts).
  { group: gatewayGroup, version: "v1", versions: ["v1", "v1beta1"], kind: "GatewayClass", plural: "gatewayclasses", namespaced: false, hasStatus: true, generation: true },
  { group: gatewayGroup, version: "v1", versions: ["v1", "v1beta1"], kind: "Gateway", plural: "gateways", namespaced: true, hasStatus: true, generation: true },
  { group: gatewayGroup, version: "v1", versions: ["v1", "v1beta1"], kind: "HTTPRoute", plural: "httproutes", namespaced: true, hasStatus: true, generation: true },
  { group: gatewayGroup, version: "v1", kind: "GRPCRoute", plural: "grpcroutes", namespaced: true, hasStatus: true, generation: true },
  { group: gatewayGroup, version: "v1", versions: ["v1", "v1beta1"], kind: "ReferenceGrant", plural: "referencegrants", namespaced: true, hasStatus: false, generation: true },
  { group: gatewayGroup, version: "v1", versions: ["v1", "v1alpha2", "v1alpha3"], kind: "TLSRoute", plural: "tlsroutes", namespaced: true, hasStatus: true, generation: true },
  { group: gatewayGroup, version: "v1", versions: ["v1", "v1alpha2"], kind: "TCPRoute", plural: "tcproutes", namespaced: true, hasStatus: true, generation: true },
  { group: gatewayGroup, version: "v1", versions: ["v1", "v1alpha3"], kind: "BackendTLSPolicy", plural: "backendtlspolicies", namespaced: true, hasStatus: true, generation: true },
];

/** Built-in kinds: their list items carry no apiVersion/kind, as the real API server sends them. */
export const builtInGroups = new Set(["", "networking.k8s.io", "discovery.k8s.io", "coordination.k8s.io", "apiextensions.k8s.io"]);

export const apiVersionOf = (type: ResourceType): string => (type.group ? `${type.group}/${type.version}` : type.version);

export function resourceByKind(kind: string): ResourceType {
  const type = resourceTypes.find((t) => t.kind === kind);
  if (!type) throw new Error(`fake API server: unknown kind ${kind}`);
  return type;
}

/** The type at `group`/`plural` if `version` is among those `served` says it serves. */
export function resourceByPath(group: string, version: string, plural: string, served: (type: ResourceType) => string[]): ResourceType | undefined {
  return resourceTypes.find((t) => t.group === group && t.plural === plural && served(t).includes(version));
}

export type Selector = (object: KubeObject) => boolean;

/** Parses a fieldSelector: `a=b`, `a==b`, `a!=b`, comma-separated. Throws on an unsupported field. */
export function fieldSelector(type: ResourceType, text: string | null): Selector {
  if (!text) return () => true;
  const terms = text.split(",").map((term) => {
    const match = /^([^!=]+)(==|=|!=)(.*)$/.exec(term.trim());
    if (!match) throw new Error(`invalid field selector term ${term}`);
    const [, field, op, value] = match as unknown as [string, string, string, string];
    if (!["metadata.name", "metadata.namespace", ...(type.fields ?? [])].includes(field)) {
      throw new Error(`field label not supported: ${field}`);
    }
    return { field, negate: op === "!=", value };
  });
  return (object) =>
    terms.every(({ field, negate, value }) => {
      const actual = field === "metadata.name" ? object.metadata.name : field === "metadata.namespace" ? (object.metadata.namespace ?? "") : String(object[field] ?? "");
      return negate ? actual !== value : actual === value;
    });
}

/** Parses a labelSelector: `k=v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`. */
export function labelSelector(text: string | null): Selector {
  if (!text) return () => true;
  const terms: Selector[] = [];
  for (const raw of text.match(/[^,(]+(\([^)]*\))?/g) ?? []) {
    const term = raw.trim().replace(/^,/, "").trim();
    if (!term) continue;
    let match: RegExpExecArray | null;
    const labels = (o: KubeObject) => o.metadata.labels ?? {};
    if ((match = /^(\S+)\s+(in|notin)\s+\((.*)\)$/.exec(term))) {
      const [, key, op, list] = match as unknown as [string, string, string, string];
      const values = list.split(",").map((v) => v.trim());
      terms.push((o) => (op === "in" ? values.includes(labels(o)[key] ?? "\0") : !values.includes(labels(o)[key] ?? "\0")));
    } else if ((match = /^([^!=]+)(==|=|!=)(.*)$/.exec(term))) {
      const [, key, op, value] = match as unknown as [string, string, string, string];
      terms.push((o) => (op === "!=" ? labels(o)[key.trim()] !== value.trim() : labels(o)[key.trim()] === value.trim()));
    } else if (term.startsWith("!")) {
      terms.push((o) => !(term.slice(1) in labels(o)));
    } else {
      terms.push((o) => term in labels(o));
    }
  }
  return (object) => terms.every((t) => t(object));
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> = target && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** Everything but metadata and status, for "did the spec change" (generation). */
export function specOf(object: KubeObject): string {
  const { metadata: _metadata, status: _status, ...rest } = object;
  return JSON.stringify(rest);
}
