// The translator's entry point: the whole DAG to Envoy v3 listeners, route configurations,
// clusters and secrets in our JSON form. Pure and deterministic: everything is sorted, so the same
// DAG gives byte-identical JSON. Endpoints are translated apart (endpoint.ts), without the DAG.
import type { Cluster, Dag, SecureVirtualHost, Secret } from "../dag/types.ts";
import { adminCluster, cluster, clusterDefaults } from "./cluster.ts";
import { compareStrings, type JsonObject, sortedBy } from "./common.ts";
import { fallbackVirtualHosts, httpListener, httpsListener, type ListenerSettings, servesSecureVirtualHost, statsListener } from "./listener.ts";
import { fallbackRouteConfiguration, httpRouteConfiguration, secureRouteConfiguration } from "./route.ts";
import { secret } from "./secret.ts";
import { defaultGlobalConfig, type GlobalConfig } from "../config/types.ts";
import { configSourceFor, type XdsConfigSourceMode } from "./config-source.ts";

export interface TranslateOptions {
  /** Plaintext listener port (8080). */
  httpPort?: number;
  /** TLS listener port (8443). */
  httpsPort?: number;
  /** The stats/ready listener port (8002). */
  statsPort?: number;
  /** Envoy's admin unix socket, which `stats-health` forwards to ("/admin/admin.sock"). */
  adminSocketPath?: string;
  /** Listen address ("0.0.0.0"; "::" listens on IPv4 too). */
  address?: string;
  /** Access log to stdout on every listener unless false (the configuration's level may still turn it off). */
  accessLog?: boolean;
  /** The global configuration (Contour's configuration file or ContourConfiguration); Contour's defaults otherwise. */
  global?: GlobalConfig;
  /** Where Envoy fetches RDS, EDS and SDS: over ADS (the default bootstrap) or the per-type services. */
  xdsConfigSource?: XdsConfigSourceMode;
}

/** The resources of one translation, each list sorted by name. */
export interface Translation {
  listeners: JsonObject[];
  routes: JsonObject[];
  clusters: JsonObject[];
  secrets: JsonObject[];
}

export const defaultTranslateOptions: Required<TranslateOptions> = {
  httpPort: 8080,
  httpsPort: 8443,
  statsPort: 8002,
  adminSocketPath: "/admin/admin.sock",
  address: "0.0.0.0",
  accessLog: true,
  global: defaultGlobalConfig(),
  xdsConfigSource: { kind: "ads" },
};

/** Translates a DAG into Envoy resources (everything but load assignments). */
export function translate(dag: Dag, options: TranslateOptions = {}): Translation {
  const opts = { ...defaultTranslateOptions, ...withoutUndefined(options) };
  // Where Envoy fetches RDS, EDS and SDS: each translator writes it where it names a resource.
  const configSource = configSourceFor(opts.xdsConfigSource);
  const settings: ListenerSettings = { address: opts.address, accessLog: opts.accessLog, global: opts.global, configSource };
  const secure = sortedBy(dag.secureVirtualHosts.values(), (vh) => vh.name);
  const served = secure.filter(servesSecureVirtualHost);
  const fallback = dag.fallbackSecret ? fallbackVirtualHosts(served) : [];

  const listeners = [
    httpListener(opts.httpPort, [...dag.virtualHosts.values()], settings),
    httpsListener(opts.httpsPort, { secure: served, fallbackSecret: dag.fallbackSecret }, settings),
    statsListener(opts.statsPort, settings),
  ].filter((l): l is JsonObject => l !== undefined);

  const routes = [
    httpRouteConfiguration(dag.virtualHosts.values()),
    ...served.filter((vh) => !vh.tcpProxy && vh.routes.length > 0).map(secureRouteConfiguration),
  ];
  if (fallback.length > 0) routes.push(fallbackRouteConfiguration(fallback));

  const used = usedClusters(dag, served);
  const clusters = [...used.map((c) => cluster(c, { ...clusterDefaults(opts.global), configSource })), adminCluster(opts.adminSocketPath)];
  const secrets = usedSecrets(dag, { secure: served, clusters: used, fallbackUsed: fallback.length > 0 }).map(secret);

  return {
    listeners: byName(listeners),
    routes: byName(routes),
    clusters: byName(clusters),
    secrets: byName(secrets),
  };
}

/** dag.clusters plus anything a route, mirror or TCP proxy names that the builder did not register. */
function usedClusters(dag: Dag, secure: SecureVirtualHost[]): Cluster[] {
  const clusters = new Map(dag.clusters);
  for (const vhost of [...dag.virtualHosts.values(), ...secure]) {
    for (const route of vhost.routes) {
      for (const wc of route.clusters) clusters.set(wc.cluster.name, wc.cluster);
      for (const mirror of route.mirrors) clusters.set(mirror.cluster.name, mirror.cluster);
    }
  }
  for (const vhost of secure) for (const wc of vhost.tcpProxy?.clusters ?? []) clusters.set(wc.cluster.name, wc.cluster);
  return [...clusters.values()];
}

/** dag.secrets plus every secret a served listener or cluster refers to, so SDS names always resolve. */
function usedSecrets(dag: Dag, used: { secure: SecureVirtualHost[]; clusters: Cluster[]; fallbackUsed: boolean }): Secret[] {
  const { secure, fallbackUsed } = used;
  const secrets = new Map(dag.secrets);
  const add = (s: Secret | undefined) => {
    if (s) secrets.set(s.name, s);
  };
  for (const vhost of secure) {
    add(vhost.secret);
    add(vhost.downstreamValidation?.caSecret);
  }
  for (const c of used.clusters) {
    add(c.validation?.caSecret);
    add(c.clientCertificate);
  }
  if (fallbackUsed) add(dag.fallbackSecret);
  return [...secrets.values()];
}

function byName(resources: JsonObject[]): JsonObject[] {
  return resources.sort((a, b) => compareStrings(String(a.name), String(b.name)));
}

function withoutUndefined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}
