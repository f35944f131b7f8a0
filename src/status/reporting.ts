// Status reporting wired to the pipeline: every build's statuses go to the status writer, which
// writes only while this replica holds the leader-election Lease (or always, with leader election
// disabled for a single replica). Becoming leader re-sends the last build's statuses.
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import { consola, type ConsolaInstance } from "consola";
import type { ObjectStatus } from "../dag/status.ts";
import { changedStatuses, type BuildResult } from "../pipeline/build.ts";
import { type KubeClient, createKubeClient } from "../k8s/client.ts";
import { type LeaderElector, startLeaderElection } from "../k8s/leader.ts";
import { slimObject } from "../sources/kube-transform.ts";
import { type InformerCounters, type Reflector, startReflector } from "../sources/kube-reflector.ts";
import { type LoadBalancerAddress, type LoadBalancerSetting, type StatusWriter, createStatusWriter, lookupFromCache, serviceAddresses } from "./status.ts";

export interface LeaderElectionSettings {
  namespace: string;
  name: string;
  /** Default: hostname (the pod name) plus a random suffix, unique per process. */
  identity?: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
}

/** What reporting reads of a build: its statuses, and how they changed when the build knows (pipeline/build.ts). */
export type BuiltStatuses = { statuses: ObjectStatus[] } & Partial<Pick<BuildResult, "dag" | "statusChanges">>;

export interface StatusReportingOptions {
  kubeConfig?: KubeConfig;
  client?: KubeClient;
  /** The pipeline's build events (src/pipeline/run.ts). */
  pipeline: { onBuild(listener: (event: { result: BuiltStatuses }) => void): () => void; readonly lastBuild?: { statuses: ObjectStatus[] } };
  /** The object cache, to find each object's current version (its Gateway API objects too, when it has them). */
  cache: Parameters<typeof lookupFromCache>[0];
  /** --ingress-status-address: fixed addresses; wins over envoyService. */
  loadBalancer?: LoadBalancerSetting;
  /** The Envoy Service whose load balancer address goes into status, watched for changes. */
  envoyService?: { namespace: string; name: string };
  /** false: --disable-leader-election, this replica always writes. */
  leaderElection: LeaderElectionSettings | false;
  concurrency?: number;
  logger?: ConsolaInstance;
  /** Where the Envoy Service's reflector counts restarts and re-lists (the agent's metrics). */
  counters?: InformerCounters;
  /** Told when this replica starts or stops leading (after the writer was told). */
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
}

export interface StatusReporting {
  writer: StatusWriter;
  elector?: LeaderElector;
  isLeader(): boolean;
  /** Stops writing (queued writes dropped, in-flight ones finish), then releases the Lease. */
  stop(): Promise<void>;
}

export function defaultIdentity(): string {
  return `${hostname()}_${crypto.randomUUID()}`;
}

export function startStatusReporting(options: StatusReportingOptions): StatusReporting {
  const logger = options.logger ?? consola.withTag("status");
  if (!options.client && !options.kubeConfig) throw new Error("status reporting: kubeConfig or client is required");
  const concurrency = options.concurrency ?? 20;
  const client = options.client ?? createKubeClient(options.kubeConfig!, { maxSockets: concurrency + 2 });
  let elector: LeaderElector | undefined;
  const isLeader = () => (options.leaderElection === false ? true : (elector?.isLeader() ?? false));
  let envoyAddresses: LoadBalancerAddress[] | undefined;
  const loadBalancer: LoadBalancerSetting | undefined = options.loadBalancer ?? (options.envoyService ? () => envoyAddresses : undefined);
  const writer = createStatusWriter({ client, concurrency, loadBalancer, isLeader, logger });
  const envoyWatch = options.loadBalancer === undefined && options.envoyService ? watchEnvoyService(options.envoyService) : undefined;

  /** Follows the Envoy Service's address; a change re-sends every status. */
  function watchEnvoyService(service: { namespace: string; name: string }): Reflector {
    return startReflector({
      client,
      resource: { group: "", version: "v1", kind: "Service", plural: "services" },
      namespace: service.namespace,
      fieldSelector: `metadata.name=${service.name}`,
      transform: (object) => slimObject(object, "v1", "Service"),
      onEvents(events) {
        const last = events.at(-1)!;
        const next = last.type === "upsert" ? serviceAddresses(last.object) : undefined;
        if (JSON.stringify(next) === JSON.stringify(envoyAddresses)) return;
        envoyAddresses = next;
        logger.info(`load balancer address of ${service.namespace}/${service.name}: ${next ? next.map((a) => a.ip ?? a.hostname).join(", ") : "none"}`);
        writer.resync(lookupFromCache(options.cache));
      },
      onSynced() {},
      counters: options.counters,
      onProblem: ({ message }) => logger.warn(`Envoy Service ${service.namespace}/${service.name}: ${message}`),
    });
  }
  if (options.leaderElection !== false) {
    const settings = options.leaderElection;
    elector = startLeaderElection({
      client,
      namespace: settings.namespace,
      name: settings.name,
      identity: settings.identity ?? defaultIdentity(),
      leaseDurationSeconds: settings.leaseDurationSeconds,
      renewDeadlineSeconds: settings.renewDeadlineSeconds,
      retryPeriodSeconds: settings.retryPeriodSeconds,
      logger: options.logger ?? consola.withTag("leader"),
      onStartedLeading() {
        writer.resync(lookupFromCache(options.cache));
        options.onStartedLeading?.();
      },
      onStoppedLeading: () => options.onStoppedLeading?.(),
    });
  }
  // A build that patched the one before says which statuses changed: only those are looked at, when
  // the build before it is the one this writer was last given.
  let lastRecorder: unknown;
  const off = options.pipeline.onBuild(({ result }) => {
    const changed = result.dag && result.statusChanges && result.statusChanges.previous === lastRecorder ? changedStatuses({ dag: result.dag, statusChanges: result.statusChanges }) : undefined;
    lastRecorder = result.dag?.status;
    writer.update(() => result.statuses, lookupFromCache(options.cache), changed);
  });
  // Started after the first build (the agent attaches reporting once it runs): begin from that build.
  if (options.pipeline.lastBuild) writer.update(options.pipeline.lastBuild.statuses, lookupFromCache(options.cache));
  return {
    writer,
    elector,
    isLeader,
    async stop() {
      off();
      await envoyWatch?.stop();
      await writer.stop();
      await elector?.stop();
      if (!options.client) client.close();
    },
  };
}
