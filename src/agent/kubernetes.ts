// Connecting `agent serve` to a cluster: finds the credentials (flag, KUBECONFIG, ~/.kube/config,
// in-cluster), makes the Kubernetes source, and once the agent runs, starts status reporting under
// leader election. Every replica serves xDS; only the Lease holder writes status.
import type { KubeConfig } from "@kubernetes/client-node";
import { consola } from "consola";
import type { StatusReportingHandle } from "./agent.ts";
import { createKubernetesSource } from "../sources/kubernetes.ts";
import type { Source } from "../sources/types.ts";
import { currentNamespace, loadKubeConfig } from "../k8s/kubeconfig.ts";
import { defaultMetrics, informerCounters } from "../observe/metrics.ts";
import { startStatusReporting } from "../status/reporting.ts";
import { parseStatusAddresses } from "../status/status-shape.ts";

export interface KubernetesOptions {
  kubeconfig?: string;
  context?: string;
  inCluster?: boolean;
  watchNamespaces?: string[];
  /** --ingress-status-address: fixed load balancer addresses for status ("192.0.2.1,lb.example.com"). */
  statusAddress?: string;
  /** The Envoy Service whose load balancer address goes into status (namespace: the agent's by default). */
  envoyService?: { namespace?: string; name: string };
  /** false: --disable-leader-election (a single replica). */
  leaderElection: false | { namespace?: string; name: string; leaseDurationSeconds?: number; renewDeadlineSeconds?: number; retryPeriodSeconds?: number };
}

export interface KubernetesConnection {
  source: Source;
  /** The bundle version of the cluster's Gateway API CRDs, known once the source started. */
  gatewayApiBundleVersion(): string | undefined;
  kubeConfig: KubeConfig;
  /** Starts writing status from the agent's builds; the handle goes to agent.attachStatusReporting. */
  startReporting(agent: { pipeline: Parameters<typeof startStatusReporting>[0]["pipeline"]; cache: Parameters<typeof startStatusReporting>[0]["cache"] }): StatusReportingHandle;
}

/** Loads the credentials (throws KubeConfigError with a one-line reason) and makes the source. */
export function connectKubernetes(options: KubernetesOptions): KubernetesConnection {
  const { kubeConfig, origin } = loadKubeConfig({ kubeconfig: options.kubeconfig, context: options.context, inCluster: options.inCluster });
  const cluster = kubeConfig.getCurrentCluster();
  consola.withTag("kubernetes").info(`watching ${cluster?.server ?? "the cluster"} (credentials: ${origin}${kubeConfig.getCurrentContext() ? `, context ${kubeConfig.getCurrentContext()}` : ""})`);
  const counters = informerCounters(defaultMetrics());
  const source = createKubernetesSource({ kubeConfig, watchNamespaces: options.watchNamespaces, counters });
  return {
    source,
    kubeConfig,
    gatewayApiBundleVersion: () => source.gatewayApiBundleVersion(),
    startReporting(agent) {
      const election = options.leaderElection;
      // As Contour: the Lease and the Envoy Service are in the agent's own namespace unless told otherwise.
      const agentNamespace = currentNamespace(kubeConfig) ?? "isobar-system";
      const envoyService = options.envoyService && { name: options.envoyService.name, namespace: options.envoyService.namespace ?? agentNamespace };
      return startStatusReporting({
        kubeConfig,
        pipeline: agent.pipeline,
        cache: agent.cache,
        loadBalancer: options.statusAddress ? parseStatusAddresses(options.statusAddress) : undefined,
        envoyService,
        counters,
        leaderElection: election === false ? false : { ...election, namespace: election.namespace ?? agentNamespace },
      });
    },
  };
}
