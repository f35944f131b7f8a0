// The incremental DAG build: the same DAG as buildDag (builder.ts, the reference; the property test
// in incremental.property.test.ts holds the two equal), recomputing after a change only the units
// whose recorded reads it touches (incremental-parts.ts). Each group of Ingresses sharing hosts is
// a unit; HTTPProxy and the Gateway API are one unit, "the rest". Unchanged units keep their
// virtual hosts, routes, clusters, secrets and statuses as the same objects, which later stages
// remember by identity. Then the listeners and the prune run over the whole DAG.
//
// Every change is followed by its reads: an Ingress (its unit and every unit sharing one of its
// hosts), a Service or Secret (the units that looked it up, found or not), a TLSCertificateDelegation
// (the units that consulted delegations), an HTTPProxy, a Gateway API object or a Namespace (the
// rest). An EndpointSlice changes no DAG. A full build (every unit anew) happens when:
// - there is no earlier build, or the last one failed;
// - the changes are unknown, or name a kind not listed above;
// - the DagOptions object changed (ContourConfiguration, flags: reconfigure() makes a new one);
// - the clock left the interval in which every certificate read keeps its verdict (expiry).
// When an Ingress and the rest make the same virtual host (one host served by both, or `*`), the
// units are not independent: the reference build runs instead, until a change to an Ingress or
// the rest may have ended that.
import { buildDag, prune } from "./builder.ts";
import { createDagCache, type DagCache } from "./cache.ts";
import { buildPart, groupByHost, ingressHosts, readKeyOf, shareClusters, type Part } from "./incremental-parts.ts";
import { buildListeners } from "./listeners.ts";
import type { DagInput, DagOptions } from "./processor.ts";
import { StatusRecorder, type ObjectStatus } from "./status.ts";
import type { Cluster, Dag, SecureVirtualHost, VirtualHost } from "./types.ts";
import type { KubeObject } from "../sources/types.ts";

/** How the last build was made. */
export interface IncrementalBuildReport {
  mode: "full" | "incremental" | "reference";
  /** Why not incremental. */
  reason?: string;
  /** Units built anew. */
  rebuilt: number;
}

export interface IncrementalDagBuilder {
  /**
   * The DAG of `input`. `changes`: the `Kind namespace/name` keys of the objects changed since the
   * previous call (ObjectCache.takeChanges); undefined when unknown, which builds everything.
   */
  build(input: DagInput, options: DagOptions, changes?: ReadonlySet<string>): Dag;
  readonly last: IncrementalBuildReport | undefined;
  /** Forget everything: the next build is full. */
  reset(): void;
}

interface State {
  options: DagOptions;
  effective: DagOptions & { cache: DagCache };
  bundleVersion: string | undefined;
  rest: Part;
  partOf: Map<string, Part>;
  partByHost: Map<string, Part>;
  readers: Map<string, Set<Part>>;
  virtualHosts: Map<string, VirtualHost>;
  secureVirtualHosts: Map<string, SecureVirtualHost>;
  statuses: Map<string, ObjectStatus>;
  clusters: Map<string, Cluster>;
  validFrom: number;
  validUntil: number;
}

