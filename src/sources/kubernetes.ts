// The Kubernetes source: list+watch of every kind the DAG reads, per namespace when
// --watch-namespaces is given, delivering slimmed plain-JSON objects as SourceEvents. Synced once
// every kind has been listed (a CRD that is not installed counts as listed-empty).
import type { KubeConfig } from "@kubernetes/client-node";
import { consola, type ConsolaInstance } from "consola";
import { createKubeClient, type KubeClient } from "../k8s/client.ts";
import { loadKubeConfig } from "../k8s/kubeconfig.ts";
import { slimObject, secretFieldSelector } from "./kube-transform.ts";
import { startReflector, type Backoff, type Reflector } from "./kube-reflector.ts";
import type { Source, SourceHandler, WatchedKind } from "./types.ts";
import { watchedKinds } from "./types.ts";

/** The kinds watched unless told otherwise. */
export const defaultKubernetesKinds: WatchedKind[] = ["Ingress", "Service", "EndpointSlice", "Secret", "HTTPProxy", "TLSCertificateDelegation"];

export interface KubernetesSourceOptions {
  /** An already loaded configuration (the same one the status writer and leader election use). */
  kubeConfig?: KubeConfig;
  /** Otherwise: where to load it from (see loadKubeConfig). */
  kubeconfig?: string;
  context?: string;
  inCluster?: boolean;
  /** Namespaces to watch; empty or absent: all. Cluster-scoped kinds are always watched cluster-wide. */
  watchNamespaces?: string[];
  kinds?: WatchedKind[];
  logger?: ConsolaInstance;
  /** Retry pacing after errors; tests shorten it. */
  backoff?: Backoff;
  /** Items per list page. */
  pageSize?: number;
  /** Seconds the server is asked to keep each watch open. */
  watchTimeoutSeconds?: number;
}

/** A Source over the Kubernetes API. */
export function createKubernetesSource(options: KubernetesSourceOptions = {}): Source {
  const logger = options.logger ?? consola.withTag("kubernetes");
  const kinds = options.kinds ?? defaultKubernetesKinds;
  const namespaces = [...new Set(options.watchNamespaces ?? [])].filter((n) => n !== "");
  let client: KubeClient | undefined;
  let reflectors: Reflector[] = [];

  async function start(handler: SourceHandler): Promise<void> {
    const kubeConfig = options.kubeConfig ?? loadKubeConfig({ kubeconfig: options.kubeconfig, context: options.context, inCluster: options.inCluster }).kubeConfig;
    client = createKubeClient(kubeConfig);
    logger.info(`watching ${kinds.join(", ")} at ${client.server}${namespaces.length ? ` in namespaces ${namespaces.join(", ")}` : ""}`);
    const plan = kinds.flatMap((kind) => {
      const resource = watchedKinds.find((k) => k.kind === kind);
      if (!resource) throw new Error(`unknown kind ${kind}`);
      const scoped = "clusterScoped" in resource && resource.clusterScoped;
      return (scoped || namespaces.length === 0 ? [undefined] : namespaces).map((namespace) => ({ resource, namespace }));
    });
    let unsynced = plan.length;
    const reportedMissing = new Set<string>();
    reflectors = plan.map(({ resource, namespace }) => {
      const apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
      return startReflector({
        client: client!,
        resource,
        namespace,
        fieldSelector: resource.kind === "Secret" ? secretFieldSelector : undefined,
        transform: (object) => slimObject(object, apiVersion, resource.kind),
        backoff: options.backoff,
        pageSize: options.pageSize,
        watchTimeoutSeconds: options.watchTimeoutSeconds,
        onEvents: (events) => handler.onEvents(events),
        onSynced() {
          if (--unsynced === 0) {
            logger.info("every kind listed once");
            handler.onSynced();
          }
        },
        onProblem({ message, notInstalled }) {
          if (notInstalled) {
            // One report per kind, not one per watched namespace.
            if (reportedMissing.has(resource.kind)) return;
            reportedMissing.add(resource.kind);
          }
          logger.warn(message);
          handler.onProblem({ source: "kubernetes", message });
        },
      });
    });
  }

  async function stop(): Promise<void> {
    await Promise.all(reflectors.map((r) => r.stop()));
    reflectors = [];
    client?.close();
  }

  return { name: "kubernetes", start, stop };
}
