// The incremental DAG build: the same DAG as buildDag (builder.ts, the reference; the property test
// in test/incremental-build.property.test.ts holds the two equal), recomputing after a change only
// the units whose recorded reads or links it touches (incremental-parts.ts). The units: each group
// of Ingresses sharing hosts; each group of HTTPProxies tied by includes and fqdns (a root and its
// include tree); the Gateway API, as one; the TLSCertificateDelegations' own conditions. Unchanged
// units keep their virtual hosts, routes, clusters, secrets and statuses as the same objects, which
// later stages remember by identity. Each unit runs the per-host passes (shadowed routes, global
// headers, fallback certificate, listeners, reachability) on its own; the DAG is assembled from
// what the units serve (incremental-state.ts), never walking the unchanged ones again.
//
// What a change rebuilds: an Ingress or HTTPProxy, its unit and every unit linked to its new
// version (a shared host or fqdn, an include either way); a Service or Secret, the units that
// looked it up, found or not; a TLSCertificateDelegation, the units that consulted delegations; a
// Gateway API object or a Namespace (or the CRD bundle version), the Gateway API unit; an
// EndpointSlice, nothing. A full build (every unit anew) happens when:
// - there is no earlier build, or the last one failed;
// - the changes are unknown, or name a kind not listed above;
// - the DagOptions object changed (ContourConfiguration, flags: reconfigure() makes a new one);
// - the clock left the interval in which every certificate read keeps its verdict (expiry).
// When two units make the same virtual host (an Ingress and an HTTPProxy on one host, a Gateway
// route on `*` and an Ingress's default backend), they are not independent: the reference build
// runs instead, until a change to an Ingress, HTTPProxy or Gateway API object may have ended that.
import { buildDag, defaultProcessors } from "./builder.ts";
import { createDagCache, type DagCache } from "./cache.ts";
import { CopyOnWriteMap } from "./cow-map.ts";
import { buildPart, eachOf, groupByLink, linksOf, objectKey, processorsCovered, readKeyOf, type Part, type UnitKind } from "./incremental-parts.ts";
import { addPart, assemble, beginBuild, emptyState, endBulk, readersOf, removePart, type State } from "./incremental-state.ts";
import type { DagInput, DagOptions } from "./processor.ts";
import type { Dag } from "./types.ts";
import type { KubeObject } from "../sources/types.ts";

/** How the last build was made. */
export interface IncrementalBuildReport {
  mode: "full" | "incremental" | "reference";
  /** Why not incremental. */
  reason?: string;
  /** Units built anew. */
  rebuilt: number;
}

/**
 * What an incremental build changed against the DAG before it, by name: every node (served plain
 * virtual host, served TLS virtual host, cluster, secret, status) that is new, a different object or
 * gone; the fallback chain when a unit with one came or went. The listeners are new objects on every
 * build; the Gateway API unit's own listeners are the same (a build that rebuilds it has no change).
 */
export interface DagChange {
  previous: Dag;
  virtualHosts: Set<string>;
  secureVirtualHosts: Set<string>;
  clusters: Set<string>;
  secrets: Set<string>;
  statuses: Set<string>;
  fallback: boolean;
}

export interface IncrementalDagBuilder {
  /**
   * The DAG of `input`. `changes`: the `Kind namespace/name` keys of the objects changed since the
   * previous call (ObjectCache.takeChanges); undefined when unknown, which builds everything.
   */
  build(input: DagInput, options: DagOptions, changes?: ReadonlySet<string>): Dag;
  readonly last: IncrementalBuildReport | undefined;
  /** How `dag` differs from the DAG built before it, when `dag` is the last one built and was built incrementally. */
  changeOf(dag: Dag): DagChange | undefined;
  /** Forget everything: the next build is full. */
  reset(): void;
}

const entangledReason = "two units make the same virtual host (an Ingress, an HTTPProxy or a Gateway API route on one host)";