export function createIncrementalDagBuilder(): IncrementalDagBuilder {
  let state: State | undefined;
  let last: IncrementalBuildReport | undefined;
  // Set while an Ingress and the rest share a virtual host: builds are the reference's.
  let entangled = false;
  let ownCache: DagCache | undefined;

  function reference(input: DagInput, options: DagOptions, reason: string): Dag {
    state = undefined;
    entangled = true;
    last = { mode: "reference", reason, rebuilt: 0 };
    return buildDag(input, options);
  }

  function full(input: DagInput, options: DagOptions, reason: string): Dag {
    const effective = { ...options, cache: options.cache ?? (ownCache ??= createDagCache()) };
    const next: State = {
      options,
      effective,
      bundleVersion: options.gateway?.bundleVersion?.(),
      rest: buildPart(input, effective),
      partOf: new Map(),
      partByHost: new Map(),
      readers: new Map(),
      virtualHosts: new Map(),
      secureVirtualHosts: new Map(),
      statuses: new Map(),
      clusters: state?.clusters ?? new Map(),
      validFrom: -Infinity,
      validUntil: Infinity,
    };
    state = undefined;
    const parts = [next.rest];
    const hosts = new Map<KubeObject, string[]>();
    const hostsOf = (ingress: KubeObject) => hosts.get(ingress) ?? hosts.set(ingress, ingressHosts(ingress)).get(ingress)!;
    for (const group of groupByHost(input.ingresses(), hostsOf)) parts.push(buildPart(input, effective, group));
    for (const part of parts) {
      shareClusters(part, next.clusters);
      if (!addPart(next, part)) return reference(input, options, "an Ingress and an HTTPProxy or Gateway API route make the same virtual host");
    }
    entangled = false;
    state = next;
    last = { mode: "full", reason, rebuilt: parts.length };
    const dag = assemble(next);
    next.clusters = new Map(dag.clusters);
    return dag;
  }

  /** Why `changes` cannot be followed incrementally from `current`, or undefined. */
  function whyFull(current: State | undefined, options: DagOptions, changes: ReadonlySet<string> | undefined): string | undefined {
    if (!current) return entangled ? "an Ingress and the rest shared a virtual host" : "no earlier build";
    if (changes === undefined) return "changes unknown";
    if (current.options !== options) return "options changed";
    for (const key of changes) if (!key.startsWith("EndpointSlice ") && readKeyOf(key) === undefined) return `a ${key.slice(0, key.indexOf(" "))} changed`;
    const now = options.now().getTime();
    if (now < current.validFrom || now >= current.validUntil) return "a certificate's validity changed with the clock";
    return undefined;
  }

  function incremental(current: State, input: DagInput, changes: ReadonlySet<string>): Dag {
    const affected = new Set<Part>();
    const keys = new Set<string>();
    for (const key of changes) {
      if (key.startsWith("Ingress ")) {
        keys.add(key);
        const part = current.partOf.get(key);
        if (part) affected.add(part);
        continue;
      }
      const read = readKeyOf(key);
      if (read === undefined) continue;
      for (const part of current.readers.get(read) ?? []) affected.add(part);
    }
    const bundleVersion = current.options.gateway?.bundleVersion?.();
    if (bundleVersion !== current.bundleVersion) affected.add(current.rest);
    for (const part of affected) for (const key of part.ingressKeys) keys.add(key);
    // The current Ingresses of those parts and of every part sharing a host with them.
    const find = ingressLookup(input);
    const objects: KubeObject[] = [];
    const hosts = new Map<KubeObject, string[]>();
    const queue = [...keys];
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
      const ingress = find(key);
      if (!ingress) continue;
      objects.push(ingress);
      const named = ingressHosts(ingress);
      hosts.set(ingress, named);
      for (const host of named) {
        const part = current.partByHost.get(host);
        if (!part || affected.has(part)) continue;
        affected.add(part);
        for (const other of part.ingressKeys) {
          if (keys.has(other)) continue;
          keys.add(other);
          queue.push(other);
        }
      }
    }
    for (const part of affected) removePart(current, part);
    const groups: Array<KubeObject[] | undefined> = groupByHost(objects, (ingress) => hosts.get(ingress)!);
    if (affected.has(current.rest)) {
      groups.unshift(undefined);
      current.bundleVersion = bundleVersion;
    }
    for (const group of groups) {
      const part = buildPart(input, current.effective, group);
      if (group === undefined) current.rest = part;
      shareClusters(part, current.clusters);
      if (!addPart(current, part)) return reference(input, current.options, "an Ingress and an HTTPProxy or Gateway API route make the same virtual host");
    }
    last = { mode: "incremental", rebuilt: groups.length };
    return assemble(current);
  }

  return {
    build(input, options, changes) {
      const reason = whyFull(state, options, changes);
      try {
        if (reason === undefined) return incremental(state!, input, changes!);
        if (entangled && changes !== undefined && [...changes].every((key) => /^(Service|Secret|EndpointSlice|TLSCertificateDelegation) /.test(key))) {
          return reference(input, options, "an Ingress and the rest share a virtual host");
        }
        return full(input, options, reason);
      } catch (error) {
        state = undefined;
        throw error;
      }
    },
    get last() {
      return last;
    },
    reset() {
      state = undefined;
      entangled = false;
    },
  };
}

