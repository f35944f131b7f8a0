// The HTTPProxy processor (projectcontour.io/v1): root proxies become virtual hosts, their include
// trees become routes, and every HTTPProxy gets Contour's status (valid, invalid with reasons, or
// orphaned). TLSCertificateDelegation is enforced through BuildContext.lookupTlsSecret.
import { compareStrings } from "../base/values.ts";
import type { KubeObject } from "../sources/types.ts";
import { crdDefaulted, crdSchemaErrors } from "./crd-schema.ts";
import type { BuildContext, Processor } from "./processor.ts";
import type { ObjectRef } from "./status.ts";
import type { CorsPolicy, IpFilterPolicy, LocalRateLimitPolicy, Route, TcpProxy } from "./types.ts";
import { computeRoutes, type Walk } from "./httpproxy-routes.ts";
import type { VirtualHostSpec } from "./crd-types.ts";
import { ErrorType, addError, addWarning, isBlank, orphanedMessage, proxyKey, proxyRef, readProxySpec, specOf } from "./httpproxy-spec.ts";
import { processTcpProxy } from "./httpproxy-tcpproxy.ts";
import { readDelegationSpec } from "./secrets.ts";
import { warnUnimplementedFields } from "./httpproxy-unimplemented.ts";
import { hostLengthProblem, quoteBounded } from "./limits.ts";
import { tlsSetup, type TlsSetup } from "./httpproxy-tls.ts";
import { corsPolicy, ipFilter, localRateLimit } from "./httpproxy-vhost-policies.ts";

const label = "[a-z0-9_]([-a-z0-9_]*[a-z0-9_])?";
const fqdnPattern = new RegExp(`^(\\*\\.)?${label}(\\.${label})*\\.?$`);

export const httpProxyProcessor: Processor = (ctx) => {
  reportDelegationProblems(ctx);
  httpProxyTreesProcessor(ctx);
};

/** The TLSCertificateDelegations' own problems (schema, mistyped fields), as conditions on them. */
export const reportDelegationProblems: Processor = (ctx) => {
  for (const delegation of ctx.input.tlsCertificateDelegations()) {
    const ref = { kind: "TLSCertificateDelegation", namespace: delegation.metadata.namespace ?? "default", name: delegation.metadata.name };
    if (ctx.options.checkCrdSchema && !schemaValid(ctx, ref, delegation)) continue;
    for (const problem of readDelegationSpec(delegation, ctx.cache).problems) addError(ctx, ref, ErrorType.spec, "SpecNotValid", `${problem}; the field is ignored`);
  }
};

/**
 * The HTTPProxies of the input: roots, their include trees, duplicates and orphans. Over any set of
 * proxies closed under includes and shared fqdns it gives them what it gives them over all proxies
 * (the incremental build runs it per such set).
 */
export const httpProxyTreesProcessor: Processor = (ctx) => {
  const walk: Walk = { ctx, proxies: new Map(), reached: new Set(), schemaInvalid: new Set() };
  const candidates = new Map<string, KubeObject[]>();
  const nonRoots: KubeObject[] = [];
  // Manifests never went through an API server: they get their CRD's defaults here, as it would set them.
  const proxies = ctx.options.checkCrdSchema ? ctx.input.httpProxies().map((proxy) => crdDefaulted("HTTPProxy", proxy, ctx.cache)) : ctx.input.httpProxies();
  const keyed = proxies.map((proxy) => ({ key: keyOf(proxy), proxy }));
  keyed.sort((a, b) => compareStrings(a.key, b.key));
  const sorted = keyed.map((k) => k.proxy);
  for (const { key, proxy } of keyed) {
    ctx.status.track(proxyRef(proxy), proxy.metadata.generation);
    walk.proxies.set(key, proxy);
    if (ctx.options.checkCrdSchema && !schemaValid(ctx, proxyRef(proxy), proxy)) walk.schemaInvalid.add(key);
  }
  for (const proxy of sorted) {
    if (walk.schemaInvalid.has(keyOf(proxy))) continue;
    const { spec, problems } = readProxySpec(ctx, proxy);
    for (const problem of problems) addError(ctx, proxyRef(proxy), ErrorType.spec, "SpecNotValid", `${problem}; the field is ignored`);
    warnUnimplementedFields(ctx, proxyRef(proxy), spec);
    const virtualhost = spec.virtualhost;
    if (!virtualhost) {
      nonRoots.push(proxy);
      continue;
    }
    const fqdn = rootFqdn(walk, proxy, virtualhost);
    if (fqdn === undefined) continue;
    const claimants = candidates.get(fqdn);
    if (claimants) claimants.push(proxy);
    else candidates.set(fqdn, [proxy]);
  }
  for (const [fqdn, claimants] of [...candidates].sort(([a], [b]) => compareStrings(a, b))) {
    const [only] = claimants;
    if (only && claimants.length === 1) {
      processRoot(walk, only, fqdn);
      continue;
    }
    // Nothing is first-come: every claimant of a contested fqdn is invalid until one gives it up.
    const names = claimants.map(keyOf).sort(compareStrings).join(", ");
    for (const proxy of claimants) {
      addError(ctx, proxyRef(proxy), ErrorType.virtualHost, "DuplicateVhost", `fqdn "${fqdn}" is used in multiple HTTPProxies: ${names}`);
    }
  }
  for (const proxy of nonRoots) {
    if (!walk.reached.has(keyOf(proxy))) ctx.status.orphaned(proxyRef(proxy), orphanedMessage);
  }
};

