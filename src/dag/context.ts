// The BuildContext every processor writes through: virtual hosts created on first use, Service and
// Secret lookups that enforce Contour's rules (ports, ExternalName, delegation, certificate checks),
// and cluster interning so equal upstream settings share one Envoy cluster.
import { hash as oneShotHash } from "node:crypto";
import type { BuildContext, DagInput, DagOptions, Lookup, ResolvedService } from "./processor.ts";
import { StatusRecorder } from "./status.ts";
import type { ObjectRef } from "./status.ts";
import type { Cluster, Dag, SecureVirtualHost, Secret, VirtualHost } from "./types.ts";
import { resolveService } from "./services.ts";
import { delegationPermitted, validateSecret } from "./secrets.ts";
import { checkRe2 } from "../xds/regex.ts";

/** An empty DAG with a fresh status recorder. */
export function emptyDag(): Dag {
  return {
    virtualHosts: new Map(),
    secureVirtualHosts: new Map(),
    clusters: new Map(),
    secrets: new Map(),
    listeners: [],
    status: new StatusRecorder(),
  };
}

function addSource(sources: ObjectRef[], source: ObjectRef): void {
  // Field by field: the same answer as comparing refKeys (names hold no space or slash), without
  // writing a key per source on every route.
  for (const s of sources) if (s === source || (s.name === source.name && s.namespace === source.namespace && s.kind === source.kind)) return;
  sources.push(source);
}

/**
 * JSON with sorted keys, undefined fields left out, Secrets replaced by their SDS name (which
 * already hashes their content): the identity of a cluster's settings. Hand-written because it
 * runs once per distinct cluster and JSON.stringify with a replacer is several times slower.
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
    out += `${out === "" ? "" : ","}${quotedKey(key)}:${canonicalJson(field)}`;
  }
  return `{${out}}`;
}

function isSorted(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

// Field names repeat across every cluster: their JSON form is kept (bounded, names are few).
const quotedKeys = new Map<string, string>();

function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < 4096) quotedKeys.set(key, quoted);
  }
  return quoted;
}

// The settings fields (and Service reference fields) commonSettingsJson writes; settings with any
// other field defined (health checks, upstream validation, circuit breakers) go by canonicalJson.
const commonFields = new Set(["service", "protocol", "loadBalancer", "externalName", "sni", "connectTimeoutMs", "idleTimeoutMs", "clientCertificate"]);
const commonServiceFields = new Set(["namespace", "name", "port", "portName", "targetPort"]);

// Strings JSON.stringify writes unchanged between quotes: printable ASCII but `"` and `\`.
const plainJsonString = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
// Set by member() when a value is neither a string nor a number (commonSettingsJson then gives up).
let memberRefused = false;

/** `,"key":value` as canonicalJson writes a scalar member; "" for undefined. */
function member(key: string, value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return `,"${key}":${plainJsonString.test(value) ? `"${value}"` : JSON.stringify(value)}`;
  if (typeof value === "number") return `,"${key}":${Number.isFinite(value) ? String(value) : "null"}`;
  memberRefused = true;
  return "";
}

/**
 * canonicalJson of the common cluster settings (only the fields in commonFields, scalars and a
 * client certificate Secret), written member by member in sorted key order without recursion or
 * sorting: the same text, several times cheaper. Undefined when the settings hold anything else
 * (then canonicalJson writes it).
 */
function commonSettingsJson(settings: Omit<Cluster, "name" | "edsServiceName">): string | undefined {
  const record = settings as unknown as Record<string, unknown>;
  for (const key in record) if (record[key] !== undefined && !commonFields.has(key)) return undefined;
  const service = settings.service as unknown as Record<string, unknown>;
  if (service === null || typeof service !== "object" || Array.isArray(service)) return undefined;
  for (const key in service) if (service[key] !== undefined && !commonServiceFields.has(key)) return undefined;
  const secret = settings.clientCertificate as unknown as Record<string, unknown> | undefined;
  if (secret !== undefined && (secret === null || typeof secret.certificateChain !== "string" || typeof secret.name !== "string" || typeof secret.kind !== "string")) {
    return undefined;
  }
  memberRefused = false;
  const inner =
    member("name", service.name) + member("namespace", service.namespace) + member("port", service.port) + member("portName", service.portName) + member("targetPort", service.targetPort);
  const out =
    (secret === undefined ? "" : member("clientCertificate", `secret:${secret.name as string}`)) +
    member("connectTimeoutMs", settings.connectTimeoutMs) +
    member("externalName", settings.externalName) +
    member("idleTimeoutMs", settings.idleTimeoutMs) +
    member("loadBalancer", settings.loadBalancer) +
    member("protocol", settings.protocol) +
    `,"service":{${inner.slice(1)}}` +
    member("sni", settings.sni);
  return memberRefused ? undefined : `{${out.slice(1)}}`;
}

type SecretKind = Secret["kind"];

const secretErrorText: Record<SecretKind, string> = { tls: "Secret", ca: "CA Secret", crl: "CRL Secret" };

