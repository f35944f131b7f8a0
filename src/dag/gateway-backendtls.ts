// BackendTLSPolicy (gateway.networking.k8s.io v1 and v1alpha3): which policy applies to a route's
// backend Service port, the upstream TLS it asks for, and the policy's status.ancestors. As Contour
// 1.33: a policy whose targetRef names the port (`sectionName`, the Service port's name) wins over
// one naming the whole Service; the CA bundles come from ConfigMaps or Secrets (`ca.crt`) in the
// policy's namespace, `hostname` is the SNI and, unless `subjectAltNames` are given, the name the
// certificate must carry; `wellKnownCACertificates` is refused. As the spec says (Contour predates
// it): of two policies on the same target the older wins and the other is Conflicted, and a policy
// that cannot be applied makes its backends answer 500, never plaintext.
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import { configMapCaKey } from "../sources/kube-transform.ts";
import type { KubeObject } from "../sources/types.ts";
import type { BackendTLSPolicy, GatewayApiObjects, ObjectReference } from "./gateway-api-types.ts";
import { byAge } from "./gateway-select.ts";
import type { BuildContext } from "./processor.ts";
import { validateSecret } from "./secrets.ts";
import type { KubeCondition, ObjectRef, PolicyAncestorStatus } from "./status.ts";
import type { Secret, UpstreamValidation } from "./types.ts";

/** What a policy asks of the connections to its target: SNI and certificate validation. */
export interface BackendTls {
  sni: string;
  validation: UpstreamValidation;
}

/** `ok`: connect with TLS; `refused`: the policy cannot be applied, the backend must not be reached. */
export type BackendTlsResult = { ok: BackendTls } | { refused: string };

interface Resolution {
  tls?: BackendTls;
  accepted: KubeCondition;
  resolvedRefs: KubeCondition;
}

/** One build's view of the policies (backendTlsPolicies): by target, each target's policies oldest first. */
export interface BackendTlsPolicies {
  byTarget: Map<string, BackendTLSPolicy[]>;
  resolutions: Map<BackendTLSPolicy, Resolution>;
  /** Policies a route of the served Gateway sends through (winners), or would have (losers). */
  seen: Set<BackendTLSPolicy>;
  /** A younger policy on a target an older one holds: the message of its Conflicted condition. */
  conflicted: Map<BackendTLSPolicy, string>;
}

const targetKey = (namespace: string, service: string, sectionName: string) => `${namespace}/${service}\u0000${sectionName}`;
const isCoreGroup = (group: string | undefined) => group === undefined || group === "" || group === "core";
const refOf = (policy: BackendTLSPolicy): ObjectRef => ({ kind: "BackendTLSPolicy", namespace: policy.metadata.namespace ?? "", name: policy.metadata.name });
const policyName = (policy: BackendTLSPolicy) => `${policy.metadata.namespace}/${policy.metadata.name}`;

/** The index of one build's policies by target; what routes send through it is recorded in it for writeBackendTlsStatus. */
export function backendTlsPolicies(objects: GatewayApiObjects): BackendTlsPolicies {
  const state: BackendTlsPolicies = { byTarget: new Map(), resolutions: new Map(), seen: new Set(), conflicted: new Map() };
  for (const policy of [...objects.backendTLSPolicies].sort(byAge)) {
    for (const target of policy.spec?.targetRefs ?? []) {
      if (!isCoreGroup(target.group) || target.kind !== "Service") continue;
      const key = targetKey(policy.metadata.namespace ?? "", target.name, target.sectionName ?? "");
      const list = state.byTarget.get(key) ?? [];
      if (!list.includes(policy)) list.push(policy);
      state.byTarget.set(key, list);
    }
  }
  return state;
}

/**
 * The TLS a BackendTLSPolicy asks for on connections to Service `namespace/name`, port `portName`
 * (the policy naming that port first, else the one naming the Service); undefined when none does.
 */