/**
 * Checks an object against its CRD schema, as the API server would have; each problem is an error
 * naming the field (`spec.routes[0].conditions[0].prefx: field not declared in schema`).
 */
function schemaValid(ctx: BuildContext, ref: ObjectRef, object: KubeObject): boolean {
  const errors = crdSchemaErrors(ref.kind === "HTTPProxy" ? "HTTPProxy" : "TLSCertificateDelegation", object, ctx.cache);
  for (const message of errors) addError(ctx, ref, ErrorType.spec, "SpecNotValid", message);
  return errors.length === 0;
}

function keyOf(proxy: KubeObject): string {
  const ref = proxyRef(proxy);
  return proxyKey(ref.namespace, ref.name);
}


/** The lower-cased fqdn a root claims, or undefined (with the error recorded) when it may not claim one. */
function rootFqdn(walk: Walk, proxy: KubeObject, virtualhost: VirtualHostSpec): string | undefined {
  const { ctx } = walk;
  const ref = proxyRef(proxy);
  const fqdn = (virtualhost.fqdn ?? "").toLowerCase();
  if (isBlank(fqdn)) {
    addError(ctx, ref, ErrorType.virtualHost, "FQDNNotSpecified", "Spec.VirtualHost.Fqdn must be specified");
    return undefined;
  }
  if (fqdn.slice(fqdn.startsWith("*.") ? 2 : 0).includes("*")) {
    addError(ctx, ref, ErrorType.virtualHost, "WildCardNotAllowed", `Spec.VirtualHost.Fqdn ${quoteBounded(virtualhost.fqdn ?? "")} cannot use wildcards`);
    return undefined;
  }
  const tooLong = hostLengthProblem(fqdn);
  if (!fqdnPattern.test(fqdn) || tooLong) {
    addError(ctx, ref, ErrorType.virtualHost, "FQDNNotValid", `Spec.VirtualHost.Fqdn ${quoteBounded(virtualhost.fqdn ?? "")} is not a valid hostname${tooLong ? `: ${tooLong}` : ""}`);
    return undefined;
  }
  // Checked before the fqdn is claimed: a proxy outside the root namespaces must not be able to
  // take a host away from a legitimate root by claiming it too.
  const roots = ctx.options.rootNamespaces;
  if (roots.length > 0 && !roots.includes(ref.namespace)) {
    addError(ctx, ref, ErrorType.rootNamespace, "RootProxyNotAllowedInNamespace", "root HTTPProxy cannot be defined in this namespace");
    return undefined;
  }
  return fqdn;
}

interface VhostPolicies {
  cors?: CorsPolicy;
  rateLimit?: LocalRateLimitPolicy;
  ipFilter?: IpFilterPolicy;
}

function processRoot(walk: Walk, proxy: KubeObject, fqdn: string): void {
  const { ctx } = walk;
  const ref = proxyRef(proxy);
  const spec = specOf(ctx, proxy);
  const virtualhost = spec.virtualhost ?? {};
  const hasTcpProxy = spec.tcpproxy !== undefined;
  if ((spec.routes ?? []).length === 0 && (spec.includes ?? []).length === 0 && !hasTcpProxy) {
    addError(ctx, ref, ErrorType.spec, "NothingDefined", "HTTPProxy.Spec must have at least one Route, Include, or a TCPProxy");
    return;
  }
  if (!extensionsSupported(walk, ref, virtualhost)) return;
  if ((virtualhost.ipAllowPolicy ?? []).length > 0 && (virtualhost.ipDenyPolicy ?? []).length > 0) {
    addError(ctx, ref, ErrorType.ipFilter, "IncompatibleIPAddressFilters", "Spec.VirtualHost.IPAllowFilterPolicy and Spec.VirtualHost.IPDepnyFilterPolicy cannot both be defined.");
    return;
  }
  let tls: TlsSetup | undefined;
  const tlsSpec = virtualhost.tls;
  if (tlsSpec) {
    tls = tlsSetup(ctx, ref, tlsSpec);
    if (!tls) return;
  }
  let tcpProxy: TcpProxy | undefined;
  if (hasTcpProxy) {
    if (!tls) {
      addError(ctx, ref, ErrorType.tcpProxy, "TLSMustBeConfigured", "Spec.TCPProxy requires that either Spec.TLS.Passthrough or Spec.TLS.SecretName be set");
      return;
    }
    tcpProxy = processTcpProxy(walk, proxy, []);
    if (!tcpProxy) return;
  } else if (tls?.passthrough) {
    addError(ctx, ref, ErrorType.tls, "TLSConfigNotValid", "Spec.VirtualHost.TLS passthrough requires Spec.TCPProxy to be set");
    return;
  }
  const routes = computeRoutes(walk, { fqdn, enforceTls: tls !== undefined }, proxy, [], []);
  const policies = vhostPolicies(walk, ref, virtualhost);
  if (!policies) return;
  if (routes.length > 0) {
    const insecure = ctx.virtualHost(fqdn, ref);
    insecure.routes.push(...routes);
    applyPolicies(insecure, policies);
  }
  if (!tls) return;
  if (!tcpProxy && routes.length === 0) return;
  const secure = ctx.secureVirtualHost(fqdn, ref);
  secure.passthrough = tls.passthrough;
  secure.minTlsVersion = tls.minTlsVersion;
  secure.maxTlsVersion = tls.maxTlsVersion;
  if (tls.secret) secure.secret = tls.secret;
  if (tls.downstreamValidation) secure.downstreamValidation = tls.downstreamValidation;
  if (tls.fallbackSecret) {
    secure.fallbackCertificate = true;
    ctx.dag.fallbackSecret = tls.fallbackSecret;
  }
  if (tcpProxy) {
    secure.tcpProxy = tcpProxy;
    return;
  }
  // The same routes serve HTTPS; only their plaintext copies redirect.
  secure.routes.push(...routes.map(withoutHttpsRedirect));
  applyPolicies(secure, policies);
}

