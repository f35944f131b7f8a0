// The Kubernetes source: list+watch of every kind the DAG reads, per namespace when
// --watch-namespaces is given, delivering slimmed plain-JSON objects as SourceEvents. Synced once
// every kind has been listed (a CRD that is not installed counts as listed-empty). A kind accepted at
// several versions (TLSRoute v1 and v1alpha2, …) is watched at the first one the API server serves.
import type { KubeConfig } from "@kubernetes/client-node";
import { consola, type ConsolaInstance } from "consola";
import { createKubeClient, type KubeClient } from "../k8s/client.ts";
import { loadKubeConfig } from "../k8s/kubeconfig.ts";
import { createStringPool, slimObject, secretFieldSelector } from "./kube-transform.ts";
import { startReflector, type Backoff, type InformerCounters, type Reflector } from "./kube-reflector.ts";
import type { Source, SourceHandler, WatchedKind } from "./types.ts";
import { watchedKinds } from "./types.ts";

/** The kinds watched unless told otherwise. */
export const defaultKubernetesKinds: WatchedKind[] = [
  "Ingress",
  "Service",
  "EndpointSlice",
  "Secret",
  "ConfigMap",
  "HTTPProxy",
  "TLSCertificateDelegation",
  "Namespace",
  "GatewayClass",
  "Gateway",
  "HTTPRoute",
  "GRPCRoute",
  "ReferenceGrant",
  "TLSRoute",
  "TCPRoute",
  "BackendTLSPolicy",
];

type Resource = (typeof watchedKinds)[number];

/**
 * The version to watch `resource` at: for a kind accepted at several versions, the first (newest)
 * the API server lists in discovery; the preferred one when none is (the CRD is not installed: its
 * reflector then says so, once). `discovered` memoizes one request per group version.
 */
async function servedVersion(client: KubeClient, resource: Resource, discovered: Map<string, Promise<Set<string>>>): Promise<string> {
  if (!("versions" in resource)) return resource.version;
  for (const version of resource.versions) {
    const path = `/apis/${resource.group}/${version}`;
    let plurals = discovered.get(path);
    if (!plurals) {
      plurals = client
        .request<{ resources?: Array<{ name?: string }> }>("GET", path)
        .then((list) => new Set((list?.resources ?? []).map((r) => r.name ?? "")))
        .catch(() => new Set<string>());
      discovered.set(path, plurals);
    }
    if ((await plurals).has(resource.plural)) return version;
  }
  return resource.version;
}

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
  /** Where the reflectors count restarts and re-lists (the agent's metrics). */
  counters?: InformerCounters;
  /** Items per list page. */
  pageSize?: number;
  /** Seconds the server is asked to keep each watch open. */
  watchTimeoutSeconds?: number;
}

export interface KubernetesSource extends Source {
  /** The bundle version of the cluster's Gateway API CRDs, once read at start (undefined: unknown). */
  gatewayApiBundleVersion(): string | undefined;
}

const gatewayClassCrd = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gatewayclasses.gateway.networking.k8s.io";
const bundleVersionAnnotation = "gateway.networking.k8s.io/bundle-version";

/** Reads the Gateway API bundle version off the GatewayClass CRD (as Contour does); undefined when it cannot. */
async function readBundleVersion(client: KubeClient, logger: ConsolaInstance): Promise<string | undefined> {
  try {
    const crd = await client.request<{ metadata?: { annotations?: Record<string, string> } }>("GET", gatewayClassCrd);
    const version = crd?.metadata?.annotations?.[bundleVersionAnnotation];
    logger.info(version ? `Gateway API CRDs found: bundle version ${version}` : `Gateway API CRDs found without the ${bundleVersionAnnotation} annotation`);
    return version;
  } catch (error) {
    logger.info(`Gateway API CRD bundle version not read: ${(error as Error).message}`);
    return undefined;
  }
}

/** A Source over the Kubernetes API. */
export function createKubernetesSource(options: KubernetesSourceOptions = {}): KubernetesSource {
  const logger = options.logger ?? consola.withTag("kubernetes");
  const kinds = options.kinds ?? defaultKubernetesKinds;
  const namespaces = [...new Set(options.watchNamespaces ?? [])].filter((n) => n !== "");
  let client: KubeClient | undefined;
  let reflectors: Reflector[] = [];
  let bundleVersion: string | undefined;

  async function start(handler: SourceHandler): Promise<void> {
    const kubeConfig = options.kubeConfig ?? loadKubeConfig({ kubeconfig: options.kubeconfig, context: options.context, inCluster: options.inCluster }).kubeConfig;
    client = createKubeClient(kubeConfig);
    logger.info(`watching ${kinds.join(", ")} at ${client.server}${namespaces.length ? ` in namespaces ${namespaces.join(", ")}` : ""}`);
    if (kinds.includes("GatewayClass")) bundleVersion = await readBundleVersion(client, logger);
    const discovered = new Map<string, Promise<Set<string>>>();
    const resources = await Promise.all(
      kinds.map(async (kind) => {
        const resource = watchedKinds.find((k) => k.kind === kind);
        if (!resource) throw new Error(`unknown kind ${kind}`);
        const version = await servedVersion(client!, resource, discovered);
        if (version !== resource.version) logger.info(`${kind}: watching ${resource.group}/${version} (the API server does not serve ${resource.version})`);
        return { resource: { ...resource, version }, scoped: "clusterScoped" in resource && resource.clusterScoped };
      }),
    );
    const plan = resources.flatMap(({ resource, scoped }) =>
      (scoped || namespaces.length === 0 ? [undefined] : namespaces).map((namespace) => ({ resource, namespace })),
    );
    let unsynced = plan.length;
    // One copy of each namespace, protocol, port list… across every kind this source watches.
    const pool = createStringPool();
    const reportedMissing = new Set<string>();
    reflectors = plan.map(({ resource, namespace }) => {
      const apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
      return startReflector({
        client: client!,
        resource,
        namespace,
        fieldSelector: resource.kind === "Secret" ? secretFieldSelector : undefined,
        transform: (object) => slimObject(object, apiVersion, resource.kind, pool),
        backoff: options.backoff,
        counters: options.counters,
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

  return { name: "kubernetes", start, stop, gatewayApiBundleVersion: () => bundleVersion };
}
