// The Kubernetes side of `agent certs`: the client for --kubeconfig/--context/--incluster, and
// creating the Secrets with one line per Secret on stdout. Shared by `certs init --format cluster`
// and Contour's `certgen --kube` (certgen.ts).
import { consola } from "consola";
import { SecretWriteError, writeSecretsAsContour, writeSecretsToCluster } from "../certs/cluster.ts";
import type { TlsSecret } from "../certs/layout.ts";
import { createKubeClient, type KubeClient } from "../k8s/client.ts";
import { KubeConfigError, loadKubeConfig } from "../k8s/kubeconfig.ts";
import { CliError } from "./errors.ts";

const log = consola.withTag("certs");

/** The cluster of --kubeconfig/--context/--incluster (or $KUBECONFIG, ~/.kube/config, the pod's). */
export function clusterClient(args: { kubeconfig?: string; context?: string; incluster: boolean }): KubeClient {
  if (args.incluster && (args.kubeconfig !== undefined || args.context !== undefined)) throw new CliError("--incluster uses the pod's service account: give it without --kubeconfig and --context");
  try {
    const { kubeConfig, origin } = loadKubeConfig({ kubeconfig: args.kubeconfig, context: args.context, inCluster: args.incluster });
    const client = createKubeClient(kubeConfig, { userAgent: "isobar-certs" });
    log.debug(`writing Secrets to ${client.server} (credentials: ${origin}${kubeConfig.getCurrentContext() ? `, context ${kubeConfig.getCurrentContext()}` : ""})`);
    return client;
  } catch (error) {
    if (error instanceof KubeConfigError) throw new CliError(error.message);
    throw error;
  }
}

/**
 * Creates (or with overwrite, replaces) the Secrets, prints what happened to each, closes the client.
 * `asContour`: as Contour's certgen, needing only create and update (see writeSecretsAsContour).
 */
export async function createSecrets(client: KubeClient, secrets: TlsSecret[], options: { overwrite: boolean; asContour?: boolean }): Promise<void> {
  try {
    const written = await (options.asContour ? writeSecretsAsContour : writeSecretsToCluster)(client, secrets, options);
    process.stdout.write(`${written.map((w) => (w.action === "kept" ? `Secret ${w.name} already exists: kept (--overwrite replaces it)` : `Secret ${w.name} ${w.action}`)).join("\n")}\n`);
  } catch (error) {
    throw error instanceof SecretWriteError ? new CliError(error.message, 1) : error;
  } finally {
    client.close();
  }
}