/**
 * External authorization and JWT verification need extension services isobar does not run. They
 * fail closed: a root that asks for them is invalid rather than served unprotected. What only
 * loosens nothing (a global rate limit) is ignored with a warning (httpproxy-unimplemented.ts).
 */
function extensionsSupported(walk: Walk, ref: ObjectRef, virtualhost: VirtualHostSpec): boolean {
  const { ctx } = walk;
  const tls = virtualhost.tls;
  const terminatesTls = tls !== undefined && !isBlank(tls.secretName ?? "");
  if ((virtualhost.jwtProviders ?? []).length > 0) {
    if (!terminatesTls) {
      addError(ctx, ref, "JWTVerificationError", "JWTVerificationNotPermitted", "Spec.VirtualHost.JWTProviders can only be defined for root HTTPProxies that terminate TLS");
    } else {
      addError(ctx, ref, "JWTVerificationError", "JWTVerificationNotSupported", "Spec.VirtualHost.JWTProviders: JWT verification is not supported by this control plane");
    }
    return false;
  }
  const extension = virtualhost.authorization?.extensionRef;
  if (extension && (extension.name ?? "") !== "") {
    if (!tls) {
      addError(ctx, ref, "AuthError", "AuthNotPermitted", "Spec.VirtualHost.Authorization.ExtensionServiceRef can only be defined for root HTTPProxies that terminate TLS");
    } else {
      const name = `${extension.namespace || ref.namespace}/${extension.name}`;
      addError(ctx, ref, "AuthError", "ExtensionServiceNotFound", `Spec.Virtualhost.Authorization.ServiceRef extension service "${name}" not found`);
    }
    return false;
  }
  return true;
}

function withoutHttpsRedirect(route: Route): Route {
  if (!route.httpsRedirect) return route;
  const { httpsRedirect: _, ...rest } = route;
  return rest;
}

function vhostPolicies(walk: Walk, ref: ObjectRef, virtualhost: VirtualHostSpec): VhostPolicies | undefined {
  const { ctx } = walk;
  const out: VhostPolicies = {};
  const cors = corsPolicy(virtualhost.corsPolicy, ctx.checkRegex.bind(ctx));
  if ("error" in cors) {
    addError(ctx, ref, ErrorType.cors, "PolicyDidNotParse", `Spec.VirtualHost.CORSPolicy: ${cors.error}`);
    return undefined;
  }
  if (cors.ok) out.cors = cors.ok;
  const rateLimit = localRateLimit(virtualhost.rateLimitPolicy);
  if ("error" in rateLimit) {
    addError(ctx, ref, ErrorType.virtualHost, "RateLimitPolicyNotValid", `Spec.VirtualHost.RateLimitPolicy is invalid: ${rateLimit.error}`);
    return undefined;
  }
  if (rateLimit.ok) out.rateLimit = rateLimit.ok;
  const filter = ipFilter(virtualhost.ipAllowPolicy, virtualhost.ipDenyPolicy);
  if (filter.errors.length > 0) {
    for (const [reason, message] of filter.errors) addError(ctx, ref, ErrorType.ipFilter, reason, message);
    return undefined;
  }
  if (filter.filter) out.ipFilter = filter.filter;
  return out;
}

function applyPolicies(vhost: { cors?: CorsPolicy; rateLimit?: LocalRateLimitPolicy; ipFilter?: IpFilterPolicy }, policies: VhostPolicies): void {
  if (policies.cors) vhost.cors = policies.cors;
  if (policies.rateLimit) vhost.rateLimit = policies.rateLimit;
  if (policies.ipFilter) vhost.ipFilter = policies.ipFilter;
}
