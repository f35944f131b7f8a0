import { afterEach, expect, test } from "bun:test";
import { createConsola } from "consola";
import { StatusRecorder, type ObjectRef } from "../dag/status.ts";
import type { Dag } from "../dag/types.ts";
import type { NackRecord } from "../xds/nacks.ts";
import { createSnapshotStore } from "../xds/snapshot.ts";
import { emptyResourceSet, TypeUrls, type ResourceSet } from "../xds/types.ts";
import type { BuildResult } from "./build.ts";
import { badResources, createNackFeedback, type NackFeedback } from "./nack-feedback.ts";

const proxy: ObjectRef = { kind: "HTTPProxy", namespace: "default", name: "shop" };
const other: ObjectRef = { kind: "Ingress", namespace: "default", name: "other" };
const quiet = createConsola({ level: -999 });

const cluster = (name: string, lbPolicy = "ROUND_ROBIN") => ({ name, type: "STATIC", connect_timeout: "1s", lb_policy: lbPolicy });

function routeConfig(vhosts: Record<string, string>): object {
  return {
    name: "ingress_http",
    virtual_hosts: Object.entries(vhosts).map(([name, clusterName]) => ({ name, domains: [name], routes: [{ match: { prefix: "/" }, route: { cluster: clusterName } }] })),
  };
}

const set = (parts: Partial<ResourceSet>): ResourceSet => ({ ...emptyResourceSet(), ...parts });

/** A build result as the pipeline hands it over: shop owns cluster "shop" and vhost shop.test, other the rest. */
function build(resources: ResourceSet): BuildResult {
  return {
    dag: { status: new StatusRecorder() } as unknown as Dag,
    resources,
    rejected: [],
    owners: {
      of: (_typeUrl, name) => (name === "shop" || name === "ingress_http" ? [proxy] : [other]),
      ofVirtualHost: (fqdn) => (fqdn === "shop.test" ? [proxy] : fqdn === "other.test" ? [other] : []),
    },
    statuses: [],
    timings: { dag: 0, translate: 0, endpoints: 0, validate: 0, total: 0 },
  };
}

let clock = 1_000;
let feedback: NackFeedback | undefined;
afterEach(() => feedback?.stop());

function setup(holdMs = 60_000) {
  const store = createSnapshotStore();
  const changes: number[] = [];
  feedback = createNackFeedback(store, { holdMs, logger: quiet, now: () => clock });
  feedback.onChange(() => changes.push(clock));
  /** Builds, applies the feedback and publishes, as the pipeline does. */
  const publish = (resources: ResourceSet) => {
    const result = feedback!.apply(build(resources));
    store.publish(result.resources);
    return result;
  };
  const nack = (typeUrl: string, names: string[], message: string, options: { nodeId?: string; version?: string } = {}): NackRecord => {
    const record = { time: new Date(), nodeId: options.nodeId ?? "node-a", cluster: "c", typeUrl, version: options.version ?? store.version(typeUrl), resourceNames: names, errorDetail: { code: 14, message }, delta: false };
    feedback!.nack(record);
    return record;
  };
  /** A sotw response carrying `names` and its ACK, from `nodeId` on stream `stream`. */
  const ack = (typeUrl: string, names: string[], nodeId: string, stream = 7) => {
    const version = store.version(typeUrl);
    feedback!.event({ kind: "response", stream, delta: false, typeUrl, nodeId, nonce: "1", version, resourceNames: names });
    feedback!.event({ kind: "ack", stream, delta: false, typeUrl, nodeId, nonce: "1", version });
  };
  return { store, publish, nack, ack, changes };
}

const served = (store: ReturnType<typeof createSnapshotStore>, typeUrl: string, name: string) => store.resources(typeUrl).get(name)?.json as Record<string, unknown> | undefined;

