// HTTPProxy services (routes[].services and tcpproxy.services) resolved to interned DAG clusters:
// Service port, upstream protocol, upstream TLS validation, the upstream client certificate, with
// Contour's reasons (ServicePortInvalid, ServiceUnresolvedReference, UnsupportedProtocol, …).
import type { BuildContext, ResolvedService } from "./processor.ts";
import type { ObjectRef } from "./status.ts";
import type { Cluster, HealthCheckPolicy, LoadBalancerStrategy, Secret, SlowStart, TcpHealthCheckPolicy, UpstreamProtocol, UpstreamValidation } from "./types.ts";
import type { ServiceSpec, UpstreamValidationSpec } from "./crd-types.ts";
import { ErrorType, addError, addWarning, namespacedName, parseGoDuration, quote } from "./httpproxy-spec.ts";

/** What a service's cluster shares with its route (or tcpproxy). */
export interface ClusterSettings {
  loadBalancer: LoadBalancerStrategy;
  healthCheck?: HealthCheckPolicy;
  tcpHealthCheck?: TcpHealthCheckPolicy;
  idleTimeoutMs?: number;
  /** Host rewrite from the route's request headers policy: becomes the SNI to TLS upstreams. */
  routeHostRewrite?: string;
  /** Host rewrite from the service's own request headers policy (takes precedence). */
  serviceHostRewrite?: string;
}

/** `ok`: the cluster; `skip`: this service is left out (the route goes on); `fatal`: the proxy's routes are dropped. */
export type ServiceResult = { ok: Cluster } | { skip: true } | { fatal: true };

function protocolOf(service: ServiceSpec, resolved: ResolvedService): UpstreamProtocol | string {
  const protocol = service.protocol;
  if (protocol === undefined) return resolved.serviceProtocol ?? "http1";
  return protocol === "h2" || protocol === "h2c" || protocol === "tls" ? protocol : `unsupported protocol: ${protocol}`;
}

function upstreamValidation(ctx: BuildContext, ref: ObjectRef, service: ServiceSpec, validation: UpstreamValidationSpec): UpstreamValidation | undefined {
  const caName = namespacedName(validation.caSecret ?? "", ref.namespace);
  const caText = `${caName.namespace}/${caName.name}`;
  const failure = (cause: string): undefined => {
    addError(ctx, ref, ErrorType.service, "TLSUpstreamValidation", `Service [${service.name ?? ""}:${service.port ?? 0}] TLS upstream validation policy error: ${cause}`);
    return undefined;
  };
  const subjectName = validation.subjectName ?? "";
  const subjectNames = [...(validation.subjectNames ?? [])];
  if (subjectName === "" && subjectNames.length === 0) return failure("missing subject alternative name");
  if (subjectName !== "" && subjectNames.length > 0 && subjectNames[0] !== subjectName) {
    return failure(`first entry of SubjectNames (${subjectNames[0]}) does not match SubjectName (${subjectName})`);
  }
  const ca = ctx.lookupCaSecret(caName.namespace, caName.name, ref);
  if ("error" in ca) {
    if (ca.error.reason === "DelegationNotPermitted") {
      addError(ctx, ref, ErrorType.tls, "CACertificateNotDelegated", `service.UpstreamValidation.CACertificate Secret ${quote(caText)} is not configured for certificate delegation`);
      return undefined;
    }
    return failure(ca.cause ?? ca.error.message);
  }
  return { caSecret: ca.ok, subjectNames: subjectNames.length > 0 ? subjectNames : [subjectName] };
}

/**
 * Resolves one service of a route or tcpproxy into an interned cluster, recording Contour's
 * conditions on `ref`. `unresolvedPrefix` is "Spec.Routes" or "Spec.TCPProxy".
 */
