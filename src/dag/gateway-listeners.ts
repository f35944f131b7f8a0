// The served Gateway's listeners, checked as the Gateway API spec says: a protocol we serve (HTTP,
// HTTPS with Terminate, TLS Passthrough or Terminate), no conflict with another listener on its port (ProtocolConflict,
// HostnameConflict), route kinds we serve, a certificate that resolves (cross-namespace only with a
// ReferenceGrant). Where Envoy listens: Gateway port 80 is the plaintext listener (`ingress_http`,
// --envoy-service-http-port, 8080), port 443 the TLS listener (`ingress_https`, 8443; HTTPS and
// TLS listeners share it by SNI), as Contour;
// any other port P gets its own Envoy listener on P + 8000 (Contour's mapping, gateway-own-listeners.ts):
// plaintext HTTP, TLS (HTTPS and TLS listeners sharing it by SNI, as on 443), or a TCP proxy to a
// TCPRoute's backends (never on 80 or 443, whose Envoy ports are the shared listeners').
// A TLS listener that terminates serves TLSRoutes and TCPRoutes, one in Passthrough TLSRoutes only.
import type { Gateway, GatewayApiObjects, Listener as GatewayListener } from "./gateway-api-types.ts";
import { GATEWAY_GROUP, referenceGranted } from "./gateway-refs.ts";
import type { BuildContext } from "./processor.ts";
import type { KubeCondition } from "./status.ts";
import type { Secret } from "./types.ts";

/** Where a listener's routes go: the shared plaintext or TLS listener, or a plaintext listener of its own. */
export type ListenerTarget = { kind: "http" } | { kind: "https" } | { kind: "port"; envoyPort: number } | { kind: "tls"; envoyPort: number } | { kind: "tcp"; envoyPort: number };

export interface GatewayListenerState {
  spec: GatewayListener;
  target: ListenerTarget;
  /** Accepts routes: Accepted and not Conflicted. */
  accepting: boolean;
  /** Also serves them: its references resolved (a certificate, for HTTPS). */
  programmable: boolean;
  secret?: Secret;
  supportedKinds: Array<{ group: string; kind: string }>;
  attachedRoutes: number;
  accepted?: [reason: string, message: string];
  resolvedRefs?: [reason: string, message: string];
  conflicted?: [reason: string, message: string];
}

/** The route kinds this agent serves on a listener: a TCPRoute's bytes on a TLS listener only once TLS is terminated. */
function servedKindsOf(spec: GatewayListener): string[] {
  if (spec.protocol === "TLS") return spec.tls?.mode === "Passthrough" ? ["TLSRoute"] : ["TLSRoute", "TCPRoute"];
  return spec.protocol === "TCP" ? ["TCPRoute"] : ["HTTPRoute", "GRPCRoute"];
}

/** Each listener of `gateway` with its verdict, in spec order. */
export function gatewayListeners(ctx: BuildContext, objects: GatewayApiObjects, gateway: Gateway): GatewayListenerState[] {
  const states = gateway.spec.listeners.map((spec) => listenerState(spec));
  markConflicts(states);
  for (const state of states) {
    kinds(state);
    const terminates = state.spec.protocol === "HTTPS" || (state.spec.protocol === "TLS" && (state.spec.tls?.mode ?? "Terminate") === "Terminate");
    if (state.accepting && terminates) certificate(ctx, objects, gateway, state);
    state.programmable = state.accepting && state.resolvedRefs === undefined;
  }
  return states;
}

function listenerState(spec: GatewayListener): GatewayListenerState {
  const state: GatewayListenerState = { spec, target: { kind: "http" }, accepting: true, programmable: false, supportedKinds: [], attachedRoutes: 0 };
  if (spec.protocol === "HTTP") state.target = spec.port === 80 ? { kind: "http" } : { kind: "port", envoyPort: spec.port + 8000 };
  else if (spec.protocol === "HTTPS" || spec.protocol === "TLS") {
    state.target = spec.port === 443 ? { kind: "https" } : { kind: "tls", envoyPort: spec.port + 8000 };
    if (spec.protocol === "HTTPS" && (spec.tls?.mode ?? "Terminate") !== "Terminate") state.accepted = ["UnsupportedProtocol", "HTTPS listeners terminate TLS; tls.mode Passthrough is for TLS listeners"];
  } else if (spec.protocol === "TCP") {
    state.target = { kind: "tcp", envoyPort: spec.port + 8000 };
    if (spec.port === 80 || spec.port === 443) state.accepted = ["PortUnavailable", `a TCP listener cannot use port ${spec.port}: it is served by Envoy's shared ${spec.port === 80 ? "HTTP" : "TLS"} listener`];
  } else {
    state.accepted = ["UnsupportedProtocol", `protocol ${spec.protocol} is not supported: HTTP, HTTPS, TLS and TCP listeners are`];
  }
  if ("envoyPort" in state.target && state.target.envoyPort > 65535) state.accepted = ["PortUnavailable", `port ${spec.port} + 8000 is beyond 65535`];
  if (state.accepted) state.accepting = false;
  return state;
}