/** A BuildContext over `input` writing into `dag` (a fresh one unless given). */
export function createBuildContext(input: DagInput, options: DagOptions & { dag?: Dag }): BuildContext {
  const dag = options.dag ?? emptyDag();
  const now = options.now();
  const clustersBySettings = new Map<string, Cluster>();
  const serviceLookups = new Map<string, Lookup<ResolvedService>>();
  const secretLookups = new Map<string, Lookup<Secret>>();
  let clientCertificate: Lookup<Secret> | undefined;
  let clientCertificateDone = false;

  function lookupSecret(kind: SecretKind, namespace: string, name: string, from: ObjectRef | undefined): Lookup<Secret> {
    const key = `${namespace}/${name}`;
    if (from && !delegationPermitted(input, { namespace, name, targetNamespace: from.namespace, checkCrdSchema: options.checkCrdSchema })) {
      const cause = "certificate delegation not permitted";
      const message =
        kind === "tls" ? `Spec.VirtualHost.TLS Secret "${key}" certificate delegation not permitted` : `${secretErrorText[kind]} "${key}" ${cause}`;
      return { error: { type: "TLSError", reason: "DelegationNotPermitted", message }, cause };
    }
    const cacheKey = `${kind} ${key}`;
    const known = secretLookups.get(cacheKey);
    if (known) return known;
    const object = input.secret(namespace, name);
    const checked = object ? validateSecret(object, { kind, now }) : { error: "Secret not found" };
    let result: Lookup<Secret>;
    if ("ok" in checked) {
      dag.secrets.set(checked.ok.name, checked.ok);
      result = checked;
    } else {
      const message =
        kind === "tls" ? `Spec.VirtualHost.TLS Secret "${key}" is invalid: ${checked.error}` : `${secretErrorText[kind]} "${key}" is invalid: ${checked.error}`;
      const cause = kind === "tls" ? checked.error : `invalid ${secretErrorText[kind]} "${key}": ${checked.error}`;
      result = { error: { type: "TLSError", reason: "SecretNotValid", message }, cause };
    }
    secretLookups.set(cacheKey, result);
    return result;
  }

  const context: BuildContext = {
    input,
    options,
    status: dag.status,
    dag,

    virtualHost(fqdn: string, source: ObjectRef): VirtualHost {
      const name = fqdn.toLowerCase();
      let vhost = dag.virtualHosts.get(name);
      if (!vhost) {
        vhost = { name, routes: [], sources: [] };
        dag.virtualHosts.set(name, vhost);
      }
      addSource(vhost.sources, source);
      return vhost;
    },

    secureVirtualHost(fqdn: string, source: ObjectRef): SecureVirtualHost {
      const name = fqdn.toLowerCase();
      let vhost = dag.secureVirtualHosts.get(name);
      if (!vhost) {
        vhost = { name, routes: [], sources: [], minTlsVersion: "1.2", maxTlsVersion: "1.3", passthrough: false };
        dag.secureVirtualHosts.set(name, vhost);
      }
      addSource(vhost.sources, source);
      return vhost;
    },

    lookupService(namespace: string, name: string, port: number | string): Lookup<ResolvedService> {
      // Pure over the input, asked once per route service: memoized for the build.
      const key = `${typeof port === "number" ? "n" : "s"}${port}\u0000${namespace}\u0000${name}`;
      let lookup = serviceLookups.get(key);
      if (lookup === undefined) {
        lookup = resolveService(input, { namespace, name, port }, { enableExternalNameService: options.enableExternalNameService });
        serviceLookups.set(key, lookup);
      }
      return lookup;
    },

    cluster(settings: Omit<Cluster, "name" | "edsServiceName">): Cluster {
      // Called once per route service: the common settings are written without the generic
      // recursion and sorting (same text), and hashed only for settings not seen yet.
      const canonical = commonSettingsJson(settings) ?? canonicalJson(settings);
      const known = clustersBySettings.get(canonical);
      if (known) return known;
      const { namespace, name, port, portName } = settings.service;
      const hash = oneShotHash("sha256", canonical, "hex").slice(0, 10);
      const cluster: Cluster = {
        ...settings,
        name: `${namespace}/${name}/${port}/${hash}`,
        // Health checks to another port change the load assignment (each endpoint names that port).
        edsServiceName: `${namespace}/${name}/${portName || port}${settings.healthPort ? `/health/${settings.healthPort.portName || settings.healthPort.port}` : ""}`,
      };
      clustersBySettings.set(canonical, cluster);
      dag.clusters.set(cluster.name, cluster);
      return cluster;
    },

    lookupTlsSecret(namespace: string, name: string, from: ObjectRef): Lookup<Secret> {
      return lookupSecret("tls", namespace, name, from);
    },

    lookupTlsSecretUnchecked(namespace: string, name: string): Lookup<Secret> {
      return lookupSecret("tls", namespace, name, undefined);
    },

    lookupCaSecret(namespace: string, name: string, from: ObjectRef): Lookup<Secret> {
      return lookupSecret("ca", namespace, name, from);
    },

    lookupCrlSecret(namespace: string, name: string, from: ObjectRef): Lookup<Secret> {
      return lookupSecret("crl", namespace, name, from);
    },

    upstreamClientCertificate(): Lookup<Secret> | undefined {
      if (!clientCertificateDone) {
        clientCertificateDone = true;
        const ref = options.upstreamClientCertificate;
        if (ref) clientCertificate = lookupSecret("tls", ref.namespace, ref.name, undefined);
      }
      return clientCertificate;
    },

    checkRegex(regex: string): string | undefined {
      return checkRe2(regex);
    },
  };
  return context;
}
