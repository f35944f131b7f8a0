// `serve --config-path FILE` and `serve --contour-config-name NAME`: Contour's configuration, read
// once at startup as Contour does, onto the typed GlobalConfig. Settings that are also flags become
// the flags' values unless the command line gives them (a flag overrides the configuration, as in
// Contour); the rest goes to the translator and the DAG.
import type { ArgsDef } from "citty";
import type { ConsolaInstance } from "consola";
import type { KubeConfig } from "@kubernetes/client-node";
import { configFromObject } from "../config/contour-configuration.ts";
import { type ContourConfigurationWatch, validCondition, watchContourConfiguration } from "../config/contour-configuration-watch.ts";
import { contourConfigurationFromCluster, contourConfigurationInManifests, contourConfigurationNamespace, reportContourConfiguration } from "../config/contour-configuration-source.ts";
import { loadConfigFile } from "../config/file.ts";
import { ConfigError, type GlobalConfig } from "../config/types.ts";
import { defaultGlobalConfig } from "../config/defaults.ts";
import { currentNamespace, KubeConfigError, loadKubeConfig } from "../k8s/kubeconfig.ts";
import type { KubeObject } from "../sources/types.ts";
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
    "gateway-ref": ref(config.gatewayRef),
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

/** Where the ContourConfiguration comes from, read again by the watch. */
interface ContourConfigurationOrigin {
  read(): Promise<KubeObject>;
  report?(object: KubeObject, problem: string | undefined): Promise<void>;
}

function contourConfigurationOrigin(args: Args, name: string): ContourConfigurationOrigin {
  if (args.manifests !== undefined && args.kubeconfig === undefined && args.incluster !== true) {
    return { read: contourConfigurationInManifests(String(args.manifests), name, process.env.CONTOUR_NAMESPACE || undefined) };
  }
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = loadKubeConfig({ kubeconfig: args.kubeconfig as string | undefined, context: args.context as string | undefined, inCluster: args.incluster === true }).kubeConfig;
  } catch (error) {
    if (error instanceof KubeConfigError) throw new CliError(`--contour-config-name: ${error.message}`);
    throw error;
  }
  const namespace = contourConfigurationNamespace(currentNamespace(kubeConfig));
  return {
    read: () => contourConfigurationFromCluster(kubeConfig, namespace, name),
    report: (object, problem) => reportContourConfiguration(kubeConfig, object, validCondition(object, problem, new Date())),
  };
}

export interface ServeConfiguration {
  global: GlobalConfig;
  /** With --contour-config-name: follows the object after startup; `apply` gets each new good configuration (flags still override it). */
  watch?(apply: (config: GlobalConfig) => void): ContourConfigurationWatch;
}

/**
 * Reads the configuration the command line names (none: Contour's defaults), fills `args` with the
 * settings the command line did not give, and returns the global configuration. A bad file or
 * object is a one-line CliError (exit 2).
 */
export async function serveConfiguration(args: Args, argv: string[], argsDef: ArgsDef, log: ConsolaInstance): Promise<ServeConfiguration> {
  const path = args["config-path"] as string | undefined;
  const name = args["contour-config-name"] as string | undefined;
  if (path && name) throw new CliError("--contour-config-name and --config-path cannot be given together (as in Contour): one configuration or the other");
  const given = explicitFlags(argsDef, argv);
  let config = defaultGlobalConfig();
  let watched: { origin: ContourConfigurationOrigin; object: KubeObject } | undefined;
  try {
    if (path) {
      const loaded = loadConfigFile(path);
      config = loaded.config;
      for (const [flag, value] of Object.entries(loaded.flags)) if (value !== undefined && !given.has(flag)) args[flag] = value;
      for (const line of loaded.ignored) log.info(`${path}: ${line}`);
      log.info(`configuration from ${path}`);
    } else if (name) {
      const origin = contourConfigurationOrigin(args, name);
      const object = await origin.read();
      try {
        config = configFromObject(object);
      } catch (error) {
        if (error instanceof ConfigError) await origin.report?.(object, error.message).catch(() => undefined);
        throw error;
      }
      await origin.report?.(object, undefined).catch((error: unknown) => log.warn(`cannot write the status of ContourConfiguration ${name}: ${(error as Error).message}`));
      watched = { origin, object };
      log.info(`configuration from ContourConfiguration ${object.metadata.namespace}/${name}`);
    }
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(`--${path ? "config-path" : "contour-config-name"}: ${error.message}`);
    throw error;
  }
  const startupFlags = flagValues(config);
  for (const [flag, value] of Object.entries(startupFlags)) if (value !== undefined && !given.has(flag)) args[flag] = value;
  const withFlags = (c: GlobalConfig): GlobalConfig => {
    // Contour's own flags for two settings the configuration also has.
    if (given.has("accesslog-format")) c.accessLog.format = choiceFlag("accesslog-format", args["accesslog-format"], ["envoy", "json"] as const);
    if (args["use-proxy-protocol"] === true) c.listener.useProxyProtocol = true;
    return c;
  };
  const global = withFlags(config);
  if (!watched) return { global };
  const { origin, object } = watched;
  return {
    global,
    watch: (apply) =>
      watchContourConfiguration({
        read: origin.read,
        report: origin.report,
        initial: object,
        intervalMs: 2_000,
        apply: (next) => {
          const changed = Object.entries(flagValues(next)).filter(([flag, value]) => !given.has(flag) && value !== startupFlags[flag]).map(([flag]) => flag);
          if (changed.length > 0) log.warn(`ContourConfiguration ${name}: what --${changed.join(", --")} would set changed; that takes a restart (the rest is applied now)`);
          apply(withFlags(next));
        },
      }),
  };
}