export function serviceCluster(
  ctx: BuildContext,
  ref: ObjectRef,
  service: ServiceSpec,
  settings: ClusterSettings,
  options: { unresolvedType: string; unresolvedPrefix: string },
): ServiceResult {
  const name = service.name ?? "";
  const port = service.port ?? 0;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    addError(ctx, ref, ErrorType.service, "ServicePortInvalid", `service ${quote(name)}: port must be in the range 1-65535`);
    return { fatal: true };
  }
  const lookup = ctx.lookupService(ref.namespace, name, port);
  if ("error" in lookup) {
    addError(ctx, ref, options.unresolvedType, "ServiceUnresolvedReference", `${options.unresolvedPrefix} unresolved service reference: ${lookup.cause ?? lookup.error.message}`);
    return options.unresolvedPrefix === "Spec.TCPProxy" ? { fatal: true } : { skip: true };
  }
  const resolved = lookup.ok;
  for (const problem of resolved.annotationProblems ?? []) {
    addWarning(ctx, ref, ErrorType.service, "AnnotationNotValid", `service ${quote(name)}: annotation ${problem}; it is ignored`);
  }
  if (resolved.appProtocolProblem) addWarning(ctx, ref, ErrorType.service, "AppProtocolNotSupported", `service ${quote(name)}: ${resolved.appProtocolProblem}`);
  const health = healthPortOf(ctx, ref, service, settings, options);
  if (health === "fatal") return { fatal: true };
  if (health === "skip") return { skip: true };
  const slowStart = slowStartOf(ctx, ref, service, settings.loadBalancer);
  if (slowStart === "error") return { fatal: true };
  const protocol = protocolOf(service, resolved);
  if (protocol !== "http1" && protocol !== "h2" && protocol !== "h2c" && protocol !== "tls") {
    addError(ctx, ref, ErrorType.service, "UnsupportedProtocol", protocol);
    return { fatal: true };
  }
  if (service.validation !== undefined && protocol !== "tls" && protocol !== "h2") {
    addWarning(ctx, ref, ErrorType.spec, "IgnoredField", `ignoring field validation of service ${quote(name)}: it verifies TLS upstreams, and this one is spoken to in cleartext (${protocol === "h2c" ? "HTTP/2" : "HTTP/1.1"})`);
  }
  // The common case (no health check, no upstream TLS) is memoized per build on the resolved
  // Service port (one object per port, lookups are memoized) and the few scalars that vary: the
  // same Cluster ctx.cluster would return, without writing and looking up its settings again.
  const sni = settings.serviceHostRewrite || settings.routeHostRewrite || resolved.externalName;
  const memoizable = protocol !== "tls" && protocol !== "h2" && !settings.healthCheck && !settings.tcpHealthCheck && !slowStart;
  const memoKey = memoizable ? `${protocol}|${settings.loadBalancer}|${settings.idleTimeoutMs ?? "-"}|${sni ?? ""}` : undefined;
  const known = memoKey === undefined ? undefined : ctx.serviceClusters.get(resolved, memoKey);
  if (known) return { ok: known };
  const settingsOut: Omit<Cluster, "name" | "edsServiceName"> = {
    service: { namespace: resolved.namespace, name: resolved.name, port: resolved.port, portName: resolved.portName },
    protocol,
    loadBalancer: settings.loadBalancer,
  };
  if (resolved.targetPort !== undefined) settingsOut.service.targetPort = resolved.targetPort;
  if (resolved.externalName !== undefined) settingsOut.externalName = resolved.externalName;
  if (resolved.circuitBreakers !== undefined) settingsOut.circuitBreakers = resolved.circuitBreakers;
  if (settings.healthCheck) settingsOut.healthCheck = settings.healthCheck;
  if (settings.tcpHealthCheck) settingsOut.tcpHealthCheck = settings.tcpHealthCheck;
  if (settings.idleTimeoutMs !== undefined) settingsOut.idleTimeoutMs = settings.idleTimeoutMs;
  if (health) settingsOut.healthPort = health;
  if (slowStart) settingsOut.slowStart = slowStart;
  const validation = service.validation;
  if ((protocol === "tls" || protocol === "h2") && validation) {
    const uv = upstreamValidation(ctx, ref, service, validation);
    if (!uv) return { fatal: true };
    settingsOut.validation = uv;
  }
  if (sni) settingsOut.sni = sni;
  if (protocol === "tls" || protocol === "h2") {
    const client = clientCertificate(ctx, ref);
    if (client === "error") return { fatal: true };
    if (client) settingsOut.clientCertificate = client;
  }
  const cluster = ctx.cluster(settingsOut);
  if (memoKey !== undefined) ctx.serviceClusters.set(resolved, memoKey, cluster);
  return { ok: cluster };
}

