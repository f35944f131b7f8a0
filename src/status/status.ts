// Writes the DAG's verdicts to Kubernetes as status, only while this replica leads. Each update()
// replaces what is queued (the newest verdict per object wins); writes run concurrently with a
// bound, through the status subresource (merge patch carrying the resourceVersion the verdict was
// computed against), are skipped when the object already carries the desired status, and after a
// 409 are recomputed against a fresh read and retried. Losing leadership drops the queue at once.
// Contour's ClusterRole grants update but not patch on the status subresources: once a PATCH is
// forbidden (403), status is written as Contour writes it, an update (PUT) of the object as the
// server holds it, read just before.
import type { KubeConfig } from "@kubernetes/client-node";
import { consola, type ConsolaInstance } from "consola";
import type { DagInput } from "../dag/processor.ts";
import type { ObjectRef, ObjectStatus } from "../dag/status.ts";
import { refKey } from "../dag/status.ts";
import { createStringPool } from "../sources/kube-transform.ts";
import type { KubeObject } from "../sources/types.ts";
import { type KubeClient, KubeApiError, createKubeClient, objectPath } from "../k8s/client.ts";
import { type LoadBalancerAddress, desiredStatus, patchedStatus, statusEqual, statusPatch } from "./status-shape.ts";

export type { LoadBalancerAddress } from "./status-shape.ts";
export { parseStatusAddresses, serviceAddresses } from "./status-shape.ts";

type Addresses = LoadBalancerAddress | LoadBalancerAddress[];
/** Fixed addresses, or a function giving the current ones (undefined while unknown). */
export type LoadBalancerSetting = Addresses | (() => Addresses | undefined);

/** The current object (from the source's cache) for a status's ref, or undefined if it is gone. */
export type ObjectLookup = (ref: ObjectRef) => KubeObject | undefined;

export interface StatusWriterOptions {
  kubeConfig?: KubeConfig;
  /** A client to share (tests, benchmarks); otherwise one is made from kubeConfig. */
  client?: KubeClient;
  /** Writes in flight at once; default 20. */
  concurrency?: number;
  /** --ingress-status-address, or a function reading the Envoy Service's address. */
  loadBalancer?: LoadBalancerSetting;
  isLeader: () => boolean;
  logger?: ConsolaInstance;
  now?: () => Date;
  /** Attempts per object on conflicts and transient errors; default 5. */
  maxAttempts?: number;
}

export interface StatusWriterStats {
  written: number;
  skipped: number;
  /**
   * Statuses not even looked at: the very objects last found written (an incremental build hands
   * an unaffected object's status on unchanged).
   */
  unchanged: number;
  conflicts: number;
  failed: number;
  dropped: number;
}

export interface StatusWriter {
  /**
   * The DAG's statuses from one build; `objects` finds each object's current state. `changed`, when
   * given, holds (by refKey) every status that differs from the last update's (undefined: gone),
   * and `statuses` is read only when the whole list is needed.
   */
  update(statuses: ObjectStatus[] | (() => ObjectStatus[]), objects: ObjectLookup, changed?: ReadonlyMap<string, ObjectStatus | undefined>): void;
  /**
   * Re-queues the last update's statuses (on becoming leader, or when the load balancer address
   * changes), finding objects through `objects` when given: a fresh lookup avoids a conflict per
   * object the last one saw at an older version.
   */
  resync(objects?: ObjectLookup): void;
  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void>;
  stats(): StatusWriterStats;
  /** Drops the queue and waits for in-flight writes. */
  stop(): Promise<void>;
}

interface Pending {
  status: ObjectStatus;
  objects: ObjectLookup;
}

interface Written {
  desired: string;
  before?: string;
  after?: string;
}

const resources: Record<string, { group: string; version: string; plural: string }> = {
  Ingress: { group: "networking.k8s.io", version: "v1", plural: "ingresses" },
  HTTPProxy: { group: "projectcontour.io", version: "v1", plural: "httpproxies" },
  GatewayClass: { group: "gateway.networking.k8s.io", version: "v1", plural: "gatewayclasses" },
  Gateway: { group: "gateway.networking.k8s.io", version: "v1", plural: "gateways" },
  HTTPRoute: { group: "gateway.networking.k8s.io", version: "v1", plural: "httproutes" },
  GRPCRoute: { group: "gateway.networking.k8s.io", version: "v1", plural: "grpcroutes" },
  TLSRoute: { group: "gateway.networking.k8s.io", version: "v1alpha2", plural: "tlsroutes" },
  TCPRoute: { group: "gateway.networking.k8s.io", version: "v1alpha2", plural: "tcproutes" },
  BackendTLSPolicy: { group: "gateway.networking.k8s.io", version: "v1alpha3", plural: "backendtlspolicies" },
};

