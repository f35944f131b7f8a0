// The snapshot store's delta path against its whole-set path: random sequences of changes (adds,
// replacements and removals of clusters, load assignments, listeners, secrets, route configurations
// and their virtual hosts, endpoint updates between publishes, removals that leave references
// dangling) published with an exact ResourceDelta into one store and without one into another leave
// both stores the same after every step: every type's resources (names, versions, bytes), type
// versions, changedSince names, the VHDS resources, and the same SnapshotInconsistentError or none.
import { describe, expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { createSnapshotStore, SnapshotInconsistentError, type CachedResource, type SnapshotStore } from "./snapshot.ts";
import { deltaProblems, type ResourceDelta } from "./resource-delta.ts";
import { resourceTypes, type ResourceSet } from "./types.ts";
import { encodeStrict } from "./registry.ts";
import { listener, loadAssignment } from "../../test/helpers/xds-resources.ts";

type Json = Record<string, unknown>;
type Kind = "clusters" | "endpoints" | "listeners" | "routes" | "secrets";
const kinds: readonly Kind[] = ["clusters", "endpoints", "listeners", "routes", "secrets"];

const ads = { ads: {}, resource_api_version: "V3" };
const routeNames = ["r0", "r1", "https/r2"];
const hostNames = [...Array.from({ length: 40 }, (_, i) => `h${i}`), "bad/h"];

function cluster(i: number, variant: number, secret: number | undefined): Json {
  const tls = secret === undefined ? {} : {
    transport_socket: {
      name: "tls",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        common_tls_context: { tls_certificate_sds_secret_configs: [{ name: `s${secret}`, sds_config: ads }] },
      },
    },
  };
  return { name: `c${i}`, type: "EDS", eds_cluster_config: { eds_config: ads }, connect_timeout: `${variant + 1}s`, ...tls };
}

function host(name: string, clusterIndex: number, variant: number): Json {
  return { name, domains: [`${name.replace("/", "-")}.example.com`], routes: [{ match: { prefix: "/" }, route: { cluster: `c${clusterIndex}`, timeout: `${variant + 1}s` } }] };
}

const secret = (i: number, variant: number): Json => ({ name: `s${i}`, tls_certificate: { certificate_chain: { inline_string: `cert-${variant}` }, private_key: { inline_string: "key" } } });

type Op =
  | { op: "cluster"; i: number; variant: number; secret: number | undefined }
  | { op: "endpoint"; i: number; variant: number }
  | { op: "listener"; i: number; route: number; secret: number | undefined }
  | { op: "secret"; i: number; variant: number }
  | { op: "routeConfig"; i: number; hosts: number; variant: number }
  | { op: "host"; route: number; host: number; cluster: number; variant: number }
  | { op: "removeHost"; route: number; host: number }
  | { op: "remove"; kind: Kind; i: number }
  | { op: "updateEndpoints"; i: number; variant: number; remove: boolean }
  | { op: "chains"; i: number; count: number; changed: number; variant: number };

const index = fc.integer({ min: 0, max: 3 });
const variant = fc.integer({ min: 0, max: 2 });
const maybeSecret = fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("cluster" as const), i: index, variant, secret: maybeSecret }),
  fc.record({ op: fc.constant("endpoint" as const), i: index, variant }),
  fc.record({ op: fc.constant("listener" as const), i: fc.integer({ min: 0, max: 2 }), route: fc.integer({ min: 0, max: 2 }), secret: maybeSecret }),
  fc.record({ op: fc.constant("secret" as const), i: fc.integer({ min: 0, max: 2 }), variant }),
  fc.record({ op: fc.constant("routeConfig" as const), i: fc.integer({ min: 0, max: 2 }), hosts: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 30, max: 40 })), variant }),
  { arbitrary: fc.record({ op: fc.constant("host" as const), route: fc.integer({ min: 0, max: 2 }), host: fc.integer({ min: 0, max: hostNames.length - 1 }), cluster: index, variant }), weight: 6 },
  { arbitrary: fc.record({ op: fc.constant("removeHost" as const), route: fc.integer({ min: 0, max: 2 }), host: fc.integer({ min: 0, max: 40 }) }), weight: 3 },
  fc.record({ op: fc.constant("remove" as const), kind: fc.constantFrom(...kinds), i: index }),
  fc.record({ op: fc.constant("updateEndpoints" as const), i: index, variant, remove: fc.boolean() }),
  { arbitrary: fc.record({ op: fc.constant("chains" as const), i: fc.integer({ min: 0, max: 2 }), count: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 30, max: 36 })), changed: fc.integer({ min: 0, max: 36 }), variant }), weight: 3 },
);

