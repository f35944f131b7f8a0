import { afterEach, expect, test } from "bun:test";
import { createConsola } from "consola";
import { StatusRecorder, type ObjectRef } from "../dag/status.ts";
import type { Dag } from "../dag/types.ts";
import type { NackRecord } from "../xds/nacks.ts";
import { createSnapshotStore } from "../xds/snapshot.ts";
import { emptyResourceSet, TypeUrls, type ResourceSet } from "../xds/types.ts";
import type { BuildResult } from "./build.ts";
import { createNackFeedback, type NackFeedback } from "./nack-feedback.ts";

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
      ofVirtualHost: (_routeConfig, fqdn) => (fqdn === "shop.test" ? [proxy] : fqdn === "other.test" ? [other] : []),
      ofFilterChain: () => [],
    },
    statuses: [],
    endpointProblems: [],
    timings: { dag: 0, translate: 0, endpoints: 0, validate: 0, total: 0 },
  };
}

let feedback: NackFeedback | undefined;
afterEach(() => feedback?.stop());

function setup(capacity?: number) {
  const store = createSnapshotStore();
  const changes: number[] = [];
  feedback = createNackFeedback(store, { logger: quiet, capacity });
  feedback.onChange(() => changes.push(changes.length));
  /** Builds, applies the feedback and publishes, as the pipeline does. */
  const publish = (resources: ResourceSet) => {
    const result = feedback!.apply(build(resources));
    store.publish(result.resources);
    return result;
  };
  /** A NACK from `stream` of the named resources at their served version (or `version`). */
  const nack = (typeUrl: string, names: string[], message: string, options: { stream?: number; version?: string; virtualHosts?: string[] } = {}): NackRecord => {
    const rejected = names.map((name) => ({ name, version: options.version ?? store.resources(typeUrl).get(name)!.version, ...(options.virtualHosts ? { virtualHosts: options.virtualHosts } : {}) }));
    const record: NackRecord = { time: new Date(), stream: options.stream ?? 1, nodeId: "node-a", cluster: "c", typeUrl, version: store.version(typeUrl), resourceNames: names, rejected, errorDetail: { code: 14, message }, delta: false };
    feedback!.nack(record);
    return record;
  };
  return { store, publish, nack, changes };
}

const errorsOf = (result: BuildResult, ref: ObjectRef) => result.statuses.find((s) => s.ref.kind === ref.kind && s.ref.name === ref.name)?.errors ?? [];

test("a NACKed cluster is reported on its owner while its content is built, and what is served stays as built", () => {
  const { store, publish, nack, changes } = setup();
  publish(set({ clusters: [cluster("shop"), cluster("web")] }));
  publish(set({ clusters: [cluster("shop", "MAGLEV"), cluster("web")] }));
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: MAGLEV");
  expect(changes).toHaveLength(1);
  expect(feedback!.rejections().map((r) => [r.name, r.virtualHost, r.nodeId, r.stream])).toEqual([["shop", undefined, "node-a", 1]]);

  const held = publish(set({ clusters: [cluster("shop", "MAGLEV"), cluster("web", "RANDOM")] }));
  // Every other client keeps being sent what is built: the store is not changed by a NACK.
  expect((store.resources(TypeUrls.cluster).get("shop")!.json as { lb_policy: string }).lb_policy).toBe("MAGLEV");
  expect(errorsOf(held, proxy)).toEqual([{ type: "EnvoyConfigError", reason: "ResourceNacked", message: 'Envoy rejected Cluster "shop": unsupported lb_policy: MAGLEV' }]);
  expect(errorsOf(held, other)).toEqual([]);

  // The content changes: the rejection ends, the condition goes.
  const fixed = publish(set({ clusters: [cluster("shop", "LEAST_REQUEST"), cluster("web", "RANDOM")] }));
  expect(errorsOf(fixed, proxy)).toEqual([]);
  expect(feedback!.rejections()).toEqual([]);
});

test("a route config NACK whose bad virtual host the server found is reported on that virtual host's owner, and ends when that virtual host changes", () => {
  const { publish, nack } = setup();
  const clusters = [cluster("shop"), cluster("web")];
  publish(set({ clusters, routes: [routeConfig({ "shop.test": "shop", "other.test": "web" })] }));
  // The xDS server names the bad virtual hosts (route-holdback.ts): here the one Envoy's message names.
  nack(TypeUrls.route, ["ingress_http"], "virtual_hosts[shop.test].routes[].match: unsupported", { virtualHosts: ["shop.test"] });
  expect(feedback!.rejections().map((r) => [r.name, r.virtualHost])).toEqual([["ingress_http", "shop.test"]]);
  // The other virtual host changes: the rejected one is still built, still reported.
  const still = publish(set({ clusters, routes: [routeConfig({ "shop.test": "shop", "other.test": "shop" })] }));
  expect(errorsOf(still, proxy).map((e) => e.reason)).toEqual(["ResourceNacked"]);
  expect(errorsOf(still, other)).toEqual([]);
  const changed = publish(set({ clusters, routes: [routeConfig({ "shop.test": "web", "other.test": "shop" })] }));
  expect(errorsOf(changed, proxy)).toEqual([]);
});

