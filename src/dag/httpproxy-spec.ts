// Reading HTTPProxy objects into their typed spec (crd-reader.ts, once per object), Contour's status
// condition types, and the small parsers Contour's messages depend on (Go durations, `namespace/name`
// references).
import type { KubeObject } from "../sources/types.ts";
import { parseGoDuration as parseDuration } from "./annotations.ts";
import { remembered } from "./cache.ts";
import { readCrdSpec, type ReadSpec } from "./crd-reader.ts";
import type { HTTPProxySpec } from "./crd-types.ts";
import type { BuildContext } from "./processor.ts";
import type { ObjectRef } from "./status.ts";

export type Rec = Record<string, unknown>;

/** Contour's condition types (apis/projectcontour/v1 ConditionType*). */
export const ErrorType = {
  include: "IncludeError",
  virtualHost: "VirtualHostError",
  rootNamespace: "RootNamespaceError",
  spec: "SpecError",
  tls: "TLSError",
  tcpProxy: "TCPProxyError",
  tcpProxyInclude: "TCPProxyIncludeError",
  service: "ServiceError",
  route: "RouteError",
  cors: "CORSError",
  ipFilter: "IPFilterError",
  prefixReplace: "PrefixReplaceError",
} as const;

export const orphanedMessage = "this HTTPProxy is not part of a delegation chain from a root HTTPProxy";

export function isRec(value: unknown): value is Rec {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A nested object, or undefined when absent or not an object. */
export function rec(value: unknown): Rec | undefined {
  return isRec(value) ? value : undefined;
}

export function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function isBlank(value: string): boolean {
  return value.trim() === "";
}

/** Go's %q for the plain strings our messages quote. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

export function proxyRef(proxy: KubeObject): ObjectRef {
  return { kind: "HTTPProxy", namespace: proxy.metadata.namespace ?? "default", name: proxy.metadata.name };
}

export function proxyKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The typed spec of an HTTPProxy and its mistyped fields, read once per object (kept in ctx.cache). */
export function readProxySpec(ctx: BuildContext, proxy: KubeObject): ReadSpec<HTTPProxySpec> {
  return remembered(ctx.cache.specs, proxy, (p) => readCrdSpec("HTTPProxy", p.spec)) as ReadSpec<HTTPProxySpec>;
}

export function specOf(ctx: BuildContext, proxy: KubeObject): HTTPProxySpec {
  return readProxySpec(ctx, proxy).spec;
}

/** `name` or `namespace/name` (Contour's k8s.NamespacedNameFrom). */
export function namespacedName(value: string, defaultNamespace: string): { namespace: string; name: string } {
  const slash = value.indexOf("/");
  if (slash < 0) return { namespace: defaultNamespace, name: value };
  return { namespace: value.slice(0, slash), name: value.slice(slash + 1) };
}

/** Records an error sub-condition on a proxy (and makes it invalid). */
export function addError(ctx: BuildContext, ref: ObjectRef, type: string, reason: string, message: string): void {
  ctx.status.error(ref, { type, reason, message });
}

export function addWarning(ctx: BuildContext, ref: ObjectRef, type: string, reason: string, message: string): void {
  ctx.status.warning(ref, { type, reason, message });
}

/** Go's time.ParseDuration, in milliseconds; a string with Go's error text when it does not parse. */
export function parseGoDuration(input: string): number | string {
  const parsed = parseDuration(input);
  return "ok" in parsed ? parsed.ok : `time: ${parsed.error}`;
}

/** Contour's timeout.Parse: "" is Envoy's default, "infinity"/"infinite" disables, else a duration. */
export type TimeoutSetting = { kind: "default" } | { kind: "disabled" } | { kind: "duration"; ms: number };

export function parseTimeout(input: string): TimeoutSetting | string {
  if (input === "") return { kind: "default" };
  if (input === "infinity" || input === "infinite") return { kind: "disabled" };
  const ms = parseGoDuration(input);
  if (typeof ms === "string") return ms;
  if (ms < 0) return `invalid timeout ${quote(input)}`;
  return ms === 0 ? { kind: "disabled" } : { kind: "duration", ms };
}

/** Go's http.CanonicalHeaderKey: `x-foo-bar` → `X-Foo-Bar`; names with invalid characters stay as they are. */
export function canonicalHeaderKey(name: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return name;
  return name
    .split("-")
    .map((word) => (word === "" ? word : word[0]!.toUpperCase() + word.slice(1).toLowerCase()))
    .join("-");
}

const headerNameMessage =
  "a valid HTTP header must consist of alphanumeric characters or '-' (e.g. 'X-Header-Name', regex used for validation is '[-A-Za-z0-9]+')";

/** Kubernetes' validation.IsHTTPHeaderName, formatted as Go prints its []string result; undefined when valid. */
export function headerNameProblem(name: string): string | undefined {
  return /^[-A-Za-z0-9]+$/.test(name) ? undefined : `[${headerNameMessage}]`;
}