export function backendTlsFor(ctx: BuildContext, state: BackendTlsPolicies, service: { namespace: string; name: string; portName?: string }): BackendTlsResult | undefined {
  const byPort = service.portName ? state.byTarget.get(targetKey(service.namespace, service.name, service.portName)) : undefined;
  const section = byPort ? ` port ${service.portName}` : "";
  const policies = byPort ?? state.byTarget.get(targetKey(service.namespace, service.name, ""));
  if (!policies) return undefined;
  const [winner, ...losers] = policies as [BackendTLSPolicy, ...BackendTLSPolicy[]];
  state.seen.add(winner);
  for (const loser of losers) {
    state.seen.add(loser);
    state.conflicted.set(loser, `BackendTLSPolicy ${policyName(winner)} is older and targets the same Service ${service.namespace}/${service.name}${section}: it is the one applied`);
  }
  let resolution = state.resolutions.get(winner);
  if (!resolution) state.resolutions.set(winner, (resolution = resolve(ctx, winner)));
  if (resolution.tls) return { ok: resolution.tls };
  const why = resolution.accepted.status === "False" ? resolution.accepted.message : resolution.resolvedRefs.message;
  return { refused: `BackendTLSPolicy ${policyName(winner)} targets Service ${service.namespace}/${service.name}${section} but cannot be applied (${why}): its share of requests answers 500` };
}

/** A CA bundle from one caCertificateRef, or why it is not one (the ResolvedRefs reason). */
function caBundle(ctx: BuildContext, policy: BackendTLSPolicy, ref: ObjectReference): { ok: Secret } | { reason: "InvalidKind" | "InvalidCACertificateRef"; message: string } {
  const namespace = policy.metadata.namespace ?? "";
  const kind = ref.kind ?? "";
  if (!isCoreGroup(ref.group) || (kind !== "ConfigMap" && kind !== "Secret")) {
    return { reason: "InvalidKind", message: `caCertificateRef ${ref.group ? `${ref.group}/` : ""}${kind} ${ref.name}: only core ConfigMaps and Secrets (with ${configMapCaKey}) are supported` };
  }
  if (kind === "Secret") {
    const secret = ctx.lookupCaSecret(namespace, ref.name, refOf(policy));
    return "ok" in secret ? secret : { reason: "InvalidCACertificateRef", message: `caCertificateRef Secret ${namespace}/${ref.name}: ${secret.cause ?? secret.error.message}` };
  }
  const configMap = ctx.input.configMap?.(namespace, ref.name);
  if (!configMap) return { reason: "InvalidCACertificateRef", message: `caCertificateRef ConfigMap ${namespace}/${ref.name} not found` };
  const bundle = (configMap.data as Record<string, unknown> | undefined)?.[configMapCaKey];
  if (typeof bundle !== "string") return { reason: "InvalidCACertificateRef", message: `caCertificateRef ConfigMap ${namespace}/${ref.name} has no ${configMapCaKey}` };
  // The CA check of Secrets, over the ConfigMap's text (a Secret's data would be base64).
  const asSecret: KubeObject = { apiVersion: "v1", kind: "Secret", metadata: { name: ref.name, namespace }, stringData: { [configMapCaKey]: bundle } };
  const checked = validateSecret(asSecret, { kind: "ca", now: ctx.options.now() });
  if ("error" in checked) return { reason: "InvalidCACertificateRef", message: `caCertificateRef ConfigMap ${namespace}/${ref.name} is invalid: ${checked.error}` };
  const secret: Secret = { ...checked.ok, ref: { kind: "ConfigMap", namespace, name: ref.name } };
  ctx.dag.secrets.set(secret.name, secret);
  return { ok: secret };
}

/** Several CA bundles as one validation context (Envoy takes one per cluster), named after the policy and the content. */
function joinedBundles(ctx: BuildContext, policy: BackendTLSPolicy, bundles: Secret[]): Secret {
  if (bundles.length === 1) return bundles[0]!;
  const chain = bundles.map((b) => b.certificateChain.trim()).join("\n");
  const namespace = policy.metadata.namespace ?? "";
  const hash = createHash("sha256").update("ca\0").update(chain).digest("hex").slice(0, 8);
  const secret: Secret = { name: `${namespace}/${policy.metadata.name}-ca-bundle/${hash}`, ref: refOf(policy), certificateChain: `${chain}\n`, privateKey: "", kind: "ca" };
  ctx.dag.secrets.set(secret.name, secret);
  return secret;
}