test("a NACKed VHDS host is reported on that virtual host's owner only, and ends when that host changes", () => {
  const { publish, nack } = setup();
  const clusters = [cluster("shop"), cluster("web")];
  publish(set({ clusters, routes: [routeConfig({ "shop.test": "shop", "other.test": "web" })] }));
  nack(TypeUrls.virtualHost, ["ingress_http/shop.test"], "virtual host ingress_http/shop.test: unsupported");
  expect(feedback!.rejections().map((r) => [r.typeUrl, r.name, r.virtualHost])).toEqual([[TypeUrls.route, "ingress_http", "shop.test"]]);
  const still = publish(set({ clusters, routes: [routeConfig({ "shop.test": "shop", "other.test": "shop" })] }));
  expect(errorsOf(still, proxy)).toEqual([{ type: "EnvoyConfigError", reason: "ResourceNacked", message: 'Envoy rejected RouteConfiguration "ingress_http": virtual host ingress_http/shop.test: unsupported' }]);
  expect(errorsOf(still, other)).toEqual([]);
  const changed = publish(set({ clusters, routes: [routeConfig({ "shop.test": "web", "other.test": "shop" })] }));
  expect(errorsOf(changed, proxy)).toEqual([]);
  expect(feedback!.rejections()).toEqual([]);
});

test("a route config NACK with no bad virtual host found is reported on every owner of the route config", () => {
  const { publish, nack } = setup();
  const clusters = [cluster("shop"), cluster("web")];
  publish(set({ clusters, routes: [routeConfig({ "shop.test": "shop", "other.test": "web" })] }));
  nack(TypeUrls.route, ["ingress_http"], "regex too big");
  expect(feedback!.rejections().map((r) => [r.name, r.virtualHost])).toEqual([["ingress_http", undefined]]);
  // A virtual host named that is no longer built is not reported: the rest of the record still is.
  nack(TypeUrls.route, ["ingress_http"], "regex too big", { stream: 2, virtualHosts: ["gone.test", "other.test"] });
  const result = publish(set({ clusters, routes: [routeConfig({ "shop.test": "shop", "other.test": "web" })] }));
  expect(feedback!.rejections().map((r) => [r.stream, r.virtualHost])).toEqual([[1, undefined], [2, "other.test"]]);
  expect(errorsOf(result, other).map((e) => e.reason)).toEqual(["ResourceNacked"]);
});

test("a closed stream ends its rejections only; the same rejection from many streams is one condition", () => {
  const { publish, nack, changes } = setup();
  publish(set({ clusters: [cluster("shop", "MAGLEV")] }));
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: MAGLEV", { stream: 1 });
  nack(TypeUrls.cluster, ["shop"], "unsupported lb_policy: MAGLEV", { stream: 2 });
  expect(errorsOf(publish(set({ clusters: [cluster("shop", "MAGLEV")] })), proxy)).toHaveLength(1);
  feedback!.event({ kind: "close", stream: 1, delta: false });
  expect(feedback!.rejections().map((r) => r.stream)).toEqual([2]);
  feedback!.event({ kind: "close", stream: 7, delta: false });
  expect(changes).toHaveLength(3);
  feedback!.event({ kind: "close", stream: 2, delta: false });
  expect(errorsOf(publish(set({ clusters: [cluster("shop", "MAGLEV")] })), proxy)).toEqual([]);
});

test("a NACK of a version no longer served reports nothing; rejections are bounded", () => {
  const { publish, nack, store } = setup(2);
  publish(set({ clusters: [cluster("shop")] }));
  const old = store.resources(TypeUrls.cluster).get("shop")!.version;
  publish(set({ clusters: [cluster("shop", "MAGLEV")] }));
  nack(TypeUrls.cluster, ["shop"], "bad", { version: old });
  expect(feedback!.rejections()).toEqual([]);
  for (const stream of [1, 2, 3]) nack(TypeUrls.cluster, ["shop"], "bad", { stream });
  expect(feedback!.rejections().map((r) => r.stream)).toEqual([2, 3]);
});