test("a NACKed cluster is held back: its last good version is served and its owner says why, until its content changes", () => {
  const { store, publish, nack, changes } = setup();
  publish(set({ clusters: [cluster("shop"), cluster("web")] }));
  publish(set({ clusters: [cluster("shop", "MAGLEV"), cluster("web")] }));
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: MAGLEV");
  expect(changes).toHaveLength(1);
  expect(feedback!.quarantined().map((q) => [q.name, q.virtualHost, q.nodeId])).toEqual([["shop", undefined, "node-a"]]);

  // Rebuilt with the same content: the last good version is served, and an unrelated change flows.
  const result = publish(set({ clusters: [cluster("shop", "MAGLEV"), cluster("web", "RANDOM")] }));
  expect(served(store, TypeUrls.cluster, "shop")?.lb_policy).toBe("ROUND_ROBIN");
  expect(served(store, TypeUrls.cluster, "web")?.lb_policy).toBe("RANDOM");
  const status = result.statuses.find((s) => s.ref.name === "shop")!;
  expect(status.currentStatus).toBe("invalid");
  expect(status.errors).toEqual([{ type: "EnvoyConfigError", reason: "ResourceNacked", message: 'Envoy rejected Cluster "shop": unsupported lb_policy: MAGLEV' }]);

  // New content is tried: the quarantine ends and the condition is gone.
  const fixed = publish(set({ clusters: [cluster("shop", "LEAST_REQUEST"), cluster("web", "RANDOM")] }));
  expect(served(store, TypeUrls.cluster, "shop")?.lb_policy).toBe("LEAST_REQUEST");
  expect(fixed.statuses).toEqual([]);
  expect(feedback!.quarantined()).toEqual([]);
});

test("when the last good version served in its place is rejected too, the resource is left out", () => {
  const { store, publish, nack, changes } = setup();
  publish(set({ clusters: [cluster("shop", "RANDOM"), cluster("web")] }));
  publish(set({ clusters: [cluster("shop", "MAGLEV"), cluster("web")] }));
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: MAGLEV");
  publish(set({ clusters: [cluster("shop", "MAGLEV"), cluster("web")] }));
  expect(served(store, TypeUrls.cluster, "shop")?.lb_policy).toBe("RANDOM");
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: RANDOM");
  expect(changes).toHaveLength(2);
  const result = publish(set({ clusters: [cluster("shop", "MAGLEV"), cluster("web")] }));
  expect([...store.resources(TypeUrls.cluster).keys()]).toEqual(["web"]);
  // The condition names the content the user wrote, not the fallback.
  expect(result.statuses.find((s) => s.ref.name === "shop")!.errors.map((e) => e.message)).toEqual(['Envoy rejected Cluster "shop": unsupported lb_policy: MAGLEV']);
});

test("a NACKed resource with no earlier version is left out; one that disappears leaves quarantine", () => {
  const { store, publish, nack } = setup();
  publish(set({ clusters: [cluster("web")] }));
  publish(set({ clusters: [cluster("shop", "MAGLEV"), cluster("web")] }));
  nack(TypeUrls.cluster, ["shop", "web"], 'cluster "shop": unsupported lb_policy: MAGLEV');
  const result = publish(set({ clusters: [cluster("shop", "MAGLEV"), cluster("web")] }));
  expect([...store.resources(TypeUrls.cluster).keys()]).toEqual(["web"]);
  expect(result.statuses.map((s) => [s.ref.name, s.errors[0]?.reason])).toEqual([["shop", "ResourceNacked"]]);
  publish(set({ clusters: [cluster("web")] }));
  expect(feedback!.quarantined()).toEqual([]);
});

test("a NACK of content no longer served, or of a version no longer known, changes nothing", () => {
  const { store, publish, nack, changes } = setup();
  publish(set({ clusters: [cluster("shop", "MAGLEV")] }));
  const old = store.version(TypeUrls.cluster);
  publish(set({ clusters: [cluster("shop")] }));
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: MAGLEV", { version: old });
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: MAGLEV", { version: "0000000000000000" });
  expect(feedback!.quarantined()).toEqual([]);
  expect(changes).toEqual([]);
});

test("only the virtual host a route config NACK names is held back; the other keeps changing", () => {
  const { store, publish, nack } = setup();
  publish(set({ clusters: [cluster("shop"), cluster("web"), cluster("web2")], routes: [routeConfig({ "shop.test": "shop", "other.test": "web" })] }));
  publish(set({ clusters: [cluster("shop"), cluster("web"), cluster("web2")], routes: [routeConfig({ "shop.test": "web2", "other.test": "web" })] }));
  nack(TypeUrls.route, ["ingress_http"], "resource index 0: RouteConfiguration message validation failed: [virtual_hosts[shop.test].routes[].match: unsupported]");
  expect(feedback!.quarantined().map((q) => q.virtualHost)).toEqual(["shop.test"]);
  const result = publish(set({ clusters: [cluster("shop"), cluster("web"), cluster("web2")], routes: [routeConfig({ "shop.test": "web2", "other.test": "web2" })] }));
  const vhosts = (served(store, TypeUrls.route, "ingress_http")!.virtual_hosts as Array<{ name: string; routes: Array<{ route: { cluster: string } }> }>).map((v) => [v.name, v.routes[0]!.route.cluster]);
  expect(vhosts).toEqual([["shop.test", "shop"], ["other.test", "web2"]]);
  expect(result.statuses.map((s) => [s.ref.kind, s.errors[0]?.reason])).toEqual([["HTTPProxy", "ResourceNacked"]]);
});