/** What lookupFromCache reads: the object lists, and lookups by name where the cache has them. */
export type StatusObjectSource = Pick<DagInput, "ingresses" | "httpProxies" | "ingress" | "httpProxy" | "gatewayApi">;

/**
 * An ObjectLookup over the object cache's Ingresses, HTTPProxies, GatewayClasses, Gateways, routes
 * and BackendTLSPolicies: by name where the cache can, else from an index made at the first lookup
 * that needs it (most builds write few statuses or none, so the lists are not walked every build).
 */
export function lookupFromCache(cache: StatusObjectSource): ObjectLookup {
  let index: Map<string, KubeObject> | undefined;
  const indexed = (): Map<string, KubeObject> => {
    const api = cache.gatewayApi?.();
    const gatewayApi = api ? [api.gatewayClasses, api.gateways, api.httpRoutes, api.grpcRoutes, api.tlsRoutes, api.tcpRoutes, api.backendTLSPolicies].flat() : [];
    const objects = [...(cache.ingress ? [] : cache.ingresses()), ...(cache.httpProxy ? [] : cache.httpProxies()), ...(gatewayApi as unknown as KubeObject[])];
    return new Map(objects.map((object) => [refKey({ kind: object.kind, namespace: object.metadata.namespace ?? "", name: object.metadata.name }), object]));
  };
  return (ref) => {
    const byName = ref.kind === "Ingress" ? cache.ingress : ref.kind === "HTTPProxy" ? cache.httpProxy : undefined;
    if (byName) return byName.call(cache, ref.namespace, ref.name);
    index ??= indexed();
    return index.get(refKey(ref));
  };
}

