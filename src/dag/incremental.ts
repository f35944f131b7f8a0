// The incremental DAG build: the same DAG as buildDag (builder.ts, the reference; the property test
// in test/incremental-build.property.test.ts holds the two equal), recomputing after a change only
// the units whose recorded reads it touches (incremental-parts.ts). Each group of Ingresses sharing
// hosts is a unit; HTTPProxy and the Gateway API are one unit, "the rest". Unchanged units keep
// their virtual hosts, routes, clusters, secrets and statuses as the same objects, which later
// stages remember by identity. Each unit runs the per-host passes (shadowed routes, global headers,
// fallback certificate, listeners, reachability) on its own; the DAG is assembled from what the
// units serve (incremental-state.ts), never walking the unchanged ones again.
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
import { buildDag } from "./builder.ts";
import { createDagCache, type DagCache } from "./cache.ts";
import { buildPart, groupByHost, ingressHosts, readKeyOf, type Part } from "./incremental-parts.ts";
import { addPart, assemble, beginBuild, emptyState, endBulk, removePart, type State } from "./incremental-state.ts";
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
    // Clusters made by earlier builds are kept by name, so a full build keeps their objects too.
    const known = new Map(state?.clusters.values);
    const effective = { ...options, cache: options.cache ?? (ownCache ??= createDagCache()), known };
    state = undefined;
    const next = emptyState({ options, effective, rest: buildPart(input, { options: effective }) });
    const parts = [next.rest];
    const hosts = new Map<KubeObject, string[]>();
    const hostsOf = (ingress: KubeObject) => hosts.get(ingress) ?? hosts.set(ingress, ingressHosts(ingress)).get(ingress)!;
    for (const group of groupByHost(input.ingresses(), hostsOf)) parts.push(buildPart(input, { options: effective, ingresses: group }));
    for (const part of parts) {
      if (!addPart(next, part)) return reference(input, options, "an Ingress and an HTTPProxy or Gateway API route make the same virtual host");
    }
    endBulk(next);
    // From now on only what is served is known by name.
    next.effective.known = new Map(next.clusters.values);
    entangled = false;
    state = next;
    last = { mode: "full", reason, rebuilt: parts.length };
    return assemble(next);
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
    beginBuild(current);
    for (const part of affected) removePart(current, part);
    const groups: Array<KubeObject[] | undefined> = groupByHost(objects, (ingress) => hosts.get(ingress)!);
    if (affected.has(current.rest)) {
      groups.unshift(undefined);
      current.bundleVersion = bundleVersion;
    }
    for (const group of groups) {
      const part = buildPart(input, { options: current.effective, ingresses: group });
      if (group === undefined) current.rest = part;
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