/** The policy's TLS and its Accepted and ResolvedRefs conditions (before any conflict). */
function resolve(ctx: BuildContext, policy: BackendTLSPolicy): Resolution {
  const validation = policy.spec?.validation ?? ({} as Partial<BackendTLSPolicy["spec"]["validation"]>);
  const resolvedTrue: KubeCondition = { type: "ResolvedRefs", status: "True", reason: "ResolvedRefs", message: "References resolved" };
  const invalid = (message: string): Resolution => ({ accepted: { type: "Accepted", status: "False", reason: "Invalid", message }, resolvedRefs: resolvedTrue });
  const wellKnown = validation.wellKnownCACertificates;
  if (wellKnown !== undefined && wellKnown !== "") {
    return invalid(`validation.wellKnownCACertificates ${wellKnown} is not supported (as in Contour): name the CA bundle with validation.caCertificateRefs`);
  }
  const hostname = validation.hostname ?? "";
  if (hostname === "" || hostname.includes("*") || isIP(hostname) !== 0) {
    return invalid(`validation.hostname ${JSON.stringify(hostname)} must be a DNS name without a wildcard, not an IP address`);
  }
  const refs = validation.caCertificateRefs ?? [];
  if (refs.length === 0) return invalid("validation.caCertificateRefs is empty: it must name a ConfigMap or Secret holding the CA bundle");
  const bundles: Secret[] = [];
  const problems: Array<{ reason: string; message: string }> = [];
  for (const ref of refs) {
    const result = caBundle(ctx, policy, ref);
    if ("ok" in result) bundles.push(result.ok);
    else problems.push(result);
  }
  const resolvedRefs: KubeCondition = problems[0]
    ? { type: "ResolvedRefs", status: "False", reason: problems[0].reason, message: problems.map((p) => p.message).join("; ") }
    : resolvedTrue;
  if (bundles.length === 0) {
    return { accepted: { type: "Accepted", status: "False", reason: "NoValidCACertificate", message: "no caCertificateRef is a valid CA bundle: see ResolvedRefs" }, resolvedRefs };
  }
  const sans = validation.subjectAltNames ?? [];
  const tls: BackendTls = {
    sni: hostname,
    validation: {
      caSecret: joinedBundles(ctx, policy, bundles),
      // With subjectAltNames, the hostname is the SNI only (the spec's rule).
      subjectNames: sans.length > 0 ? sans.flatMap((san) => (san.type === "Hostname" && san.hostname ? [san.hostname] : [])) : [hostname],
    },
  };
  const uris = sans.flatMap((san) => (san.type === "URI" && san.uri ? [san.uri] : []));
  if (uris.length > 0) tls.validation.uriSubjectNames = uris;
  return { tls, accepted: { type: "Accepted", status: "True", reason: "Accepted", message: "Accepted BackendTLSPolicy" }, resolvedRefs };
}

/**
 * Every BackendTLSPolicy's status: the served Gateway as its ancestor when a route of that Gateway
 * sends to one of its targets (Accepted, ResolvedRefs), no ancestor of ours otherwise. Problems go
 * to the object's errors and warnings too, for `agent validate`.
 */
export function writeBackendTlsStatus(ctx: BuildContext, state: BackendTlsPolicies, policies: BackendTLSPolicy[], ancestor: { ancestorRef: PolicyAncestorStatus["ancestorRef"]; controllerName: string }): void {
  for (const policy of policies) {
    const ref = refOf(policy);
    const generation = policy.metadata.generation;
    if (!state.seen.has(policy)) {
      ctx.status.gatewayApiStatus(ref, generation, { ancestors: [], controllerName: ancestor.controllerName });
      continue;
    }
    let resolution = state.resolutions.get(policy);
    if (!resolution) state.resolutions.set(policy, (resolution = resolve(ctx, policy)));
    const conflict = state.conflicted.get(policy);
    const accepted: KubeCondition = conflict ? { type: "Accepted", status: "False", reason: "Conflicted", message: conflict } : resolution.accepted;
    if (accepted.status === "False") ctx.status.error(ref, { type: "PolicyError", reason: accepted.reason, message: accepted.message });
    if (resolution.resolvedRefs.status === "False") ctx.status.warning(ref, { type: "PolicyError", reason: resolution.resolvedRefs.reason, message: resolution.resolvedRefs.message });
    ctx.status.gatewayApiStatus(ref, generation, { ancestors: [{ ...ancestor, conditions: [accepted, resolution.resolvedRefs] }] });
  }
}
