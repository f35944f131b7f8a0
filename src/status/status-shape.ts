// The status each kind carries, computed from the DAG's ObjectStatus: HTTPProxy in Contour's shape
// (currentStatus, description, loadBalancer, one Valid condition with errors and warnings), Ingress
// as status.loadBalancer.ingress, GatewayClass and Gateway as status.conditions (a Gateway's listeners too), HTTPRoute, GRPCRoute, TLSRoute and TCPRoute as status.parents, BackendTLSPolicy as status.ancestors. Also the comparison that decides whether a write is needed: equal
// when all that differs is lastTransitionTime (which is kept while the condition's status holds).
import { isIP } from "node:net";
import { deepEqual } from "../base/values.ts";
import type { KubeCondition, ObjectStatus, SubCondition } from "../dag/status.ts";
import type { KubeObject } from "../sources/types.ts";

export interface LoadBalancerAddress {
  ip?: string;
  hostname?: string;
}

interface DetailedCondition {
  type: "Valid";
  status: "True" | "False";
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: "Valid" | "ErrorPresent" | "Orphaned";
  message: string;
  errors?: { type: string; status: "True"; reason: string; message: string }[];
  warnings?: { type: string; status: "True"; reason: string; message: string }[];
}

/** RFC 3339 to the second, as metav1.Time serializes. */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

function subConditions(list: SubCondition[]) {
  return list.map(({ type, reason, message }) => ({ type, status: "True" as const, reason, message }));
}

/**
 * The desired status of `object` (as it is now) given the DAG's verdict, or undefined when this
 * writer has nothing to say (an Ingress while the load balancer address is unknown).
 */
export function desiredStatus(object: KubeObject, status: ObjectStatus, options: { loadBalancer?: LoadBalancerAddress[]; now: Date }): Record<string, unknown> | undefined {
  const addresses = (options.loadBalancer ?? []).filter((a) => a.ip || a.hostname).map(pickAddress);
  const ingress = addresses.length > 0 ? addresses : undefined;
  if (object.kind === "Ingress") return ingress ? { loadBalancer: { ingress } } : undefined;
  if (object.kind === "GatewayClass") return status.conditions ? { conditions: mergedConditions(object, status, options.now) } : undefined;
  if (object.kind === "Gateway") return gatewayStatus(object, status, options.now, addresses);
  if (object.kind === "HTTPRoute" || object.kind === "GRPCRoute" || object.kind === "TLSRoute" || object.kind === "TCPRoute") return status.parents ? { parents: routeParents(object, status, options.now) } : undefined;
  if (object.kind === "BackendTLSPolicy") return status.ancestors ? policyAncestors(object, status, options.now) : undefined;
  if (object.kind !== "HTTPProxy") return undefined;
  const valid = status.currentStatus === "valid";
  const conditionStatus = valid ? "True" : "False";
  const existing = existingCondition(object);
  const condition: DetailedCondition = {
    type: "Valid",
    status: conditionStatus,
    observedGeneration: status.generation ?? object.metadata.generation,
    lastTransitionTime: existing?.status === conditionStatus && typeof existing.lastTransitionTime === "string" ? existing.lastTransitionTime : kubeTime(options.now),
    reason: valid ? "Valid" : status.currentStatus === "orphaned" ? "Orphaned" : "ErrorPresent",
    message: valid ? "Valid HTTPProxy" : status.description,
  };
  if (condition.observedGeneration === undefined) delete condition.observedGeneration;
  if (status.errors.length > 0) condition.errors = subConditions(status.errors);
  if (status.warnings.length > 0) condition.warnings = subConditions(status.warnings);
  const result: Record<string, unknown> = { currentStatus: status.currentStatus, description: status.description, conditions: [condition] };
  // Only a valid root (one with a virtual host) is reachable through the load balancer.
  const spec = object.spec as { virtualhost?: unknown } | undefined;
  if (ingress && valid && spec?.virtualhost) result.loadBalancer = { ingress };
  return result;
}

/**
 * Our conditions, each keeping its lastTransitionTime while its status holds, after the object's
 * conditions of other types (which are not ours to drop), as Contour merges them.
 */