test("a route config NACK naming no virtual host holds back only the virtual hosts changed since its last good content", () => {
  const { store, publish, nack } = setup();
  publish(set({ clusters: [cluster("shop"), cluster("web"), cluster("web2")], routes: [routeConfig({ "other.test": "web" })] }));
  publish(set({ clusters: [cluster("shop"), cluster("web"), cluster("web2")], routes: [routeConfig({ "shop.test": "shop", "other.test": "web" })] }));
  // Envoy's RE2 limit message names the regex, not the virtual host.
  nack(TypeUrls.route, ["ingress_http"], "regex '/r/[a-z]+' RE2 program size of 9 > max program size of 3 set for the error level threshold.");
  expect(feedback!.quarantined().map((q) => q.virtualHost)).toEqual(["shop.test"]);
  // The unchanged virtual host keeps changing; the new one is left out (it has no last good content).
  const result = publish(set({ clusters: [cluster("shop"), cluster("web"), cluster("web2")], routes: [routeConfig({ "shop.test": "shop", "other.test": "web2" })] }));
  const vhosts = (served(store, TypeUrls.route, "ingress_http")!.virtual_hosts as Array<{ name: string; routes: Array<{ route: { cluster: string } }> }>).map((v) => [v.name, v.routes[0]!.route.cluster]);
  expect(vhosts).toEqual([["other.test", "web2"]]);
  expect(result.statuses.map((s) => [s.ref.kind, s.errors[0]?.reason])).toEqual([["HTTPProxy", "ResourceNacked"]]);
  // With every virtual host changed, the whole route config is held back (nothing tells them apart).
  publish(set({ clusters: [cluster("shop"), cluster("web"), cluster("web2")], routes: [routeConfig({ "shop.test": "web", "other.test": "shop" })] }));
  nack(TypeUrls.route, ["ingress_http"], "regex too big");
  expect(feedback!.quarantined().map((q) => [q.name, q.virtualHost])).toContainEqual(["ingress_http", undefined]);
});

test("a route config NACK of the version the served one replaced still holds back its unchanged virtual host; an older version's content is not kept", () => {
  const { store, publish, nack } = setup();
  const clusters = [cluster("shop"), cluster("web"), cluster("web2")];
  publish(set({ clusters, routes: [routeConfig({ "shop.test": "shop", "other.test": "web" })] }));
  const first = store.version(TypeUrls.route);
  publish(set({ clusters, routes: [routeConfig({ "shop.test": "web2", "other.test": "web" })] }));
  const second = store.version(TypeUrls.route);
  const rejected = store.resources(TypeUrls.route).get("ingress_http")!.version;
  publish(set({ clusters, routes: [routeConfig({ "shop.test": "web2", "other.test": "web2" })] }));
  // shop.test is served unchanged since `second`, but `first` is two versions back: nothing is held.
  nack(TypeUrls.route, ["ingress_http"], "virtual_hosts[shop.test]: bad", { version: first });
  expect(feedback!.quarantined()).toEqual([]);
  nack(TypeUrls.route, ["ingress_http"], "virtual_hosts[shop.test]: bad", { version: second });
  expect(feedback!.quarantined().map((q) => [q.virtualHost, q.version])).toEqual([["shop.test", rejected]]);
});