export function createIncrementalDagBuilder(): IncrementalDagBuilder {
  let state: State | undefined;
  let last: IncrementalBuildReport | undefined;
  // Set while two units share a virtual host: builds are the reference's.
  let entangled = false;
  let ownCache: DagCache | undefined;
  let lastDag: Dag | undefined;
  let lastChange: DagChange | undefined;

  function reference(input: DagInput, options: DagOptions, reason: string): Dag {
    state = undefined;
    entangled = true;
    last = { mode: "reference", reason, rebuilt: 0 };
    return buildDag(input, options);
  }

  function full(input: DagInput, options: DagOptions, reason: string): Dag {
    // Clusters made by earlier builds are kept by name, so a full build keeps their objects too.
    const known = new Map(state?.clusters.values);
    const effective = { ...options, cache: options.cache ?? (ownCache ??= createDagCache()), known };
    state = undefined;
    // The clock read once for every unit, as the reference's one build context reads it (not once
    // per unit: thousands of them); later builds read it anew through `effective`.
    const at = options.now();
    const building = { ...effective, now: () => at };
    const gateway = buildPart(input, { options: building, kind: "gateway" });
    const delegations = buildPart(input, { options: building, kind: "delegations" });
    const next = emptyState({ options, effective, gateway, delegations });
    const parts = [gateway, delegations];
    const links = new Map<KubeObject, string[]>();
    const linked = (object: KubeObject) => links.get(object) ?? links.set(object, linksOf(object)).get(object)!;
    for (const group of groupByLink(input.ingresses(), linked)) parts.push(buildPart(input, { options: building, kind: "ingress", objects: group, linksOf: linked }));
    for (const group of groupByLink(input.httpProxies(), linked)) parts.push(buildPart(input, { options: building, kind: "httpproxy", objects: group, linksOf: linked }));
    for (const part of parts) {
      if (!addPart(next, part)) return reference(input, options, entangledReason);
    }
    endBulk(next);
    // From now on only what is served is known by name.
    // A view: the served clusters are never changed once a DAG has them (incremental-state.ts).
    next.effective.known = CopyOnWriteMap.over(next.clusters.values);
    entangled = false;
    state = next;
    last = { mode: "full", reason, rebuilt: parts.length };
    return assemble(next);
  }

  /** Why `changes` cannot be followed incrementally from `current`, or undefined. */
  function whyFull(current: State | undefined, options: DagOptions, changes: ReadonlySet<string> | undefined): string | undefined {
    if (!current) return entangled ? "two units shared a virtual host" : "no earlier build";
    if (changes === undefined) return "changes unknown";
    if (current.options !== options) return "options changed";
    for (const key of changes) if (!/^(Ingress|HTTPProxy|EndpointSlice) /.test(key) && readKeyOf(key) === undefined) return `a ${key.slice(0, key.indexOf(" "))} changed`;
    const now = options.now().getTime();
    if (now < current.validFrom || now >= current.validUntil) return "a certificate's validity changed with the clock";
    return undefined;
  }

  function incremental(current: State, input: DagInput, changes: ReadonlySet<string>): Dag {
    const affected = new Set<Part>();
    const keys = new Set<string>();
    for (const key of changes) {
      if (key.startsWith("Ingress ") || key.startsWith("HTTPProxy ")) {
        keys.add(key);
        const part = current.partOf.get(key);
        if (part) affected.add(part);
        continue;
      }
      const read = readKeyOf(key);
      if (read === undefined) continue;
      for (const part of readersOf(current.readers.get(read))) affected.add(part);
    }
    const bundleVersion = current.options.gateway?.bundleVersion?.();
    if (bundleVersion !== current.bundleVersion) affected.add(current.gateway);
    for (const part of affected) for (const key of eachOf(part.objectKeys)) keys.add(key);
    // The current objects of those parts and of every part linked to them.
    const find = objectLookup(input);
    const objects: KubeObject[] = [];
    const links = new Map<KubeObject, string[]>();
    const queue = [...keys];
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
      const object = find(key);
      if (!object) continue;
      objects.push(object);
      const linked = linksOf(object);
      links.set(object, linked);
      for (const link of linked) {
        const part = current.partByLink.get(link);
        if (!part || affected.has(part)) continue;
        affected.add(part);
        for (const other of eachOf(part.objectKeys)) {
          if (keys.has(other)) continue;
          keys.add(other);
          queue.push(other);
        }
      }
    }
    const before: ServedMaps = { plain: current.servedPlain, secure: current.servedSecure, clusters: current.clusters.values, secrets: current.secrets.values, statuses: current.statuses };
    beginBuild(current);
    for (const part of affected) removePart(current, part);
    const units: Array<{ kind: UnitKind; objects?: KubeObject[] }> = [];
    if (affected.has(current.gateway)) units.push({ kind: "gateway" });
    if (affected.has(current.delegations)) units.push({ kind: "delegations" });
    const linked = (object: KubeObject) => links.get(object)!;
    for (const group of groupByLink(objects.filter((o) => o.kind === "Ingress"), linked)) units.push({ kind: "ingress", objects: group });
    for (const group of groupByLink(objects.filter((o) => o.kind === "HTTPProxy"), linked)) units.push({ kind: "httpproxy", objects: group });
    current.bundleVersion = bundleVersion;
    // The Gateway API unit's own listeners come whole with it: a build that rebuilds it reports no change.
    const gatewayRebuilt = affected.has(current.gateway);
    const added: Part[] = [];
    for (const unit of units) {
      const part = buildPart(input, { options: current.effective, ...unit, linksOf: linked });
      if (unit.kind === "gateway") current.gateway = part;
      if (unit.kind === "delegations") current.delegations = part;
      if (!addPart(current, part)) return reference(input, current.options, entangledReason);
      added.push(part);
    }
    last = { mode: "incremental", rebuilt: units.length };
    const dag = assemble(current);
    const previous = lastDag;
    if (previous && !gatewayRebuilt) lastChange = changeBetween(previous, before, current, [...affected, ...added]);
    // Clusters no unit serves any more are forgotten now and then, so edits do not pile them up.
    if (current.effective.known.size > 2 * dag.clusters.size + 1024) current.effective.known = CopyOnWriteMap.over(dag.clusters);
    return dag;
  }

  function remembered(dag: Dag): Dag {
    lastDag = dag;
    return dag;
  }

  return {
    build(input, options, changes) {
      lastChange = undefined;
      return remembered(buildOnce(input, options, changes));
    },
    changeOf: (dag) => (lastChange && dag === lastDag ? lastChange : undefined),
    get last() {
      return last;
    },
    reset() {
      state = undefined;
      entangled = false;
      lastDag = undefined;
    },
  };

  function buildOnce(input: DagInput, options: DagOptions, changes: ReadonlySet<string> | undefined): Dag {
    if (!defaultProcessors.every((processor) => processorsCovered.has(processor))) return reference(input, options, "a processor has no unit");
    const reason = whyFull(state, options, changes);
    try {
      if (reason === undefined) return incremental(state!, input, changes!);
      if (entangled && changes !== undefined && [...changes].every((key) => /^(Service|Secret|EndpointSlice|TLSCertificateDelegation) /.test(key))) {
        return reference(input, options, entangledReason);
      }
      return full(input, options, reason);
    } catch (error) {
      state = undefined;
      lastDag = undefined;
      throw error;
    }
  }
}