function mergedConditions(object: KubeObject, status: ObjectStatus, now: Date): Record<string, unknown>[] {
  const existing = (object.status as { conditions?: unknown } | undefined)?.conditions;
  const current = Array.isArray(existing) ? (existing as Array<Record<string, unknown>>).filter((c) => typeof c === "object" && c !== null) : [];
  const ours = status.conditions ?? [];
  const kept = current.filter((c) => !ours.some((o) => o.type === c.type));
  return [...kept, ...stamped(ours, current, status.generation ?? object.metadata.generation, now)];
}

/** Conditions stamped with observedGeneration and a lastTransitionTime kept from `before` while the status holds. */
function stamped(conditions: KubeCondition[], before: unknown, observedGeneration: number | undefined, now: Date): Record<string, unknown>[] {
  const previous = Array.isArray(before) ? (before as Array<Record<string, unknown>>) : [];
  return conditions.map((condition) => {
    const old = previous.find((c) => c && c.type === condition.type);
    const since = old?.status === condition.status && typeof old.lastTransitionTime === "string" ? old.lastTransitionTime : kubeTime(now);
    return { ...condition, ...(observedGeneration === undefined ? {} : { observedGeneration }), lastTransitionTime: since };
  });
}

/** A served Gateway's status: conditions, listeners, and the addresses Envoy is reached at (IPAddress or Hostname). */
function gatewayStatus(object: KubeObject, status: ObjectStatus, now: Date, addresses: LoadBalancerAddress[]): Record<string, unknown> | undefined {
  if (!status.conditions) return undefined;
  const result: Record<string, unknown> = { conditions: mergedConditions(object, status, now) };
  if (status.listeners && addresses.length > 0) result.addresses = addresses.map((a) => (a.ip ? { type: "IPAddress", value: a.ip } : { type: "Hostname", value: a.hostname }));
  if (status.listeners) {
    const existing = (object.status as { listeners?: Array<{ name?: string; conditions?: unknown }> } | undefined)?.listeners ?? [];
    const generation = status.generation ?? object.metadata.generation;
    result.listeners = status.listeners.map((listener) => ({
      ...listener,
      conditions: stamped(listener.conditions, existing.find((l) => l?.name === listener.name)?.conditions, generation, now),
    }));
  }
  return result;
}

/** Our parents (stamped), after the entries of other controllers, which are not ours to drop. */
function routeParents(object: KubeObject, status: ObjectStatus, now: Date): Record<string, unknown>[] {
  const existing = (object.status as { parents?: Array<{ controllerName?: string; parentRef?: unknown; conditions?: unknown }> } | undefined)?.parents ?? [];
  const generation = status.generation ?? object.metadata.generation;
  const ours = status.parents ?? [];
  const controllers = new Set(ours.map((p) => p.controllerName));
  return [
    ...existing.filter((p) => !controllers.has(p.controllerName ?? "")),
    ...ours.map((parent) => ({
      ...parent,
      conditions: stamped(parent.conditions, existing.find((p) => p.controllerName === parent.controllerName && deepEqual(p.parentRef, parent.parentRef))?.conditions, generation, now),
    })),
  ];
}

/**
 * A policy's ancestors: ours (stamped) after other controllers' entries, keyed by ancestorRef and
 * controllerName as the spec says. Undefined when we have none to write and none to take back.
 */
function policyAncestors(object: KubeObject, status: ObjectStatus, now: Date): Record<string, unknown> | undefined {
  const existing = (object.status as { ancestors?: Array<{ controllerName?: string; ancestorRef?: unknown; conditions?: unknown }> } | undefined)?.ancestors ?? [];
  const ours = status.ancestors ?? [];
  const controllers = new Set([...ours.map((a) => a.controllerName), ...(status.controllerName ? [status.controllerName] : [])]);
  const theirs = existing.filter((a) => !controllers.has(a.controllerName ?? ""));
  if (ours.length === 0 && theirs.length === existing.length) return undefined;
  const generation = status.generation ?? object.metadata.generation;
  return {
    ancestors: [
      ...theirs,
      ...ours.map((ancestor) => ({
        ...ancestor,
        conditions: stamped(ancestor.conditions, existing.find((a) => a.controllerName === ancestor.controllerName && deepEqual(a.ancestorRef, ancestor.ancestorRef))?.conditions, generation, now),
      })),
    ],
  };
}

