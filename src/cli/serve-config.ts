// `serve --config-path FILE` and `serve --contour-config-name NAME`: Contour's configuration, read
// once at startup as Contour does, onto the typed GlobalConfig. Settings that are also flags become
// the flags' values unless the command line gives them (a flag overrides the configuration, as in
// Contour); the rest goes to the translator and the DAG.
import type { ArgsDef } from "citty";
import type { ConsolaInstance } from "consola";
import { configFromObject } from "../config/contour-configuration.ts";
import { contourConfigurationFromCluster, contourConfigurationFromManifests, contourConfigurationNamespace } from "../config/contour-configuration-source.ts";
import { loadConfigFile } from "../config/file.ts";
import { ConfigError, defaultGlobalConfig, type GlobalConfig } from "../config/types.ts";
import { currentNamespace, KubeConfigError, loadKubeConfig } from "../k8s/kubeconfig.ts";
import { explicitFlags } from "./argv.ts";
import { choiceFlag, CliError } from "./errors.ts";

type Args = Record<string, unknown>;

/** The flag values a configuration gives (flag name → value), for flags the command line left out. */
function flagValues(config: GlobalConfig): Record<string, string | boolean | undefined> {
  const ref = (r: { namespace: string; name: string } | undefined) => (r ? `${r.namespace}/${r.name}` : undefined);
  const port = (p: number | undefined) => (p === undefined ? undefined : String(p));
  return {
    "fallback-certificate": ref(config.fallbackCertificate),
    "upstream-client-certificate": ref(config.clientCertificate),
    "enable-external-name-service": config.enableExternalNameService,
    "ingress-status-address": config.ingressStatusAddress,
    "envoy-service-name": config.envoyService?.name,
    "envoy-service-namespace": config.envoyService?.namespace,
    "root-namespaces": config.rootNamespaces?.join(","),
    "ingress-class-name": config.ingressClassNames?.join(","),
    "envoy-service-http-address": config.http.address,
    "envoy-service-http-port": port(config.http.port),
    "envoy-service-https-address": config.https.address,
    "envoy-service-https-port": port(config.https.port),
    "stats-address": config.stats.address,
    "stats-port": port(config.stats.port),
  };
}

async function loadContourConfiguration(args: Args, name: string): Promise<GlobalConfig> {
  if (args.manifests !== undefined && args.kubeconfig === undefined && args.incluster !== true) {
    const object = await contourConfigurationFromManifests(String(args.manifests), name, process.env.CONTOUR_NAMESPACE || undefined);
    return configFromObject(object);
  }
  let kubeConfig;
  try {
    kubeConfig = loadKubeConfig({ kubeconfig: args.kubeconfig as string | undefined, context: args.context as string | undefined, inCluster: args.incluster === true }).kubeConfig;
  } catch (error) {
    if (error instanceof KubeConfigError) throw new CliError(`--contour-config-name: ${error.message}`);
    throw error;
  }
  const object = await contourConfigurationFromCluster(kubeConfig, contourConfigurationNamespace(currentNamespace(kubeConfig)), name);
  return configFromObject(object);
}

/**
 * Reads the configuration the command line names (none: Contour's defaults), fills `args` with the
 * settings the command line did not give, and returns the global configuration. A bad file or
 * object is a one-line CliError (exit 2).
 */
export async function serveConfiguration(args: Args, argv: string[], argsDef: ArgsDef, log: ConsolaInstance): Promise<GlobalConfig> {
  const path = args["config-path"] as string | undefined;
  const name = args["contour-config-name"] as string | undefined;
  if (path && name) throw new CliError("--contour-config-name and --config-path cannot be given together (as in Contour): one configuration or the other");
  const given = explicitFlags(argsDef, argv);
  let config = defaultGlobalConfig();
  try {
    if (path) {
      const loaded = loadConfigFile(path);
      config = loaded.config;
      for (const [flag, value] of Object.entries(loaded.flags)) if (value !== undefined && !given.has(flag)) args[flag] = value;
      for (const line of loaded.ignored) log.info(`${path}: ${line}`);
      log.info(`configuration from ${path}`);
    } else if (name) {
      config = await loadContourConfiguration(args, name);
      log.info(`configuration from ContourConfiguration ${name}`);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`--${path ? "config-path" : "contour-config-name"}: ${error.message}`);
    throw error;
  }
  for (const [flag, value] of Object.entries(flagValues(config))) if (value !== undefined && !given.has(flag)) args[flag] = value;
  // Contour's own flags for two settings the configuration also has.
  if (given.has("accesslog-format")) config.accessLog.format = choiceFlag("accesslog-format", args["accesslog-format"], ["envoy", "json"] as const);
  if (args["use-proxy-protocol"] === true) config.listener.useProxyProtocol = true;
  return config;
}