test("a last good virtual host naming a cluster that no longer exists is left out and reported", () => {
  const { store, publish, nack } = setup();
  publish(set({ clusters: [cluster("shop"), cluster("web")], routes: [routeConfig({ "shop.test": "shop", "other.test": "web" })] }));
  publish(set({ clusters: [cluster("shop"), cluster("web")], routes: [routeConfig({ "shop.test": "web", "other.test": "web" })] }));
  nack(TypeUrls.route, ["ingress_http"], "virtual_hosts[shop.test]: bad");
  const result = publish(set({ clusters: [cluster("web")], routes: [routeConfig({ "shop.test": "web", "other.test": "web" })] }));
  expect((served(store, TypeUrls.route, "ingress_http")!.virtual_hosts as Array<{ name: string }>).map((v) => v.name)).toEqual(["other.test"]);
  expect(result.statuses.find((s) => s.ref.kind === "HTTPProxy")!.errors.map((e) => e.reason)).toEqual(["ResourceNacked", "NackedDependency"]);
  expect(result.statuses.find((s) => s.ref.kind === "HTTPProxy")!.errors[1]!.message).toBe(
    'RouteConfiguration "ingress_http" virtual host "shop.test" is not served: it names Cluster "shop", which is not served',
  );
});

test("a NACK of content another client ACKed does not quarantine, and that node is not trusted for a while", () => {
  const { publish, nack, ack, changes } = setup();
  publish(set({ clusters: [cluster("shop")] }));
  publish(set({ clusters: [cluster("shop", "MAGLEV")] }));
  ack(TypeUrls.cluster, ["shop"], "node-b");
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: MAGLEV");
  expect(feedback!.quarantined()).toEqual([]);
  publish(set({ clusters: [cluster("shop", "RANDOM")] }));
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: RANDOM");
  expect(feedback!.quarantined()).toEqual([]);
  expect(changes).toEqual([]);
  // Once the distrust has run out, a NACK quarantines again.
  clock += 60_001;
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: RANDOM");
  expect(feedback!.quarantined()).toHaveLength(1);
});

test("an ACK of the quarantined content from another client lifts the quarantine", () => {
  const { store, publish, nack, changes } = setup();
  publish(set({ clusters: [cluster("shop")] }));
  publish(set({ clusters: [cluster("shop", "MAGLEV")] }));
  const nacked = store.version(TypeUrls.cluster);
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: MAGLEV");
  expect(feedback!.quarantined()).toHaveLength(1);
  // node-b's ACK of the NACKed version was still in flight (delta: its names ride on the event).
  feedback!.event({ kind: "ack", stream: 9, delta: true, typeUrl: TypeUrls.cluster, nodeId: "node-b", nonce: "3", version: nacked, resourceNames: ["shop"] });
  expect(feedback!.quarantined()).toEqual([]);
  expect(changes).toHaveLength(2);
});

test("a quarantine ends after holdMs and the content is tried again", () => {
  const { store, publish, nack } = setup(1_000);
  publish(set({ clusters: [cluster("shop")] }));
  publish(set({ clusters: [cluster("shop", "MAGLEV")] }));
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: MAGLEV");
  publish(set({ clusters: [cluster("shop", "MAGLEV")] }));
  expect(served(store, TypeUrls.cluster, "shop")?.lb_policy).toBe("ROUND_ROBIN");
  clock += 1_000;
  publish(set({ clusters: [cluster("shop", "MAGLEV")] }));
  expect(served(store, TypeUrls.cluster, "shop")?.lb_policy).toBe("MAGLEV");
  expect(feedback!.quarantined()).toEqual([]);
});

test("which resources of a NACKed response were bad", () => {
  const sent = new Map([["a", "1"], ["b", "2"], ["c", "3"]]);
  const record = (message: string, names = ["a", "b", "c"]): NackRecord => ({ time: new Date(), nodeId: "n", cluster: "", typeUrl: TypeUrls.cluster, version: "v", resourceNames: names, errorDetail: { code: 3, message }, delta: false });
  expect(badResources(record("anything", ["b"]), sent, undefined)).toEqual(["b"]);
  expect(badResources(record("xDS response validation errors: [resource index 2: unsupported]"), sent, undefined)).toEqual(["c"]);
  expect(badResources(record("Error adding/updating cluster(s) b: bad"), sent, undefined)).toEqual(["b"]);
  // "a" inside "ab" or "a.b" is not a mention of "a"
  const before = new Map([["a", "1"], ["b", "1"], ["c", "3"]]);
  expect(badResources(record("cluster ab and a.b failed"), sent, before)).toEqual(["b"]);
  expect(badResources(record("failed"), sent, undefined)).toEqual(["a", "b", "c"]);
});
