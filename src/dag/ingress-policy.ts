// The per-Ingress settings read from annotations: HTTP/HTTPS behaviour, timeouts, retries,
// websocket paths and TLS versions. A value that does not parse is a warning on the Ingress and
// the default applies, so a typo in one annotation never takes the Ingress down.
import type { KubeObject } from "../sources/types.ts";
import { annotationValue, contourAnnotation, parseGoDuration, parseNumRetries, parseRetryOn, parseTimeout, parseTlsVersion, parseWebsocketRoutes } from "./annotations.ts";
import type { ObjectRef, SubCondition } from "./status.ts";
import type { RetryPolicy, TimeoutPolicy, TlsVersion } from "./types.ts";

export interface IngressPolicy {
  /** `kubernetes.io/ingress.allow-http` is not "false". */
  httpAllowed: boolean;
  /** `ingress.kubernetes.io/force-ssl-redirect: "true"`: plaintext routes redirect to HTTPS. */
  tlsRequired: boolean;
  timeout?: TimeoutPolicy;
  retry?: RetryPolicy;
  websocketPaths: Set<string>;
  minTlsVersion: TlsVersion;
  maxTlsVersion: TlsVersion;
}

/** The status reference of an Ingress. */
export function ingressRef(ingress: KubeObject): ObjectRef {
  return { kind: "Ingress", namespace: ingress.metadata.namespace ?? "", name: ingress.metadata.name };
}

/**
 * Reads an Ingress's annotations, adding to `warnings` one condition (reason AnnotationNotValid) for
 * each bad value: a function of the Ingress alone, so the processor remembers it by object.
 */
export function parseIngressPolicy(ingress: KubeObject, warnings: SubCondition[]): IngressPolicy {
  const annotations = ingress.metadata.annotations;
  const warn = (name: string, why: string, fallback: string): void => {
    warnings.push({ type: "AnnotationError", reason: "AnnotationNotValid", message: `annotation ${name}: ${why}; ${fallback}` });
  };
  const policy: IngressPolicy = {
    httpAllowed: annotationValue(annotations, "kubernetes.io/ingress.allow-http") !== "false",
    tlsRequired: annotationValue(annotations, "ingress.kubernetes.io/force-ssl-redirect") === "true",
    websocketPaths: parseWebsocketRoutes(annotations),
    minTlsVersion: "1.2",
    maxTlsVersion: "1.3",
  };

  // Contour's rule (internal/dag/policy.go): an empty response-timeout is no timeout set, and then
  // the deprecated request-timeout applies, as a response timeout too.
  const timeoutName = contourAnnotation(annotations, "response-timeout") ? "response-timeout" : "request-timeout";
  const responseTimeout = contourAnnotation(annotations, timeoutName);
  if (responseTimeout) {
    const parsed = parseTimeout(responseTimeout);
    if ("ok" in parsed) policy.timeout = { responseMs: parsed.ok };
    else warn(`projectcontour.io/${timeoutName}`, parsed.error, "using Envoy's default timeout");
  }

  const retryOnText = contourAnnotation(annotations, "retry-on");
  if (retryOnText !== undefined) {
    const { conditions, unknown } = parseRetryOn(retryOnText);
    if (unknown.length > 0) warn("projectcontour.io/retry-on", `unknown retry conditions ${unknown.map((u) => `"${u}"`).join(", ")}`, "they are ignored");
    if (conditions.length > 0) {
      const numRetries = parseNumRetries(contourAnnotation(annotations, "num-retries"));
      if ("error" in numRetries) warn("projectcontour.io/num-retries", numRetries.error, "using 1");
      const retry: RetryPolicy = { retryOn: conditions, numRetries: "ok" in numRetries ? numRetries.ok : 1 };
      const perTry = contourAnnotation(annotations, "per-try-timeout");
      if (perTry !== undefined) {
        const parsed = parseGoDuration(perTry);
        if ("error" in parsed) warn("projectcontour.io/per-try-timeout", parsed.error, "using no per-try timeout");
        else if (parsed.ok > 0) retry.perTryTimeoutMs = parsed.ok;
      }
      policy.retry = retry;
    }
  }

  const minVersion = contourAnnotation(annotations, "tls-minimum-protocol-version");
  if (minVersion !== undefined) {
    const parsed = parseTlsVersion(minVersion);
    if ("ok" in parsed) policy.minTlsVersion = parsed.ok;
    else warn("projectcontour.io/tls-minimum-protocol-version", parsed.error, "using 1.2");
  }
  const maxVersion = contourAnnotation(annotations, "tls-maximum-protocol-version");
  if (maxVersion !== undefined) {
    const parsed = parseTlsVersion(maxVersion);
    if ("ok" in parsed) policy.maxTlsVersion = parsed.ok;
    else warn("projectcontour.io/tls-maximum-protocol-version", parsed.error, "using 1.3");
  }
  if (policy.minTlsVersion > policy.maxTlsVersion) {
    warn("projectcontour.io/tls-minimum-protocol-version", "the minimum TLS version is greater than the maximum", "using 1.2–1.3");
    policy.minTlsVersion = "1.2";
    policy.maxTlsVersion = "1.3";
  }
  return policy;
}