/**
 * A listener of `count` SNI filter chains (named, each its own route config's), the chain `changed`
 * at `variant` and every other at 0: an unchanged chain is the same object from one version to the next.
 */
const chainObjects = new Map<string, Json>();
function chain(k: number, variant: number): Json {
  const key = `${k}/${variant}`;
  let known = chainObjects.get(key);
  if (!known) {
    const base = (listener(`x`, routeNames[k % 2]!, { secret: `s${k % 3}` }) as { filter_chains: Json[] }).filter_chains[0]!;
    known = { ...base, name: `fc${k}`, filter_chain_match: { server_names: [`h${k}-${variant}.example.com`] } };
    chainObjects.set(key, known);
  }
  return known;
}

/** The input as the build would hold it: per kind, per name, the object (unchanged ones kept by identity). */
type Model = Record<Kind, Map<string, Json>>;

const nameOf = (kind: Kind, i: number): string => (kind === "routes" ? routeNames[i % 3]! : kind === "listeners" ? `l${i}` : kind === "secrets" ? `s${i}` : `c${i}`);
const setOf = (model: Model): ResourceSet => ({ listeners: [...model.listeners.values()], routes: [...model.routes.values()], clusters: [...model.clusters.values()], endpoints: [...model.endpoints.values()], secrets: [...model.secrets.values()] });
const copyModel = (model: Model): Model => Object.fromEntries(kinds.map((kind) => [kind, new Map(model[kind])])) as Model;

/** Applies one op to the model (a route config's host op keeps its other fields the same values). */
function apply(model: Model, op: Op): void {
  if (op.op === "cluster") model.clusters.set(`c${op.i}`, cluster(op.i, op.variant, op.secret));
  else if (op.op === "endpoint") model.endpoints.set(`c${op.i}`, loadAssignment(`c${op.i}`, [9000 + op.variant]) as Json);
  else if (op.op === "listener") model.listeners.set(`l${op.i}`, listener(`l${op.i}`, routeNames[op.route]!, { port: 8000 + op.i, secret: op.secret === undefined ? undefined : `s${op.secret}` }) as Json);
  else if (op.op === "secret") model.secrets.set(`s${op.i}`, secret(op.i, op.variant));
  else if (op.op === "routeConfig") {
    const name = routeNames[op.i]!;
    model.routes.set(name, { name, validate_clusters: false, virtual_hosts: Array.from({ length: op.hosts }, (_, h) => host(`h${h}`, h % 4, op.variant)) });
  } else if (op.op === "host" || op.op === "removeHost") {
    const name = routeNames[op.route]!;
    const config = model.routes.get(name);
    if (!config) return;
    const hosts = config.virtual_hosts as Json[];
    const hostName = op.op === "host" ? hostNames[op.host]! : (hosts[op.host % Math.max(hosts.length, 1)]?.name as string | undefined);
    if (hostName === undefined) return;
    const at = hosts.findIndex((vhost) => vhost.name === hostName);
    const next = hosts.slice();
    if (op.op === "removeHost") next.splice(at, 1);
    else if (at >= 0) next[at] = host(hostName, op.cluster, op.variant);
    else next.push(host(hostName, op.cluster, op.variant));
    model.routes.set(name, { ...config, virtual_hosts: next });
  } else if (op.op === "chains") {
    const name = `l${op.i}`;
    // The listener's other fields stay the same values when it exists: a change of its chains alone.
    const address = model.listeners.get(name)?.address ?? { socket_address: { address: "0.0.0.0", port_value: 8443 + op.i } };
    model.listeners.set(name, { name, address, filter_chains: Array.from({ length: op.count }, (_, k) => chain(k, k === op.changed ? op.variant : 0)) });
  } else if (op.op === "remove") model[op.kind].delete(nameOf(op.kind, op.i));
}

