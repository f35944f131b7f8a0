// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: try to
// acquire or renew every retry period (optimistic concurrency on the resourceVersion), take over a
// lease whose holder has not renewed within its duration (measured on our own clock, from when we
// last saw the record change, so clock skew does not matter), and release on stop. isLeader() turns
// false the moment the renew deadline passes without a successful renewal, even between ticks.
import type { KubeConfig } from "@kubernetes/client-node";
import { consola, type ConsolaInstance } from "consola";
import { type KubeClient, KubeApiError, collectionPath, objectPath } from "./client.ts";
import { createKubeClient } from "./client.ts";

export interface LeaderElectionOptions {
  kubeConfig?: KubeConfig;
  /** A client to share (tests); otherwise one is made from kubeConfig. */
  client?: KubeClient;
  namespace: string;
  name: string;
  /** This replica's identity (the pod name, plus something unique). */
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  /** Called when the observed holder changes (any replica). */
  onNewLeader?: (identity: string) => void;
  logger?: ConsolaInstance;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** The holder last observed ("" when none). */
  leader(): string;
  /** Stops trying; if leading, stops leading first, then releases the Lease. */
  stop(): Promise<void>;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

const leases = { group: "coordination.k8s.io", version: "v1", plural: "leases" };

/** metav1.MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}

export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const logger = options.logger ?? consola.withTag("leader");
  const leaseMs = (options.leaseDurationSeconds ?? 15) * 1000;
  const renewDeadlineMs = (options.renewDeadlineSeconds ?? 10) * 1000;
  const retryMs = (options.retryPeriodSeconds ?? 2) * 1000;
  if (!(leaseMs > renewDeadlineMs && renewDeadlineMs > retryMs)) throw new Error("leader election: need lease duration > renew deadline > retry period");
  if (!options.client && !options.kubeConfig) throw new Error("leader election: kubeConfig or client is required");
  const client = options.client ?? createKubeClient(options.kubeConfig!, { maxSockets: 2 });
  const path = objectPath(leases, options.namespace, options.name);
  let leading = false;
  let lastRenew = 0;
  let observed = "";
  let observedAt = 0;
  let holder = "";
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;

  function observe(spec: LeaseSpec | undefined): void {
    const text = JSON.stringify(spec ?? {});
    if (text !== observed) {
      observed = text;
      observedAt = Date.now();
    }
    const current = spec?.holderIdentity ?? "";
    if (current !== holder) {
      holder = current;
      if (current) logger.info(`lease ${options.namespace}/${options.name} held by ${current}`);
      options.onNewLeader?.(current);
    }
  }

  function isLeader(): boolean {
    return leading && !stopped && Date.now() - lastRenew < renewDeadlineMs;
  }

  function spec(before: LeaseSpec | undefined, now: number): LeaseSpec {
    const renewing = before?.holderIdentity === options.identity;
    return {
      holderIdentity: options.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(leaseMs / 1000)),
      acquireTime: renewing && before?.acquireTime ? before.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: renewing ? (before?.leaseTransitions ?? 0) : (before?.leaseTransitions ?? -1) + 1,
    };
  }

  async function tryAcquireOrRenew(): Promise<boolean> {
    const timeoutMs = Math.max(retryMs, 1000);
    let lease: Lease;
    try {
      lease = await client.request<Lease>("GET", path, { timeoutMs });
    } catch (error) {
      if (!(error instanceof KubeApiError && error.statusCode === 404)) throw error;
      const created: Lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: options.name, namespace: options.namespace }, spec: spec(undefined, Date.now()) };
      const result = await client.request<Lease>("POST", collectionPath(leases, options.namespace), { body: created, timeoutMs });
      observe(result.spec);
      return true;
    }
    observe(lease.spec);
    const current = lease.spec?.holderIdentity ?? "";
    const duration = (lease.spec?.leaseDurationSeconds ?? leaseMs / 1000) * 1000;
    if (current && current !== options.identity && observedAt + duration > Date.now()) return false;
    const next = { ...lease, spec: spec(lease.spec, Date.now()) };
    const result = await client.request<Lease>("PUT", path, { body: next, timeoutMs });
    observe(result.spec);
    return true;
  }

  function startLeading(): void {
    if (leading) return;
    leading = true;
    logger.info(`became leader (${options.identity})`);
    options.onStartedLeading?.();
  }

  function stopLeading(reason: string): void {
    if (!leading) return;
    leading = false;
    logger.warn(`stopped leading: ${reason}`);
    options.onStoppedLeading?.();
  }

  async function tick(): Promise<void> {
    try {
      if (await tryAcquireOrRenew()) {
        if (stopped) return;
        lastRenew = Date.now();
        startLeading();
        return;
      }
      if (leading) stopLeading(`lease taken by ${holder}`);
    } catch (error) {
      const failure = error as Error;
      if (error instanceof KubeApiError && error.statusCode === 409) {
        if (leading) logger.info("lease changed under us; re-reading");
      } else logger.warn(`lease ${options.namespace}/${options.name}: ${failure.message}`);
    }
    if (leading && Date.now() - lastRenew >= renewDeadlineMs) stopLeading(`not renewed within ${renewDeadlineMs / 1000}s`);
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      await tick();
      if (stopped) break;
      // Candidates spread their attempts (client-go's jitter 1.2); the leader renews on the period.
      const waitMs = leading ? retryMs : retryMs * (1 + Math.random() * 0.2);
      const deadline = leading ? Math.max(0, lastRenew + renewDeadlineMs - Date.now()) : Infinity;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.min(waitMs, deadline));
        wake = resolve;
      });
    }
  }

  async function release(): Promise<void> {
    try {
      const lease = await client.request<Lease>("GET", path, { timeoutMs: Math.max(retryMs, 1000) });
      if (lease.spec?.holderIdentity !== options.identity) return;
      const now = Date.now();
      const released: Lease = {
        ...lease,
        spec: { holderIdentity: "", leaseDurationSeconds: 1, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: lease.spec.leaseTransitions ?? 0 },
      };
      await client.request("PUT", path, { body: released, timeoutMs: Math.max(retryMs, 1000) });
      logger.info(`released lease ${options.namespace}/${options.name}`);
    } catch (error) {
      logger.warn(`lease ${options.namespace}/${options.name} not released: ${(error as Error).message}`);
    }
  }

  const running = loop();

  return {
    isLeader,
    leader: () => holder,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await running;
      stopLeading("stopping");
      // Also when not leading: a renewal may have won just as stop() was called.
      await release();
      if (!options.client) client.close();
    },
  };
}
