// The Secrets, Services and ConfigMaps an object names, so the object cache can tell whether a change to a Secret or
// Service can affect the output. Reads raw objects defensively: user input may have any shape.
import { asRecord } from "../base/values.ts";
import type { KubeObject } from "./types.ts";

/** `Secret ns/name`, `Service ns/name` or `ConfigMap ns/name`: the key reference counts are kept under. */
export type ReferenceKey = string;

export function secretReference(namespace: string, name: string): ReferenceKey {
  return `Secret ${namespace}/${name}`;
}

export function serviceReference(namespace: string, name: string): ReferenceKey {
  return `Service ${namespace}/${name}`;
}

export function configMapReference(namespace: string, name: string): ReferenceKey {
  return `ConfigMap ${namespace}/${name}`;
}

/** The annotation Contour reads for the namespace of an Ingress's TLS Secrets (delegation). */
export const tlsCertNamespaceAnnotation = "projectcontour.io/tls-cert-namespace";


function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** A Secret named as `name` or `namespace/name` (the latter for TLS certificate delegation). */
function secretByName(refs: Set<ReferenceKey>, defaultNamespace: string, name: string | undefined): void {
  if (name === undefined) return;
  const slash = name.indexOf("/");
  if (slash > 0 && slash < name.length - 1) {
    refs.add(secretReference(name.slice(0, slash), name.slice(slash + 1)));
  } else {
    refs.add(secretReference(defaultNamespace, name));
  }
}

function ingressBackend(refs: Set<ReferenceKey>, namespace: string, backend: unknown): void {
  const service = asRecord(asRecord(backend)?.service);
  const name = text(service?.name);
  if (name !== undefined) refs.add(serviceReference(namespace, name));
}

function ingressReferences(object: KubeObject, namespace: string, refs: Set<ReferenceKey>): void {
  const spec = asRecord(object.spec);
  if (spec === undefined) return;
  const tlsNamespace = text(object.metadata.annotations?.[tlsCertNamespaceAnnotation]) ?? namespace;
  for (const tls of list(spec.tls)) secretByName(refs, tlsNamespace, text(asRecord(tls)?.secretName));
  ingressBackend(refs, namespace, spec.defaultBackend);
  for (const rule of list(spec.rules)) {
    for (const path of list(asRecord(asRecord(rule)?.http)?.paths)) ingressBackend(refs, namespace, asRecord(path)?.backend);
  }
}

function proxyServices(refs: Set<ReferenceKey>, namespace: string, services: unknown): void {
  for (const entry of list(services)) {
    const service = asRecord(entry);
    const name = text(service?.name);
    if (name !== undefined) refs.add(serviceReference(namespace, name));
    secretByName(refs, namespace, text(asRecord(service?.validation)?.caSecret));
  }
}

function httpProxyReferences(object: KubeObject, namespace: string, refs: Set<ReferenceKey>): void {
  const spec = asRecord(object.spec);
  if (spec === undefined) return;
  const tls = asRecord(asRecord(spec.virtualhost)?.tls);
  secretByName(refs, namespace, text(tls?.secretName));
  const clientValidation = asRecord(tls?.clientValidation);
  secretByName(refs, namespace, text(clientValidation?.caSecret));
  secretByName(refs, namespace, text(clientValidation?.crlSecret));
  for (const route of list(spec.routes)) proxyServices(refs, namespace, asRecord(route)?.services);
  proxyServices(refs, namespace, asRecord(spec.tcpproxy)?.services);
}

function delegationReferences(object: KubeObject, namespace: string, refs: Set<ReferenceKey>): void {
  for (const delegation of list(asRecord(object.spec)?.delegations)) {
    secretByName(refs, namespace, text(asRecord(delegation)?.secretName));
  }
}

/** A Gateway API object reference (`group`, `kind`, `namespace`, `name`) to a core Secret or Service. */
function gatewayApiRef(refs: Set<ReferenceKey>, namespace: string, value: unknown, defaultKind: "Secret" | "Service"): void {
  const ref = asRecord(value);
  const name = text(ref?.name);
  if (name === undefined || (text(ref?.group) ?? "") !== "") return;
  const kind = text(ref?.kind) ?? defaultKind;
  const target = text(ref?.namespace) ?? namespace;
  if (kind === "Secret") refs.add(secretReference(target, name));
  else if (kind === "Service") refs.add(serviceReference(target, name));
}

/** Gateway certificateRefs; route backendRefs (per rule, per backend, mirrors); BackendTLSPolicy CA Secrets and ConfigMaps (always in the policy's namespace). */
function gatewayApiReferences(object: KubeObject, namespace: string, refs: Set<ReferenceKey>): void {
  const spec = asRecord(object.spec);
  if (spec === undefined) return;
  for (const listener of list(spec.listeners)) {
    for (const ref of list(asRecord(asRecord(listener)?.tls)?.certificateRefs)) gatewayApiRef(refs, namespace, ref, "Secret");
  }
  const filters = (value: unknown) => {
    for (const filter of list(value)) gatewayApiRef(refs, namespace, asRecord(asRecord(filter)?.requestMirror)?.backendRef, "Service");
  };
  for (const rule of list(spec.rules)) {
    filters(asRecord(rule)?.filters);
    for (const backend of list(asRecord(rule)?.backendRefs)) {
      gatewayApiRef(refs, namespace, backend, "Service");
      filters(asRecord(backend)?.filters);
    }
  }
  for (const value of list(asRecord(spec.validation)?.caCertificateRefs)) {
    const ref = asRecord(value);
    const name = text(ref?.name);
    if (name === undefined || (text(ref?.group) ?? "") !== "") continue;
    if (text(ref?.kind) === "Secret") refs.add(secretReference(namespace, name));
    else if (text(ref?.kind) === "ConfigMap") refs.add(configMapReference(namespace, name));
  }
}

const gatewayApiKinds: ReadonlySet<string> = new Set(["Gateway", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "BackendTLSPolicy"]);

/** Every Secret, Service and ConfigMap the object names; empty for kinds that name none. */
export function objectReferences(object: KubeObject): ReferenceKey[] {
  const namespace = object.metadata.namespace ?? "default";
  const refs = new Set<ReferenceKey>();
  switch (object.kind) {
    case "Ingress":
      ingressReferences(object, namespace, refs);
      break;
    case "HTTPProxy":
      httpProxyReferences(object, namespace, refs);
      break;
    case "TLSCertificateDelegation":
      delegationReferences(object, namespace, refs);
      break;
    default:
      if (gatewayApiKinds.has(object.kind)) gatewayApiReferences(object, namespace, refs);
  }
  return [...refs];
}