/** The exact delta from `base` to `next` among the names `ops` may have touched (built by identity, as the build does). */
function deltaOf(baseSet: ResourceSet, base: Model, next: Model, ops: readonly Op[]): ResourceDelta {
  const changed: Partial<Record<Kind, Map<string, object | undefined>>> = {};
  const virtualHosts = new Map<string, Map<string, object | undefined>>();
  const filterChains = new Map<string, Map<string, object | undefined>>();
  for (const kind of kinds) {
    const names = new Set([...base[kind].keys(), ...next[kind].keys()]);
    for (const name of names) {
      const before = base[kind].get(name);
      const after = next[kind].get(name);
      if (before === after) continue;
      (changed[kind] ??= new Map()).set(name, after);
      if (kind === "listeners" && before && after) {
        const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
        keys.delete("filter_chains");
        const named = (l: Json) => Array.isArray(l.filter_chains) && (l.filter_chains as Json[]).every((c) => typeof c.name === "string");
        if (named(before) && named(after) && [...keys].every((key) => before[key] === after[key])) {
          const chainsOf = (l: Json) => new Map((l.filter_chains as Json[]).map((c) => [c.name as string, c]));
          const was = chainsOf(before);
          const now = chainsOf(after);
          const chains = new Map<string, object | undefined>();
          for (const chainName of new Set([...was.keys(), ...now.keys()])) if (was.get(chainName) !== now.get(chainName)) chains.set(chainName, now.get(chainName));
          filterChains.set(name, chains);
        }
      }
      const onlyHosts = kind === "routes" && before && after && !ops.some((op) => op.op === "routeConfig" && routeNames[op.i] === name);
      if (!onlyHosts) continue;
      const hostsOf = (config: Json) => new Map((config.virtual_hosts as Json[]).map((vhost) => [vhost.name as string, vhost]));
      const was = hostsOf(before);
      const now = hostsOf(after);
      const hosts = new Map<string, object | undefined>();
      for (const hostName of new Set([...was.keys(), ...now.keys()])) if (was.get(hostName) !== now.get(hostName)) hosts.set(hostName, now.get(hostName));
      virtualHosts.set(name, hosts);
    }
  }
  return { base: baseSet, changed, virtualHosts, filterChains };
}

function outcome(run: () => unknown): { error?: string[]; value?: unknown } {
  try {
    return { value: run() };
  } catch (error) {
    if (!(error instanceof SnapshotInconsistentError)) throw error;
    return { error: error.dangling };
  }
}

const entriesOf = (map: Map<string, CachedResource>) => [...map.values()].map((r) => ({ name: r.name, version: r.version, bytes: Buffer.from(r.bytes).toString("base64") })).sort((a, b) => (a.name < b.name ? -1 : 1));

function expectSameStores(withDelta: SnapshotStore, whole: SnapshotStore, before: { delta: Map<string, Map<string, CachedResource>>; whole: Map<string, Map<string, CachedResource>> }): void {
  for (const { typeUrl } of resourceTypes) {
    expect(entriesOf(withDelta.resources(typeUrl))).toEqual(entriesOf(whole.resources(typeUrl)));
    // The bytes are the resource encoded whole, however they were made (per host, spliced, joined late).
    for (const resource of withDelta.resources(typeUrl).values()) expect(Buffer.from(resource.bytes).equals(Buffer.from(encodeStrict(typeUrl, resource.json)))).toBe(true);
    expect(withDelta.version(typeUrl)).toBe(whole.version(typeUrl));
    const since = (store: SnapshotStore, from: Map<string, CachedResource>) => store.changedSince(typeUrl, from)?.slice().sort();
    expect(since(withDelta, before.delta.get(typeUrl)!)).toEqual(since(whole, before.whole.get(typeUrl)!));
  }
}

