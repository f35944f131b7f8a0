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
import { checkRe2 } from "../base/regex.ts";
import { createDagCache } from "./cache.ts";
import { createClusterKeys, type ClusterSettings } from "./cluster-key.ts";
import { createServiceClusterMemo } from "./service-cluster-memo.ts";

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

/** The host `fqdn` (lower-cased) of `hosts`, made by `make` when new, with `source` among its objects. */
export function hostIn<T extends VirtualHost>(hosts: Map<string, T>, fqdn: string, source: ObjectRef, make: (name: string) => T): T {
  const name = fqdn.toLowerCase();
  let vhost = hosts.get(name);
  if (!vhost) {
    vhost = make(name);
    hosts.set(name, vhost);
  }
  addSource(vhost.sources, source);
  return vhost;
}

export const newVirtualHost = (name: string): VirtualHost => ({ name, routes: [], sources: [] });
export const newSecureVirtualHost = (name: string): SecureVirtualHost => ({ name, routes: [], sources: [], minTlsVersion: "1.2", maxTlsVersion: "1.3", passthrough: false });

type SecretKind = Secret["kind"];

const secretErrorText: Record<SecretKind, string> = { tls: "Secret", ca: "CA Secret", crl: "CRL Secret" };

/** A BuildContext over `input` writing into `dag` (a fresh one unless given). */
export function createBuildContext(input: DagInput, options: DagOptions & { dag?: Dag }): BuildContext {
  const dag = options.dag ?? emptyDag();
  const now = options.now();
  const cache = options.cache ?? createDagCache();
  const clusterKeys = createClusterKeys();
  const clustersBySettings = new Map<string, Cluster>();
  const serviceLookups = new Map<string, Lookup<ResolvedService>>();
  const secretLookups = new Map<string, Lookup<Secret>>();
  let clientCertificate: Lookup<Secret> | undefined;
  let clientCertificateDone = false;

  function lookupSecret(kind: SecretKind, namespace: string, name: string, from: ObjectRef | undefined): Lookup<Secret> {
    const key = `${namespace}/${name}`;
    if (from && !delegationPermitted(input, { namespace, name, targetNamespace: from.namespace, checkCrdSchema: options.checkCrdSchema, cache })) {
      const cause = "certificate delegation not permitted";
      const message =
        kind === "tls" ? `Spec.VirtualHost.TLS Secret "${key}" certificate delegation not permitted` : `${secretErrorText[kind]} "${key}" ${cause}`;
      return { error: { type: "TLSError", reason: "DelegationNotPermitted", message }, cause };
    }
    const cacheKey = `${kind} ${key}`;
    const known = secretLookups.get(cacheKey);
    if (known) return known;
    const object = input.secret(namespace, name);
    const checked = object ? validateSecret(object, { kind, now, cache }) : { error: "Secret not found" };
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
    cache,
    serviceClusters: createServiceClusterMemo(),

    virtualHost(fqdn: string, source: ObjectRef): VirtualHost {
      return hostIn(dag.virtualHosts, fqdn, source, newVirtualHost);
    },

    secureVirtualHost(fqdn: string, source: ObjectRef): SecureVirtualHost {
      return hostIn(dag.secureVirtualHosts, fqdn, source, newSecureVirtualHost);
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

    cluster(settings: ClusterSettings): Cluster {
      // Called once per route service: hashed only for settings not seen yet.
      const canonical = clusterKeys.key(settings);
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