function pickAddress(address: LoadBalancerAddress): LoadBalancerAddress {
  return address.ip ? { ip: address.ip } : { hostname: address.hostname };
}

/** --ingress-status-address: comma-separated IPs or hostnames. */
export function parseStatusAddresses(text: string): LoadBalancerAddress[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .map((part) => (isIP(part) ? { ip: part } : { hostname: part }));
}

/**
 * The addresses a Service is reached at from outside, as Contour reads the Envoy Service: a
 * LoadBalancer's status.loadBalancer.ingress, an ExternalName's name; none for other types.
 */
export function serviceAddresses(service: KubeObject | undefined): LoadBalancerAddress[] | undefined {
  const spec = service?.spec as { type?: string; externalName?: string } | undefined;
  if (!service || !spec) return undefined;
  if (spec.type === "ExternalName" && spec.externalName) return [{ hostname: spec.externalName }];
  if (spec.type !== "LoadBalancer") return undefined;
  const ingress = (service.status as { loadBalancer?: { ingress?: LoadBalancerAddress[] } } | undefined)?.loadBalancer?.ingress ?? [];
  const addresses = ingress.filter((a) => a.ip || a.hostname).map(pickAddress);
  return addresses.length > 0 ? addresses : undefined;
}

function existingCondition(object: KubeObject): { status?: string; lastTransitionTime?: unknown } | undefined {
  const conditions = (object.status as { conditions?: unknown } | undefined)?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  return conditions.find((c): c is { type: string; status?: string } => typeof c === "object" && c !== null && (c as { type?: unknown }).type === "Valid");
}

/** True when `existing` already says what `desired` says (lastTransitionTime and empty objects aside). */
export function statusEqual(existing: unknown, desired: Record<string, unknown>): boolean {
  const current = existing && typeof existing === "object" ? (existing as Record<string, unknown>) : {};
  // Keys this writer does not own (other controllers' fields) are ignored: only compare ours.
  const picked: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(desired), ...(ownedKeys(desired))])) picked[key] = current[key];
  return canonical(picked) === canonical(desired);
}

/** HTTPProxy owns loadBalancer even when it has none to report (it must be cleared). */
function ownedKeys(desired: Record<string, unknown>): string[] {
  return "currentStatus" in desired ? ["loadBalancer"] : [];
}

/** The merge patch that turns `existing` into `desired` for the keys this writer owns. */
export function statusPatch(existing: unknown, desired: Record<string, unknown>): Record<string, unknown> {
  const current = existing && typeof existing === "object" ? (existing as Record<string, unknown>) : {};
  const patch: Record<string, unknown> = { ...desired };
  for (const key of ownedKeys(desired)) if (!(key in desired) && current[key] !== undefined) patch[key] = null;
  return patch;
}

/** `existing` with `patch` applied at the top level (a null removes the key): the status an update (PUT) carries. */
export function patchedStatus(existing: unknown, patch: Record<string, unknown>): Record<string, unknown> {
  const status: Record<string, unknown> = existing && typeof existing === "object" ? { ...(existing as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete status[key];
    else status[key] = value;
  }
  return status;
}

/** JSON with sorted keys, without lastTransitionTime, empty objects and undefined. */
function canonical(value: unknown): string {
  return JSON.stringify(normalize(value)) ?? "null";
}

function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (!value || typeof value !== "object") return value;
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    if (key === "lastTransitionTime") continue;
    const inner = normalize((value as Record<string, unknown>)[key]);
    if (inner === undefined || inner === null) continue;
    if (typeof inner === "object" && !Array.isArray(inner) && Object.keys(inner).length === 0) continue;
    result[key] = inner;
  }
  return result;
}
