// The Ingress processor (networking.k8s.io/v1): TLS hosts from spec.tls, one route per rule path on
// the plaintext and TLS virtual hosts, the default backend as `*` `/`, and Contour's annotations.
// Semantics follow Contour's ingress_processor.go. A path defined twice on one virtual host: within
// one Ingress the later definition replaces the earlier, as in Contour (its virtual host keeps the
// last route added for a match; a rule for `/` overrides the default backend). Across Ingresses,
// where Contour's winner is whichever its randomised map iteration processed last (it can change
// from one rebuild to the next), isobar deliberately picks the oldest (creationTimestamp, then
// namespace/name), so a new Ingress cannot take over a path another one serves; both get a condition.
import type { KubeObject } from "../sources/types.ts";
import { contourAnnotation } from "./annotations.ts";
import { ingressRef, parseIngressPolicy } from "./ingress-policy.ts";
import { hostLengthProblem, pathLengthProblem, quoteBounded } from "./limits.ts";
import type { IngressPolicy } from "./ingress-policy.ts";
import { readIngressSpec } from "./ingress-spec.ts";
import type { IngressPath, IngressRule, IngressSpec } from "./ingress-spec.ts";
import type { BuildContext } from "./processor.ts";
import type { ObjectRef, SubCondition } from "./status.ts";
import type { Cluster, PathMatch, Route, Secret } from "./types.ts";
import { wildcardAuthorityMatch } from "./wildcard.ts";
import { PathClaims, type PathClaim } from "./ingress-claims.ts";

/** The empty list of every Ingress route that has none of a kind: frozen, never changed. */
const noItems = Object.freeze([]) as unknown as never[];

/** A cluster already made for a Service port, and what was wrong with that Service's annotations. */
interface Backend {
  cluster: Cluster;
  /** Warnings about the Service: what is wrong, and their reason. */
  problems: ServiceProblem[];
}

/**
 * Clusters already made in this build, by namespace, Service and port as written. An Ingress's paths
 * mostly name one Service after another: the last one is found without a key.
 */
class Backends {
  readonly #byKey = new Map<string, Backend>();
  #last: { namespace: string; name: string; port: string | number; backend: Backend } | undefined;

  get(namespace: string, name: string, port: string | number): Backend | undefined {
    const last = this.#last;
    if (last && last.port === port && last.name === name && last.namespace === namespace) return last.backend;
    const backend = this.#byKey.get(`${namespace}\u0000${name}\u0000${port}`);
    if (backend) this.#last = { namespace, name, port, backend };
    return backend;
  }

  set(namespace: string, name: string, port: string | number, backend: Backend): void {
    this.#byKey.set(`${namespace}\u0000${name}\u0000${port}`, backend);
    this.#last = { namespace, name, port, backend };
  }
}

interface ServiceProblem {
  reason: "AnnotationNotValid" | "AppProtocolNotSupported";
  text: string;
}

/** Who set the certificate of a TLS host. */
interface TlsClaim {
  ref: ObjectRef;
  secret: Secret;
}

const hostPattern = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why an Ingress host is not an RFC 1123 subdomain (`*.` wildcard allowed), or undefined. */
function hostProblem(host: string): string | undefined {
  if (!hostPattern.test(host)) return "is not a valid DNS name";
  const tooLong = hostLengthProblem(host);
  return tooLong && `is not a valid DNS name: ${tooLong}`;
}

const ingressName = (ref: ObjectRef): string => `Ingress "${ref.namespace}/${ref.name}"`;