/** The maps of a state as one build left them. */
interface ServedMaps {
  plain: ReadonlyMap<string, unknown>;
  secure: ReadonlyMap<string, unknown>;
  clusters: ReadonlyMap<string, unknown>;
  secrets: ReadonlyMap<string, unknown>;
  statuses: ReadonlyMap<string, unknown>;
}

/** The names the parts taken out and put in touched whose node is not the one `before` had. */
function changeBetween(previous: Dag, before: ServedMaps, after: State, parts: Part[]): DagChange {
  const change: DagChange = { previous, virtualHosts: new Set(), secureVirtualHosts: new Set(), clusters: new Set(), secrets: new Set(), statuses: new Set(), fallback: false };
  const note = (names: Set<string>, name: string, was: ReadonlyMap<string, unknown>, is: ReadonlyMap<string, unknown>) => {
    if (was.get(name) !== is.get(name)) names.add(name);
  };
  for (const part of parts) {
    for (const vhost of eachOf(part.plain)) note(change.virtualHosts, vhost.name, before.plain, after.servedPlain);
    for (const chain of eachOf(part.filterChains)) note(change.secureVirtualHosts, chain.virtualHost.name, before.secure, after.servedSecure);
    for (const cluster of eachOf(part.clusters)) note(change.clusters, cluster.name, before.clusters, after.clusters.values);
    for (const secret of eachOf(part.secrets)) note(change.secrets, secret.name, before.secrets, after.secrets.values);
    for (const key of eachOf(part.statusKeys)) note(change.statuses, key, before.statuses, after.statuses);
    if (part.fallback) change.fallback = true;
  }
  return change;
}

/** Finds an Ingress or HTTPProxy by its `Kind namespace/name` key: by name where the input can, else from one scan. */
function objectLookup(input: DagInput): (key: string) => KubeObject | undefined {
  let scanned: Map<string, KubeObject> | undefined;
  return (key) => {
    const space = key.indexOf(" ");
    const name = key.slice(space + 1);
    const slash = name.indexOf("/");
    const kind = key.slice(0, space);
    const byName = kind === "Ingress" ? input.ingress : input.httpProxy;
    if (byName) return byName.call(input, name.slice(0, slash), name.slice(slash + 1));
    scanned ??= new Map([...input.ingresses(), ...input.httpProxies()].map((object) => [objectKey(object), object]));
    return scanned.get(key);
  };
}