export function createStatusWriter(options: StatusWriterOptions): StatusWriter {
  const logger = options.logger ?? consola.withTag("status");
  const concurrency = options.concurrency ?? 20;
  const maxAttempts = options.maxAttempts ?? 5;
  const now = options.now ?? (() => new Date());
  if (!options.client && !options.kubeConfig) throw new Error("status writer: kubeConfig or client is required");
  const client = options.client ?? createKubeClient(options.kubeConfig!, { maxSockets: concurrency });
  const queue = new Map<string, Pending>();
  const inFlight = new Set<string>();
  /** What this writer last wrote per object, so a cache that has not seen the write yet does not cause another. */
  const written = new Map<string, Written>();
  const stats: StatusWriterStats = { written: 0, skipped: 0, unchanged: 0, conflicts: 0, failed: 0, dropped: 0 };
  /** Per object, the status found on it or written at the last look: the same object again needs no look. */
  const settled = new Map<string, ObjectStatus>();
  // Most objects get one of a few desired statuses (every valid Ingress the same address): one copy
  // of each text in `written`, not one per object.
  const desiredTexts = createStringPool(1000);
  let workers = 0;
  /** Set after a PATCH of status was forbidden: write with GET and PUT from then on. */
  let updateOnly = false;
  let last: { statuses: () => ObjectStatus[]; objects: ObjectLookup } | undefined;
  let stopped = false;
  let idleWaiters: (() => void)[] = [];

  function loadBalancer(): LoadBalancerAddress[] | undefined {
    const current = typeof options.loadBalancer === "function" ? options.loadBalancer() : options.loadBalancer;
    return current === undefined ? undefined : Array.isArray(current) ? current : [current];
  }

  function update(given: ObjectStatus[] | (() => ObjectStatus[]), objects: ObjectLookup, changed?: ReadonlyMap<string, ObjectStatus | undefined>): void {
    const statuses = typeof given === "function" ? given : () => given;
    const incremental = changed !== undefined && last !== undefined;
    last = { statuses, objects };
    if (stopped || !options.isLeader()) return;
    if (incremental) {
      for (const [key, status] of changed) {
        if (status && resources[status.ref.kind]) consider(key, status, objects);
        else {
          queue.delete(key);
          written.delete(key);
          settled.delete(key);
        }
      }
      pump();
      return;
    }
    const keys = new Set<string>();
    for (const status of statuses()) {
      if (!resources[status.ref.kind]) continue;
      const key = refKey(status.ref);
      keys.add(key);
      consider(key, status, objects);
    }
    for (const key of written.keys()) if (!keys.has(key)) written.delete(key);
    for (const key of settled.keys()) if (!keys.has(key)) settled.delete(key);
    pump();
  }

  /** Queues a status unless it is the very one found or written at the last look. */
  function consider(key: string, status: ObjectStatus, objects: ObjectLookup): void {
    if (settled.get(key) === status) {
      stats.unchanged++;
      queue.delete(key);
      return;
    }
    queue.set(key, { status, objects });
  }

  function pump(): void {
    while (workers < concurrency && next() !== undefined) {
      workers++;
      void work().finally(() => {
        workers--;
        if (workers === 0 && (queue.size === 0 || stopped)) {
          const waiters = idleWaiters;
          idleWaiters = [];
          for (const resolve of waiters) resolve();
        }
      });
    }
  }

  function next(): [string, Pending] | undefined {
    for (const entry of queue) if (!inFlight.has(entry[0])) return entry;
    return undefined;
  }

  async function work(): Promise<void> {
    for (let entry = next(); entry; entry = next()) {
      if (stopped || !options.isLeader()) {
        stats.dropped += queue.size;
        queue.clear();
        return;
      }
      const [key, pending] = entry;
      queue.delete(key);
      inFlight.add(key);
      try {
        await write(key, pending);
      } finally {
        inFlight.delete(key);
      }
    }
  }

  async function write(key: string, pending: Pending): Promise<void> {
    const { status } = pending;
    // Only an outcome that leaves the object with this status settles it again.
    settled.delete(key);
    const resource = resources[status.ref.kind]!;
    let object = pending.objects(status.ref);
    // At the version the object was read at: TLSRoute is v1alpha2 in some clusters, v1 in others.
    const served = object?.apiVersion?.startsWith(`${resource.group}/`) ? object.apiVersion.slice(resource.group.length + 1) : undefined;
    const path = objectPath(served ? { ...resource, version: served } : resource, status.ref.namespace, status.ref.name);
    /** Whether `object` was just read from the server (an update must carry all of it, not the slimmed cache copy). */
    let fresh = false;
    for (let attempt = 1; object; attempt++) {
      if (updateOnly && !fresh) {
        try {
          object = await client.request<KubeObject>("GET", path);
          object.kind = status.ref.kind;
          fresh = true;
        } catch (readError) {
          if (readError instanceof KubeApiError && readError.statusCode === 404) {
            stats.skipped++;
            return;
          }
          if (attempt >= maxAttempts) {
            stats.failed++;
            logger.warn(`status of ${key} not written: ${(readError as Error).message}`);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt)));
          continue;
        }
      }
      const desired = desiredStatus(object, status, { loadBalancer: loadBalancer(), now: now() });
      if (!desired || statusEqual(object.status, desired)) {
        stats.skipped++;
        settled.set(key, status);
        return;
      }
      const desiredKey = desiredTexts.string(JSON.stringify(desired, (k, v) => (k === "lastTransitionTime" ? undefined : v)));
      const memo = written.get(key);
      const version = object.metadata.resourceVersion;
      if (memo && memo.desired === desiredKey && (version === memo.before || version === memo.after)) {
        stats.skipped++;
        settled.set(key, status);
        return;
      }
      if (attempt > 1 && !options.isLeader()) {
        stats.dropped++;
        return;
      }
      const patching = !updateOnly;
      try {
        const patch = statusPatch(object.status, desired);
        const result = patching
          ? await client.request<KubeObject>("PATCH", `${path}/status`, { body: { metadata: { resourceVersion: version }, status: patch }, contentType: "application/merge-patch+json" })
          : await client.request<KubeObject>("PUT", `${path}/status`, { body: { ...object, status: patchedStatus(object.status, patch) } });
        written.set(key, { desired: desiredKey, before: version, after: result?.metadata?.resourceVersion });
        settled.set(key, status);
        stats.written++;
        return;
      } catch (error) {
        const failure = error instanceof KubeApiError ? error : new KubeApiError(String(error), 0);
        if (failure.statusCode === 404) {
          stats.skipped++;
          return;
        }
        if (failure.statusCode === 403 && patching) {
          if (!updateOnly) logger.info(`status: ${failure.message}; writing status with update (PUT) instead, as Contour does`);
          updateOnly = true;
          fresh = false;
          continue;
        }
        if (attempt >= maxAttempts) {
          stats.failed++;
          logger.warn(`status of ${key} not written after ${attempt} attempts: ${failure.message}`);
          return;
        }
        if (failure.statusCode === 409) stats.conflicts++;
        else await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** attempt + (failure.retryAfterSeconds ?? 0) * 1000)));
        // Recompute against what the server holds now.
        try {
          object = await client.request<KubeObject>("GET", path);
          object.kind = status.ref.kind;
          fresh = true;
        } catch (readError) {
          if (readError instanceof KubeApiError && readError.statusCode === 404) object = undefined;
          else if (attempt + 1 >= maxAttempts) {
            stats.failed++;
            logger.warn(`status of ${key} not written: ${(readError as Error).message}`);
            return;
          }
        }
      }
    }
    stats.skipped++;
  }

  return {
    update,
    resync(objects) {
      settled.clear();
      if (last) update(last.statuses, objects ?? last.objects);
    },
    idle() {
      if (workers === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    stats: () => ({ ...stats }),
    async stop() {
      stopped = true;
      stats.dropped += queue.size;
      queue.clear();
      if (workers > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      if (!options.client) client.close();
    },
  };
}
