// The identity of a cluster's settings, which names the cluster (equal settings share one Envoy
// cluster). canonicalJson is the definition; ClusterKeys writes the same text for the settings
// nearly every route has without recursing or sorting (cluster-key.test.ts checks the two agree).
import type { Cluster } from "./types.ts";

export type ClusterSettings = Omit<Cluster, "name" | "edsServiceName">;

/**
 * JSON with sorted keys, undefined fields left out, Secrets replaced by their SDS name (which
 * already hashes their content): the identity of a cluster's settings. Hand-written because
 * JSON.stringify with a replacer is several times slower.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      if (i > 0) out += ",";
      out += item === undefined ? "null" : canonicalJson(item);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  if (typeof record.certificateChain === "string" && typeof record.name === "string" && typeof record.kind === "string") {
    return JSON.stringify(`secret:${record.name}`);
  }
  const keys = Object.keys(record);
  if (!isSorted(keys)) keys.sort();
  let out = "";
  for (const key of keys) {
    const field = record[key];
    if (field === undefined || typeof field === "function") continue;
    out += `${out === "" ? "" : ","}${JSON.stringify(key)}:${canonicalJson(field)}`;
  }
  return `{${out}}`;
}

function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

/** Keys for cluster settings: `key(settings)` is always `canonicalJson(settings)`. */
export interface ClusterKeys {
  key(settings: ClusterSettings): string;
}

// The settings fields (and Service reference fields) the fast path writes; settings with any other
// field defined (health checks, upstream validation, circuit breakers) go by canonicalJson.
const commonFields = new Set(["service", "protocol", "loadBalancer", "externalName", "sni", "connectTimeoutMs", "idleTimeoutMs", "clientCertificate"]);
const commonServiceFields = new Set(["namespace", "name", "port", "portName", "targetPort"]);
// Strings JSON.stringify writes unchanged between quotes: printable ASCII but `"` and `\`.
const plainJsonString = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Writes `,"key":value` members as canonicalJson writes scalars; `refused` once a value was neither. */
class MemberWriter {
  refused = false;

  member(key: string, value: unknown): string {
    if (value === undefined) return "";
    if (typeof value === "string") return `,"${key}":${plainJsonString.test(value) ? `"${value}"` : JSON.stringify(value)}`;
    if (typeof value === "number") return `,"${key}":${Number.isFinite(value) ? String(value) : "null"}`;
    this.refused = true;
    return "";
  }
}

/**
 * canonicalJson of the common cluster settings (only the fields in commonFields, scalars and a
 * client certificate Secret), written member by member in sorted key order: the same text, several
 * times cheaper. Undefined when the settings hold anything else.
 */
function commonSettingsJson(settings: ClusterSettings, writer: MemberWriter): string | undefined {
  const record = settings as unknown as Record<string, unknown>;
  for (const key in record) if (record[key] !== undefined && !commonFields.has(key)) return undefined;
  const service = settings.service as unknown as Record<string, unknown>;
  if (service === null || typeof service !== "object" || Array.isArray(service)) return undefined;
  for (const key in service) if (service[key] !== undefined && !commonServiceFields.has(key)) return undefined;
  const secret = settings.clientCertificate as unknown as Record<string, unknown> | undefined;
  if (secret !== undefined && (secret === null || typeof secret.certificateChain !== "string" || typeof secret.name !== "string" || typeof secret.kind !== "string")) {
    return undefined;
  }
  writer.refused = false;
  const m = (key: string, value: unknown): string => writer.member(key, value);
  const inner = m("name", service.name) + m("namespace", service.namespace) + m("port", service.port) + m("portName", service.portName) + m("targetPort", service.targetPort);
  const out =
    (secret === undefined ? "" : m("clientCertificate", `secret:${secret.name as string}`)) +
    m("connectTimeoutMs", settings.connectTimeoutMs) +
    m("externalName", settings.externalName) +
    m("idleTimeoutMs", settings.idleTimeoutMs) +
    m("loadBalancer", settings.loadBalancer) +
    m("protocol", settings.protocol) +
    `,"service":{${inner.slice(1)}}` +
    m("sni", settings.sni);
  return writer.refused ? undefined : `{${out.slice(1)}}`;
}

/** The plain keys: canonicalJson itself. */
export const referenceClusterKeys: ClusterKeys = { key: canonicalJson };

/** Fast keys for one build (its state, the member writer, is its own). */
export function createClusterKeys(): ClusterKeys {
  const writer = new MemberWriter();
  return { key: (settings) => commonSettingsJson(settings, writer) ?? canonicalJson(settings) };
}
