// What the Kubernetes source keeps of an object before it costs memory: managedFields and the
// last-applied annotation go, Secrets of other types than TLS and Opaque are dropped, and a Secret
// keeps only the data keys the DAG reads (an unreferenced Opaque Secret with a large payload then
// costs a few hundred bytes, not its payload). A ConfigMap keeps only `ca.crt` (a BackendTLSPolicy's
// CA bundle), whatever else it holds.
import type { KubeObject } from "./types.ts";

/** Secret types that can reach the cache. Helm releases and service-account tokens never do. */
export const keptSecretTypes: ReadonlySet<string> = new Set(["kubernetes.io/tls", "Opaque"]);

/** The field selector that keeps the largest unwanted Secrets off the wire. */
export const secretFieldSelector = "type!=helm.sh/release.v1,type!=kubernetes.io/service-account-token";

/** Secret data keys the DAG reads: certificate and key, CA bundle, CRL. */
export const keptSecretKeys: ReadonlySet<string> = new Set(["tls.crt", "tls.key", "ca.crt", "crl.pem"]);

/** The ConfigMap key a BackendTLSPolicy's CA bundle is read from (the Gateway API's). */
export const configMapCaKey = "ca.crt";

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * Slims an object as received from the API server (in place: it was just parsed) and sets
 * apiVersion/kind, which list items of built-in types omit. undefined: drop the object.
 */
export function slimObject(object: KubeObject, apiVersion: string, kind: string): KubeObject | undefined {
  object.apiVersion = apiVersion;
  object.kind = kind;
  const metadata = object.metadata as KubeObject["metadata"] & { managedFields?: unknown };
  if (!metadata || typeof metadata.name !== "string") return undefined;
  delete metadata.managedFields;
  if (metadata.annotations && lastApplied in metadata.annotations) {
    delete metadata.annotations[lastApplied];
  }
  if (kind === "Namespace") {
    // Only labels are read (allowedRoutes selectors): the rest would cost memory and rebuilds.
    delete object.spec;
    delete object.status;
  }
  if (kind === "Secret") {
    const type = typeof object.type === "string" ? object.type : "Opaque";
    if (!keptSecretTypes.has(type)) return undefined;
    const data = object.data as Record<string, string> | undefined;
    if (data) {
      for (const key of Object.keys(data)) if (!keptSecretKeys.has(key)) delete data[key];
    }
    delete object.stringData;
  }
  if (kind === "ConfigMap") {
    delete metadata.labels;
    delete metadata.annotations;
    const data = object.data as Record<string, unknown> | undefined;
    const ca = data?.[configMapCaKey];
    object.data = typeof ca === "string" ? { [configMapCaKey]: ca } : {};
    delete object.binaryData;
  }
  return object;
}
