// The translator's entry point: the whole DAG to Envoy v3 listeners, route configurations,
// clusters and secrets in our JSON form (which objects own each of them is the side table of
// ownership.ts). It renders the DAG's listeners and what they reach, and decides nothing itself.
// Pure and deterministic: everything is sorted, so the same DAG gives byte-identical JSON. Endpoints
// are translated apart (endpoint.ts), without the DAG.
import { routeConfigs, type RouteConfigNode } from "../dag/accessors.ts";
import type { Cluster, Dag, Listener, Secret } from "../dag/types.ts";
import { adminCluster, cluster, clusterDefaults, type ClusterDefaults } from "./cluster.ts";
import { compareStrings, type JsonObject } from "./common.ts";
import { listener, type ListenerSettings, statsListener } from "./listener.ts";
import { routeConfigurationOf } from "./route.ts";
import { secret } from "./secret.ts";
import { type GlobalConfig } from "../config/types.ts";
import { defaultGlobalConfig } from "../config/defaults.ts";
import { configSourceFor, type XdsConfigSourceMode } from "./config-source.ts";

/** How resources are rendered; where the routing listeners listen is the DAG's (DagOptions.listeners). */
export interface TranslateOptions {
  /** The stats/ready listener port (8002). */
  statsPort?: number;
  /** Envoy's admin unix socket, which `stats-health` forwards to ("/admin/admin.sock"). */
  adminSocketPath?: string;
  /** The stats listener's address ("0.0.0.0"; "::" listens on IPv4 too). */
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
  statsPort: 8002,
  adminSocketPath: "/admin/admin.sock",
  address: "0.0.0.0",
  accessLog: true,
  global: defaultGlobalConfig(),
  xdsConfigSource: { kind: "ads" },
};

/**
 * How each DAG node becomes its Envoy JSON: the plain translators, or the same remembered per node
 * by a TranslationMemo (translate-memo.ts). Either gives the same JSON.
 */
export interface NodeTranslators {
  listener(node: Listener, settings: ListenerSettings): JsonObject;
  routeConfiguration(config: RouteConfigNode): JsonObject;
  cluster(node: Cluster, defaults: ClusterDefaults): JsonObject;
  secret(node: Secret): JsonObject;
}

export const plainTranslators: NodeTranslators = {
  listener,
  routeConfiguration: (config) => routeConfigurationOf(config),
  cluster,
  secret,
};

/** Translates a DAG into Envoy resources (everything but load assignments). */
export function translate(dag: Dag, options: TranslateOptions = {}, translators: NodeTranslators = plainTranslators): Translation {
  const { opts, settings, defaults } = translationSettings(options);
  const listeners = [...dag.listeners.map((node) => translators.listener(node, settings)), statsListener(opts.statsPort, settings)];
  const routes = routeConfigs(dag).map((config) => translators.routeConfiguration(config));
  const clusters = [...[...dag.clusters.values()].map((c) => translators.cluster(c, defaults)), adminCluster(opts.adminSocketPath)];
  const secrets = [...dag.secrets.values()].map((s) => translators.secret(s));
  return {
    listeners: byName(listeners),
    routes: byName(routes),
    clusters: byName(clusters),
    secrets: byName(secrets),
  };
}

/** The resolved options and what the listener and cluster translators take from them. */
export function translationSettings(options: TranslateOptions): { opts: Required<TranslateOptions>; settings: ListenerSettings; defaults: ClusterDefaults } {
  const opts = resolvedTranslateOptions(options);
  // Where Envoy fetches RDS, EDS and SDS: each translator writes it where it names a resource.
  const configSource = configSourceFor(opts.xdsConfigSource);
  const settings: ListenerSettings = { address: opts.address, accessLog: opts.accessLog, global: opts.global, configSource };
  return { opts, settings, defaults: { ...clusterDefaults(opts.global), configSource } };
}

/** The options with Contour's defaults for what is not given. */
export function resolvedTranslateOptions(options: TranslateOptions): Required<TranslateOptions> {
  return { ...defaultTranslateOptions, ...withoutUndefined(options) };
}

function byName(resources: JsonObject[]): JsonObject[] {
  return resources.sort((a, b) => compareStrings(String(a.name), String(b.name)));
}

function withoutUndefined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}