function expectServes(store: SnapshotStore, set: ResourceSet): void {
  for (const info of resourceTypes) {
    if (info.kind === "virtualHosts") continue;
    const served = store.resources(info.typeUrl);
    expect(served.size).toBe((set[info.kind] ?? []).length);
    for (const object of set[info.kind] ?? []) {
      const name = (object as Json)[info.nameField] as string;
      expect(Buffer.from(served.get(name)!.bytes).equals(Buffer.from(encodeStrict(info.typeUrl, object)))).toBe(true);
    }
  }
}

const mapsOf = (store: SnapshotStore) => new Map(resourceTypes.map(({ typeUrl }) => [typeUrl, store.resources(typeUrl)]));

const stats = { steps: 0, refused: 0 };

/** Runs the property; returns how many publishes the delta path made (the property is not vacuous). */
function checkDeltaPath(runs: number): number {
  let fromDelta = 0;
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 4 }), fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 12 }), (initial, steps) => {
      const withDelta = createSnapshotStore();
      const whole = createSnapshotStore();
      let model: Model = { clusters: new Map(), endpoints: new Map(), listeners: new Map(), routes: new Map(), secrets: new Map() };
      // A consistent start (every name a listener or cluster needs exists), then random changes.
      for (let i = 0; i < 4; i++) {
        apply(model, { op: "cluster", i, variant: 0, secret: i % 2 === 0 ? i % 3 : undefined });
        apply(model, { op: "endpoint", i, variant: 0 });
      }
      for (let i = 0; i < 3; i++) {
        apply(model, { op: "secret", i, variant: 0 });
        apply(model, { op: "routeConfig", i, hosts: i === 0 ? 35 : 2, variant: 0 });
        apply(model, { op: "listener", i, route: i, secret: i === 1 ? 0 : undefined });
      }
      for (const op of initial) apply(model, op);
      let set = setOf(model);
      const first = [outcome(() => withDelta.publish(set)), outcome(() => whole.publish(set))];
      expect(first[0]!.error).toEqual(first[1]!.error);
      for (const ops of steps) {
        const before = { delta: mapsOf(withDelta), whole: mapsOf(whole) };
        const endpointUpdates = ops.filter((op): op is Extract<Op, { op: "updateEndpoints" }> => op.op === "updateEndpoints");
        for (const update of endpointUpdates) {
          if (!withDelta.published) continue;
          const name = `c${update.i}`;
          const run = (store: SnapshotStore) => outcome(() => (update.remove ? store.updateEndpoints([], [name]) : store.updateEndpoints([loadAssignment(name, [7000 + update.variant])])));
          expect(run(withDelta).error).toEqual(run(whole).error);
        }
        const next = copyModel(model);
        for (const op of ops) apply(next, op);
        const nextSet = setOf(next);
        const delta = deltaOf(set, model, next, ops);
        expect(deltaProblems(nextSet, delta)).toEqual([]);
        const a = outcome(() => withDelta.publish(nextSet, delta));
        const b = outcome(() => whole.publish(nextSet));
        expect(a.error).toEqual(b.error);
        stats.steps++;
        if (a.error) stats.refused++;
        if (a.value) {
          const resultA = a.value as ReturnType<SnapshotStore["publish"]>;
          const resultB = b.value as ReturnType<SnapshotStore["publish"]>;
          expect(resultA.changedTypes).toEqual(resultB.changedTypes);
          if (resultA.fromDelta) fromDelta++;
        }
        expectSameStores(withDelta, whole, before);
        // And both serve the set they took: each resource's bytes are its object's, encoded whole.
        if (!a.error) expectServes(whole, nextSet);
        // The build passes the set it published last as the next base, whether or not it was taken.
        model = next;
        set = nextSet;
      }
    }),
    { numRuns: runs, includeErrorInReport: true },
  );
  return fromDelta;
}

describe("the snapshot store's delta path", () => {
  test("publishing with an exact delta leaves the store as publishing the whole set does, error for error", () => {
    const fromDelta = checkDeltaPath(300);
    // Not vacuous: most publishes went through the delta path, and some were refused.
    expect(fromDelta).toBeGreaterThan(stats.steps / 2);
    expect(stats.refused).toBeGreaterThan(0);
  }, 60_000);
});