/**
 * Contour's healthPort: with a health check policy, the checks go to another port of the Service
 * (a port it must have). Without one it does nothing, which the user is told.
 */
function healthPortOf(
  ctx: BuildContext,
  ref: ObjectRef,
  service: ServiceSpec,
  settings: ClusterSettings,
  options: { unresolvedType: string; unresolvedPrefix: string },
): Cluster["healthPort"] | "fatal" | "skip" | undefined {
  const healthPort = service.healthPort ?? 0;
  if (service.healthPort === undefined || healthPort === 0 || healthPort === (service.port ?? 0)) return undefined;
  if (!settings.healthCheck && !settings.tcpHealthCheck) {
    addWarning(ctx, ref, ErrorType.spec, "IgnoredField", `ignoring field healthPort of service ${quote(service.name ?? "")}: health checks are configured by healthCheckPolicy, which is not set`);
    return undefined;
  }
  const lookup = ctx.lookupService(ref.namespace, service.name ?? "", healthPort);
  if ("error" in lookup) {
    addError(ctx, ref, options.unresolvedType, "ServiceUnresolvedReference", `${options.unresolvedPrefix} unresolved service reference: ${lookup.cause ?? lookup.error.message}`);
    return options.unresolvedPrefix === "Spec.TCPProxy" ? "fatal" : "skip";
  }
  const { port, portName, targetPort } = lookup.ok;
  return targetPort === undefined ? { port, portName } : { port, portName, targetPort };
}

/** Contour's slowStartPolicy: Envoy implements it for round robin and least request balancing only. */
function slowStartOf(ctx: BuildContext, ref: ObjectRef, service: ServiceSpec, strategy: LoadBalancerStrategy): SlowStart | "error" | undefined {
  const policy = service.slowStartPolicy;
  if (!policy) return undefined;
  const fail = (message: string): "error" => {
    addError(ctx, ref, ErrorType.service, "SlowStartInvalid", message);
    return "error";
  };
  if (strategy !== "RoundRobin" && strategy !== "WeightedLeastRequest") {
    return fail("slow start is only supported with RoundRobin or WeightedLeastRequest load balancer strategy");
  }
  const window = parseGoDuration(policy.window ?? "");
  if (typeof window === "string") return fail(`error parsing window: ${window} on slow start`);
  const aggressionText = policy.aggression ?? "";
  const aggression = aggressionText === "" ? 1 : Number(aggressionText);
  if (!/^([0-9]+([.][0-9]+)?|[.][0-9]+)$/.test(aggressionText || "1") || !Number.isFinite(aggression) || aggression <= 0) {
    return fail(`error parsing aggression: ${quote(aggressionText)} is not a decimal number greater than 0 on slow start`);
  }
  // 10 is the CRD's default, which an API server would have filled in.
  const minWeightPercent = policy.minWeightPercent ?? 10;
  if (!Number.isInteger(minWeightPercent) || minWeightPercent < 0 || minWeightPercent > 100) return fail(`minWeightPercent ${minWeightPercent} must be from 0 to 100 on slow start`);
  return { windowMs: window, aggression, minWeightPercent };
}

function clientCertificate(ctx: BuildContext, ref: ObjectRef): Secret | undefined | "error" {
  const lookup = ctx.upstreamClientCertificate();
  if (!lookup) return undefined;
  if ("ok" in lookup) return lookup.ok;
  const configured = ctx.options.upstreamClientCertificate;
  const text = configured ? `${configured.namespace}/${configured.name}` : "";
  addError(ctx, ref, ErrorType.tls, "SecretNotValid", `tls.envoy-client-certificate Secret ${quote(text)} is invalid: ${lookup.cause ?? lookup.error.message}`);
  return "error";
}