/** Two listeners on one port conflict when their protocols differ, or when they have the same hostname. */
function markConflicts(states: GatewayListenerState[]): void {
  for (const state of states) {
    for (const other of states) {
      if (other === state || other.spec.port !== state.spec.port) continue;
      // HTTPS and TLS share the TLS listener, told apart by SNI.
      const shareable = (p: string) => (p === "HTTPS" || p === "TLS" ? "TLS" : p);
      if (shareable(other.spec.protocol) !== shareable(state.spec.protocol)) {
        state.conflicted = ["ProtocolConflict", `listener ${state.spec.name} uses protocol ${state.spec.protocol} on port ${state.spec.port}, where listener ${other.spec.name} uses ${other.spec.protocol}`];
        break;
      }
      if ((other.spec.hostname ?? "") === (state.spec.hostname ?? "")) {
        state.conflicted = ["HostnameConflict", `listener ${state.spec.name} has the same hostname ${JSON.stringify(state.spec.hostname ?? "")} as listener ${other.spec.name} on port ${state.spec.port}`];
      }
    }
    if (state.conflicted) state.accepting = false;
  }
}

function kinds(state: GatewayListenerState): void {
  const servedKinds = servedKindsOf(state.spec);
  const wanted = state.spec.allowedRoutes?.kinds;
  if (!wanted || wanted.length === 0) {
    state.supportedKinds = servedKinds.map((kind) => ({ group: GATEWAY_GROUP, kind }));
    return;
  }
  const invalid: string[] = [];
  for (const { group, kind } of wanted) {
    if ((group ?? GATEWAY_GROUP) === GATEWAY_GROUP && servedKinds.includes(kind)) state.supportedKinds.push({ group: GATEWAY_GROUP, kind });
    else invalid.push(`${group ?? GATEWAY_GROUP}/${kind}`);
  }
  if (invalid.length > 0) state.resolvedRefs = ["InvalidRouteKinds", `route kinds ${invalid.join(", ")} are not supported on this listener (supported: ${servedKinds.join(", ")})`];
}

function certificate(ctx: BuildContext, objects: GatewayApiObjects, gateway: Gateway, state: GatewayListenerState): void {
  const refs = state.spec.tls?.certificateRefs ?? [];
  const ref = refs[0];
  if (!ref) {
    state.resolvedRefs = ["InvalidCertificateRef", "an HTTPS listener needs tls.certificateRefs"];
    return;
  }
  const namespace = ref.namespace ?? gateway.metadata.namespace ?? "";
  const text = `${namespace}/${ref.name}`;
  if ((ref.group ?? "") !== "" || (ref.kind ?? "Secret") !== "Secret") {
    state.resolvedRefs = ["InvalidCertificateRef", `certificateRef ${text}: only core Secrets are supported`];
    return;
  }
  const from = { kind: "Gateway", namespace: gateway.metadata.namespace ?? "" };
  if (!referenceGranted(objects.referenceGrants, from, { kind: "Secret", namespace, name: ref.name })) {
    state.resolvedRefs = ["RefNotPermitted", `certificateRef to Secret ${text} is not permitted: no ReferenceGrant in namespace ${namespace} allows Gateways from namespace ${from.namespace}`];
    return;
  }
  // The ReferenceGrant was checked just above: TLSCertificateDelegation is HTTPProxy's rule, not this API's.
  const lookup = ctx.lookupTlsSecretUnchecked(namespace, ref.name);
  if ("error" in lookup) {
    state.resolvedRefs = ["InvalidCertificateRef", `certificateRef to Secret ${text} is invalid: ${lookup.cause ?? lookup.error.message}`];
    return;
  }
  state.secret = lookup.ok;
}

/** The listener's status conditions: Accepted, Programmed, ResolvedRefs, Conflicted. */
export function listenerConditions(state: GatewayListenerState): KubeCondition[] {
  const condition = (type: string, ok: boolean, problem: [string, string] | undefined, okReason: string, okMessage: string): KubeCondition =>
    ok || !problem ? { type, status: "True", reason: okReason, message: okMessage } : { type, status: "False", reason: problem[0], message: problem[1] };
  const conflictedOrAccepted = state.accepted ?? state.conflicted;
  const programmedProblem: [string, string] | undefined = state.conflicted
    ? state.conflicted
    : state.programmable
      ? undefined
      : ["Invalid", `listener ${state.spec.name} is not programmed: ${(state.accepted ?? state.resolvedRefs ?? ["", "invalid"])[1]}`];
  return [
    condition("Accepted", conflictedOrAccepted === undefined, conflictedOrAccepted, "Accepted", "Listener accepted"),
    condition("Programmed", state.programmable, programmedProblem, "Programmed", "Listener programmed in Envoy"),
    condition("ResolvedRefs", state.resolvedRefs === undefined, state.resolvedRefs, "ResolvedRefs", "Listener references resolved"),
    state.conflicted
      ? { type: "Conflicted", status: "True", reason: state.conflicted[0], message: state.conflicted[1] }
      : { type: "Conflicted", status: "False", reason: "NoConflicts", message: "No conflicts" },
  ];
}