/** Finds an Ingress by its `Ingress namespace/name` key: by name where the input can, else from one scan. */
function ingressLookup(input: DagInput): (key: string) => KubeObject | undefined {
  let scanned: Map<string, KubeObject> | undefined;
  return (key) => {
    const name = key.slice("Ingress ".length);
    const slash = name.indexOf("/");
    if (input.ingress) return input.ingress(name.slice(0, slash), name.slice(slash + 1));
    scanned ??= new Map(input.ingresses().map((i) => [`${i.metadata.namespace ?? ""}/${i.metadata.name}`, i]));
    return scanned.get(name);
  };
}

/** Adds a part's contributions to the state; false when it makes a virtual host or status another part made. */
function addPart(state: State, part: Part): boolean {
  for (const vhost of part.virtualHosts) {
    if (state.virtualHosts.has(vhost.name)) return false;
    state.virtualHosts.set(vhost.name, vhost);
  }
  for (const vhost of part.secureVirtualHosts) {
    if (state.secureVirtualHosts.has(vhost.name)) return false;
    state.secureVirtualHosts.set(vhost.name, vhost);
  }
  for (const [key, status] of part.statuses) {
    if (state.statuses.has(key)) return false;
    state.statuses.set(key, status);
  }
  for (const key of part.ingressKeys) state.partOf.set(key, part);
  for (const host of part.hosts) state.partByHost.set(host, part);
  for (const key of part.reads) {
    const readers = state.readers.get(key);
    if (readers) readers.add(part);
    else state.readers.set(key, new Set([part]));
  }
  state.validFrom = Math.max(state.validFrom, part.validFrom);
  state.validUntil = Math.min(state.validUntil, part.validUntil);
  return true;
}

function removePart(state: State, part: Part): void {
  for (const vhost of part.virtualHosts) if (state.virtualHosts.get(vhost.name) === vhost) state.virtualHosts.delete(vhost.name);
  for (const vhost of part.secureVirtualHosts) if (state.secureVirtualHosts.get(vhost.name) === vhost) state.secureVirtualHosts.delete(vhost.name);
  for (const [key, status] of part.statuses) if (state.statuses.get(key) === status) state.statuses.delete(key);
  for (const key of part.ingressKeys) if (state.partOf.get(key) === part) state.partOf.delete(key);
  for (const host of part.hosts) if (state.partByHost.get(host) === part) state.partByHost.delete(host);
  for (const key of part.reads) {
    const readers = state.readers.get(key);
    readers?.delete(part);
    if (readers?.size === 0) state.readers.delete(key);
  }
}

/** The DAG of the state's parts: their virtual hosts and statuses (shared, never changed), then the listeners and the prune. */
function assemble(state: State): Dag {
  const dag: Dag = {
    virtualHosts: new Map(state.virtualHosts),
    secureVirtualHosts: new Map(state.secureVirtualHosts),
    clusters: new Map(),
    secrets: new Map(),
    listeners: [],
    status: new StatusRecorder(state.statuses),
  };
  if (state.rest.fallbackSecret) dag.fallbackSecret = state.rest.fallbackSecret;
  dag.listeners = [...buildListeners(dag, state.effective.listeners, dag.status), ...state.rest.listeners];
  prune(dag);
  return dag;
}
