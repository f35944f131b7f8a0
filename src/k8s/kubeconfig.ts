// Finds the credentials the agent talks to Kubernetes with, the way kubectl and client-go do:
// an explicit --kubeconfig, then $KUBECONFIG, then ~/.kube/config, then in-cluster (a pod's
// service-account token and CA) when asked for or detected.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isIPv6 } from "node:net";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";

export const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface KubeConfigOptions {
  /** --kubeconfig: a file path. */
  kubeconfig?: string;
  /** --context: a context name in the kubeconfig. */
  context?: string;
  /** --incluster: use the pod's service account even if a kubeconfig exists. */
  inCluster?: boolean;
  /** Environment to read KUBECONFIG and KUBERNETES_SERVICE_{HOST,PORT} from (tests pass their own). */
  env?: Record<string, string | undefined>;
  /** Where the service-account token, ca.crt and namespace live (tests pass a temp dir). */
  serviceAccountDir?: string;
  /** Home directory for ~/.kube/config (tests pass a temp dir). */
  home?: string;
}

export class KubeConfigError extends Error {
  readonly code = "KUBECONFIG";
}

/** How the configuration was found, for a startup log line. */
export type KubeConfigOrigin = "flag" | "env" | "home" | "in-cluster";

/** Loads a KubeConfig; throws KubeConfigError with a one-line reason when none can be found. */
export function loadKubeConfig(options: KubeConfigOptions = {}): { kubeConfig: KubeConfig; origin: KubeConfigOrigin } {
  const env = options.env ?? process.env;
  const saDir = options.serviceAccountDir ?? serviceAccountDir;
  const kubeConfig = new KubeConfig();
  let origin: KubeConfigOrigin;
  if (options.inCluster) {
    loadInCluster(kubeConfig, env, saDir);
    origin = "in-cluster";
  } else if (options.kubeconfig) {
    if (!existsSync(options.kubeconfig)) throw new KubeConfigError(`kubeconfig ${options.kubeconfig} does not exist`);
    loadFile(kubeConfig, options.kubeconfig);
    origin = "flag";
  } else if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(process.platform === "win32" ? ";" : ":").filter((f) => f && existsSync(f));
    if (files.length === 0) throw new KubeConfigError(`no file named in KUBECONFIG exists: ${env.KUBECONFIG}`);
    mergeFiles(kubeConfig, files);
    origin = "env";
  } else if (existsSync(join(options.home ?? homedir(), ".kube", "config"))) {
    loadFile(kubeConfig, join(options.home ?? homedir(), ".kube", "config"));
    origin = "home";
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(join(saDir, "token"))) {
    loadInCluster(kubeConfig, env, saDir);
    origin = "in-cluster";
  } else {
    throw new KubeConfigError("no kubeconfig found: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run in a pod");
  }
  if (options.context) {
    if (!kubeConfig.getContextObject(options.context)) throw new KubeConfigError(`context ${options.context} is not in the kubeconfig`);
    kubeConfig.setCurrentContext(options.context);
  }
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`kubeconfig has no cluster for context ${kubeConfig.getCurrentContext() || "(none)"}`);
  return { kubeConfig, origin };
}

/**
 * Loads one kubeconfig file; a parse error names the file and the line, never quoting the file (it
 * holds tokens and keys: the YAML parser's message carries an excerpt, its reason and mark do not).
 */
function loadFile(kubeConfig: KubeConfig, file: string): void {
  try {
    kubeConfig.loadFromFile(file);
  } catch (error) {
    const { reason, mark, message } = error as { reason?: string; mark?: { line: number; column: number }; message?: string };
    if (mark) throw new KubeConfigError(`kubeconfig ${file} is not valid YAML at line ${mark.line + 1}, column ${mark.column + 1}: ${reason ?? "syntax error"}`);
    throw new KubeConfigError(`kubeconfig ${file}: ${String(message).split("\n")[0]}`);
  }
}

/**
 * Merges kubeconfig files as kubectl does: the first file to name a cluster, user or context wins
 * (client-node's mergeConfig throws on a duplicate name instead), and the first current-context set.
 */
function mergeFiles(kubeConfig: KubeConfig, files: string[]): void {
  const configs = files.map((file) => {
    const config = new KubeConfig();
    loadFile(config, file);
    return config;
  });
  const firstByName = <T extends { name: string }>(lists: T[][]): T[] => {
    const seen = new Map<string, T>();
    for (const item of lists.flat()) if (!seen.has(item.name)) seen.set(item.name, item);
    return [...seen.values()];
  };
  kubeConfig.loadFromOptions({
    clusters: firstByName(configs.map((c) => c.getClusters())),
    users: firstByName(configs.map((c) => c.getUsers())),
    contexts: firstByName(configs.map((c) => c.getContexts())),
    currentContext: configs.map((c) => c.getCurrentContext()).find((name) => name),
  });
}

/** In-cluster credentials as client-go builds them: the token file is re-read as it rotates. */
function loadInCluster(kubeConfig: KubeConfig, env: Record<string, string | undefined>, saDir: string): void {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) throw new KubeConfigError("in-cluster: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)");
  const tokenFile = join(saDir, "token");
  const caFile = join(saDir, "ca.crt");
  if (!existsSync(tokenFile)) throw new KubeConfigError(`in-cluster: ${tokenFile} does not exist`);
  if (!existsSync(caFile)) throw new KubeConfigError(`in-cluster: ${caFile} does not exist`);
  const namespaceFile = join(saDir, "namespace");
  const namespace = existsSync(namespaceFile) ? readFileSync(namespaceFile, "utf8").trim() : undefined;
  kubeConfig.loadFromOptions({
    clusters: [{ name: "inCluster", server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`, caFile, skipTLSVerify: false }],
    users: [{ name: "inClusterUser", authProvider: { name: "tokenFile", config: { tokenFile } } }],
    contexts: [{ name: "inClusterContext", cluster: "inCluster", user: "inClusterUser", namespace }],
    currentContext: "inClusterContext",
  });
}

/** The namespace of the current context (in a pod: the pod's), for the leader-election Lease default. */
export function currentNamespace(kubeConfig: KubeConfig): string | undefined {
  return kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
}