/** Oldest first (creationTimestamp), then namespace/name: the order that decides duplicates. */
export function sortIngresses(ingresses: KubeObject[]): KubeObject[] {
  const keyed = ingresses.map((ingress) => {
    const created = Date.parse(ingress.metadata.creationTimestamp ?? "");
    return { ingress, created: Number.isNaN(created) ? 0 : created, name: `${ingress.metadata.namespace ?? ""}/${ingress.metadata.name}` };
  });
  keyed.sort((a, b) => (a.created !== b.created ? a.created - b.created : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return keyed.map((k) => k.ingress);
}

/** Adds every served Ingress to the DAG; problems become conditions on the Ingress. */
export function ingressProcessor(ctx: BuildContext): void {
  const ingresses = sortIngresses(ctx.input.ingresses());
  const read = new Map<KubeObject, ReadIngress>();
  for (const ingress of ingresses) {
    const ref = ingressRef(ingress);
    ctx.status.track(ref, ingress.metadata.generation);
    const known = readIngress(ingress);
    for (const problem of known.problems) ctx.status.error(ref, { type: "SpecError", reason: "SpecNotValid", message: `${problem}; the field is ignored` });
    for (const warning of known.policyWarnings) ctx.status.warning(ref, warning);
    read.set(ingress, known);
  }
  // TLS first, so every Ingress's routes for a host reach its secure virtual host whichever
  // Ingress carried the certificate.
  const tlsClaims = new Map<string, TlsClaim>();
  for (const ingress of ingresses) addTlsHosts(ctx, ingress, { claims: tlsClaims, ...read.get(ingress)! });
  const pathClaims = new PathClaims();
  const backends = new Backends();
  for (const ingress of ingresses) addRules(ctx, ingress, { claims: pathClaims, backends, ...read.get(ingress)! });
}

/** An Ingress as its processor reads it: the typed spec and its problems, the annotations' policy and their warnings. */
export interface ReadIngress {
  spec: IngressSpec;
  problems: string[];
  policy: IngressPolicy;
  policyWarnings: SubCondition[];
}

/**
 * An Ingress's typed spec and annotation policy, with what is wrong in them. Read anew on every build,
 * not remembered by object as HTTPProxy specs are: about 1 KB per Ingress held for good (90+ MiB at
 * 100k Ingresses) for some 50 ms of DAG CPU in a 10k-Ingress full rebuild that is not the first.
 */
function readIngress(ingress: KubeObject): ReadIngress {
  const { spec, problems } = readIngressSpec(ingress.spec);
  const policyWarnings: SubCondition[] = [];
  return { spec, problems, policy: parseIngressPolicy(ingress, policyWarnings), policyWarnings };
}

function secretRefOf(ingress: KubeObject, secretName: string): { namespace: string; name: string } {
  const slash = secretName.indexOf("/");
  if (slash > 0) return { namespace: secretName.slice(0, slash), name: secretName.slice(slash + 1) };
  const annotated = contourAnnotation(ingress.metadata.annotations, "tls-cert-namespace");
  return { namespace: annotated || (ingress.metadata.namespace ?? ""), name: secretName };
}

function addTlsHosts(ctx: BuildContext, ingress: KubeObject, options: { claims: Map<string, TlsClaim>; spec: IngressSpec; policy: IngressPolicy }): void {
  const { claims, spec, policy } = options;
  const ref = ingressRef(ingress);
  for (const [i, tls] of spec.tls.entries()) {
    const field = `spec.tls[${i}]`;
    if (!tls.secretName) {
      ctx.status.warning(ref, { type: "TLSError", reason: "SecretNotSpecified", message: `${field} has no secretName; its hosts are served without TLS` });
      continue;
    }
    const secretRef = secretRefOf(ingress, tls.secretName);
    const key = `${secretRef.namespace}/${secretRef.name}`;
    const lookup = ctx.lookupTlsSecret(secretRef.namespace, secretRef.name, ref);
    if ("error" in lookup) {
      const why = lookup.error.reason === "DelegationNotPermitted" ? "certificate delegation not permitted" : `is invalid: ${lookup.cause ?? lookup.error.message}`;
      ctx.status.error(ref, { type: "TLSError", reason: lookup.error.reason, message: `${field} Secret "${key}" ${why}` });
      continue;
    }
    for (const rawHost of tls.hosts) {
      const host = rawHost.trim().toLowerCase();
      const problem = hostProblem(host);
      if (problem) {
        ctx.status.error(ref, { type: "VirtualHostError", reason: "HostNotValid", message: `${field} host ${quoteBounded(rawHost)} ${problem}` });
        continue;
      }
      const claim = claims.get(host);
      if (claim && sameObject(claim.ref, ref) && claim.secret.name !== lookup.ok.name) {
        // As Contour: within one Ingress the last spec.tls entry naming the host sets its certificate.
        ctx.status.warning(ref, { type: "TLSError", reason: "DuplicateTLSHost", message: `host "${host}" has TLS Secrets from more than one spec.tls entry of this Ingress; the last, ${field}, is used` });
        claims.set(host, { ref, secret: lookup.ok });
        ctx.secureVirtualHost(host, ref).secret = lookup.ok;
        continue;
      }
      if (claim && claim.secret.name !== lookup.ok.name) {
        const message = `host "${host}" has TLS Secrets from ${ingressName(claim.ref)} and ${ingressName(ref)}; the older, ${ingressName(claim.ref)}, is used`;
        ctx.status.warning(claim.ref, { type: "TLSError", reason: "DuplicateTLSHost", message });
        ctx.status.error(ref, { type: "TLSError", reason: "DuplicateTLSHost", message });
        continue;
      }
      const vhost = ctx.secureVirtualHost(host, ref);
      if (claim) continue;
      claims.set(host, { ref, secret: lookup.ok });
      vhost.secret = lookup.ok;
      vhost.minTlsVersion = policy.minTlsVersion;
      vhost.maxTlsVersion = policy.maxTlsVersion;
    }
  }
}

/** The rules of an Ingress, with the default backend first as a `*` rule for `/`. */
function rulesOf(spec: IngressSpec): Array<{ rule: IngressRule; field: string }> {
  const rules = spec.rules.map((rule, i) => ({ rule, field: `spec.rules[${i}]` }));
  if (spec.defaultBackend) rules.unshift({ rule: { paths: [{ backend: spec.defaultBackend }] }, field: "spec.defaultBackend" });
  return rules;
}

function addRules(
  ctx: BuildContext,
  ingress: KubeObject,
  options: { claims: PathClaims; backends: Backends; spec: IngressSpec; policy: IngressPolicy },
): void {
  const { claims, backends, spec, policy } = options;
  const ref = ingressRef(ingress);
  for (const { rule, field } of rulesOf(spec)) {
    const host = (rule.host ?? "").trim().toLowerCase() || "*";
    const problem = host === "*" ? undefined : hostProblem(host);
    if (problem) {
      ctx.status.error(ref, { type: "VirtualHostError", reason: "HostNotValid", message: `${field}.host ${quoteBounded(rule.host ?? "")} ${problem}` });
      continue;
    }
    const paths = rule.paths;
    for (let j = 0; j < paths.length; j++) addPath(ctx, { ingress, ref, policy, host, path: paths[j]!, ruleField: field, index: j, claims, backends });
  }
}

interface PathInput {
  ingress: KubeObject;
  ref: ObjectRef;
  policy: IngressPolicy;
  host: string;
  path: IngressPath;
  /** Where the path is, for messages (spelt out only when one is written): its rule's field and its index there. */
  ruleField: string;
  index: number;
  /** Its route match, once made. */
  match?: PathMatch;
  claims: PathClaims;
  backends: Backends;
}

/** The route match for an Ingress path, or why there is none. */
function ingressPathMatch(ctx: BuildContext, path: string, pathType: string): { ok: PathMatch } | { error: { reason: string; message: string } } {
  const tooLong = pathLengthProblem(path);
  if (tooLong) return { error: { reason: "PathNotValid", message: `path ${quoteBounded(path)} is ${tooLong}` } };
  switch (pathType) {
    case "Exact":
    case "Prefix": {
      if (!path.startsWith("/")) return { error: { reason: "PathNotValid", message: `path "${path}" must begin with "/"` } };
      // Envoy matches the path without its query string, so such a path could never match (and
      // Envoy refuses `?` and `#` in a segment prefix).
      if (/[?#]/.test(path)) return { error: { reason: "PathNotValid", message: `path "${path}" must not contain "?" or "#"` } };
      if (pathType === "Exact") return { ok: { kind: "exact", value: path } };
      // "/" matches everything; otherwise /foo/ and /foo both match /foo and /foo/bar.
      if (path === "/") return { ok: { kind: "prefix", value: "/", segment: false } };
      const trimmed = path.replace(/\/+$/, "");
      return { ok: { kind: "prefix", value: trimmed === "" ? "/" : trimmed, segment: trimmed !== "" } };
    }
    case "ImplementationSpecific": {
      // Contour: a path that looks like a regex is one; anything else is a plain string prefix.
      if (/[\^+*[\]%]/.test(path)) {
        const why = ctx.checkRegex(path);
        if (why) return { error: { reason: "RegexNotValid", message: `path "${path}": ${why}` } };
        return { ok: { kind: "regex", value: path } };
      }
      return { ok: { kind: "prefix", value: path, segment: false } };
    }
    default:
      return { error: { reason: "PathTypeNotValid", message: `path type "${pathType}" is not one of Exact, Prefix, ImplementationSpecific` } };
  }
}

/** The field of the path, as messages name it. */
function pathField(input: PathInput): string {
  return input.ruleField === "spec.defaultBackend" ? input.ruleField : `${input.ruleField}.http.paths[${input.index}]`;
}

/** The host and match of the path, as messages name them. */
function whereOf(input: PathInput): string {
  return `host "${input.host}" path ${describeMatch(input.match!)}`;
}

function describeMatch(match: PathMatch): string {
  // A string prefix of "/" matches what a Prefix "/" does: name it as the user most likely wrote it.
  const kind = match.kind === "exact" ? "Exact" : match.kind === "regex" ? "regex" : match.segment || match.value === "/" ? "Prefix" : "prefix";
  return `${kind} "${match.value}"`;
}

function addPath(ctx: BuildContext, input: PathInput): void {
  const { ref, policy, host, path } = input;
  const rawPath = path.path === undefined || path.path === "" ? "/" : path.path;
  const matched = ingressPathMatch(ctx, rawPath, path.pathType ?? "ImplementationSpecific");
  if ("error" in matched) {
    ctx.status.error(ref, { type: "RouteError", reason: matched.error.reason, message: `${pathField(input)}: ${matched.error.message}` });
    return;
  }
  input.match = matched.ok;
  // Contour adds the route to the plaintext virtual host unless the Ingress serves HTTPS only, and to
  // the TLS one when the host has a certificate; each decides its duplicates on its own.
  let targets = 0;
  const served: Array<{ secure: boolean; earlier: PathClaim | undefined }> = [];
  const target = (secure: boolean) => {
    targets++;
    const claim = input.claims.get(host, secure, matched.ok);
    if (!claim || sameObject(claim.ref, ref)) served.push({ secure, earlier: claim });
    else reportDuplicate(ctx, whereOf(input), claim.ref, ref);
  };
  if (policy.tlsRequired || policy.httpAllowed) target(false);
  if (host !== "*" && ctx.dag.secureVirtualHosts.has(host)) target(true);
  if (targets > 0 && served.length === 0) return;

  // An Ingress route has no query matches and no mirrors, and a header match only under a wildcard
  // host: the shared empty list, not one each (an empty array costs about 70 bytes, at 100k routes MBs).
  const route: Route = {
    pathMatch: matched.ok,
    headerMatches: host.startsWith("*.") ? [wildcardAuthorityMatch(host)] : noItems,
    queryParamMatches: noItems,
    clusters: [],
    mirrors: noItems,
    source: ref,
  };
  const cluster = backendCluster(ctx, input);
  if (cluster) route.clusters.push({ cluster, weight: 1 });
  else route.directResponse = { statusCode: 503 };
  if (policy.websocketPaths.has(rawPath)) route.websocket = true;
  if (policy.timeout) route.timeout = policy.timeout;
  if (policy.retry) route.retry = policy.retry;

  let redefined = false;
  for (const [i, { secure, earlier }] of served.entries()) {
    const vhost = secure ? ctx.secureVirtualHost(host, ref) : ctx.virtualHost(host, ref);
    // Each virtual host its own route: the last one takes `route` itself, which no other holds.
    const copy: Route = !secure && policy.tlsRequired ? { ...route, httpsRedirect: true } : i === served.length - 1 ? route : { ...route };
    input.claims.set(host, secure, matched.ok, { ref, route: copy });
    const at = earlier ? vhost.routes.indexOf(earlier.route) : -1;
    if (at < 0) {
      vhost.routes.push(copy);
      continue;
    }
    vhost.routes[at] = copy;
    redefined = true;
  }
  if (redefined) ctx.status.warning(ref, { type: "RouteError", reason: "DuplicatePath", message: `${whereOf(input)} is defined more than once in this Ingress; the last definition is used` });
}

const sameObject = (a: ObjectRef, b: ObjectRef): boolean => a.namespace === b.namespace && a.name === b.name;

function reportDuplicate(ctx: BuildContext, where: string, winner: ObjectRef, loser: ObjectRef): void {
  const message = `${where} is defined by both ${ingressName(winner)} and ${ingressName(loser)}; the older, ${ingressName(winner)}, serves it`;
  ctx.status.warning(winner, { type: "RouteError", reason: "DuplicatePath", message });
  ctx.status.error(loser, { type: "RouteError", reason: "DuplicatePath", message });
}

/** The cluster a path's backend sends to, or undefined (with a condition) when it cannot resolve. */
function backendCluster(ctx: BuildContext, input: PathInput): Cluster | undefined {
  const { ref, path } = input;
  const service = path.backend?.service;
  if (!service?.name) {
    const what = path.backend?.resource ? `resource backend (${path.backend.resource.kind}) is not supported` : "no service backend";
    ctx.status.error(ref, { type: "ServiceError", reason: "BackendNotSupported", message: `${pathField(input)} (${whereOf(input)}): ${what}; the route answers 503` });
    return undefined;
  }
  const port = service.port;
  if (port === undefined) {
    ctx.status.error(ref, { type: "ServiceError", reason: "ServiceUnresolvedReference", message: `${pathField(input)} (${whereOf(input)}): service "${ref.namespace}/${service.name}" has no port; the route answers 503` });
    return undefined;
  }
  const known = input.backends.get(ref.namespace, service.name, port);
  if (known) {
    warnServiceProblems(ctx, input, { name: service.name, problems: known.problems });
    if (known.cluster.protocol === "tls") checkClientCertificate(ctx, ref);
    return known.cluster;
  }
  const lookup = ctx.lookupService(ref.namespace, service.name, port);
  if ("error" in lookup) {
    const cause = lookup.cause ?? lookup.error.message;
    ctx.status.error(ref, { type: "ServiceError", reason: lookup.error.reason, message: `${pathField(input)} (${whereOf(input)}): unresolved service reference: ${cause}; the route answers 503` });
    return undefined;
  }
  const { serviceProtocol, externalName, circuitBreakers, annotationProblems, appProtocolProblem, ...servicePort } = lookup.ok;
  const problems: ServiceProblem[] = (annotationProblems ?? []).map((p) => ({ reason: "AnnotationNotValid", text: `annotation ${p}; it is ignored` }));
  if (appProtocolProblem) problems.push({ reason: "AppProtocolNotSupported", text: appProtocolProblem });
  warnServiceProblems(ctx, input, { name: service.name, problems });
  const protocol = serviceProtocol ?? "http1";
  const settings: Omit<Cluster, "name" | "edsServiceName"> = { service: servicePort, protocol, loadBalancer: "RoundRobin" };
  if (externalName !== undefined) settings.externalName = externalName;
  if (circuitBreakers) settings.circuitBreakers = circuitBreakers;
  if (protocol === "tls" && externalName) settings.sni = externalName;
  if (protocol === "tls") {
    const clientCertificate = checkClientCertificate(ctx, ref);
    if (clientCertificate) settings.clientCertificate = clientCertificate;
  }
  const cluster = ctx.cluster(settings);
  input.backends.set(ref.namespace, service.name, port, { cluster, problems });
  return cluster;
}

/** A warning on the Ingress for each Service annotation that did not parse (the default applies) and an unsupported appProtocol. */
function warnServiceProblems(ctx: BuildContext, input: PathInput, options: { name: string; problems: ServiceProblem[] }): void {
  for (const problem of options.problems) {
    const message = `${pathField(input)} (${whereOf(input)}): service "${input.ref.namespace}/${options.name}" ${problem.text}`;
    ctx.status.warning(input.ref, { type: "ServiceError", reason: problem.reason, message });
  }
}

/** The configured upstream client certificate, recording an error on `ref` when it is invalid. */
function checkClientCertificate(ctx: BuildContext, ref: ObjectRef): Secret | undefined {
  const clientCertificate = ctx.upstreamClientCertificate();
  if (!clientCertificate) return undefined;
  if ("ok" in clientCertificate) return clientCertificate.ok;
  const cause = clientCertificate.cause ?? clientCertificate.error.message;
  ctx.status.error(ref, { type: "TLSError", reason: "SecretNotValid", message: `upstream client certificate Secret is invalid: ${cause}` });
  return undefined;
}
