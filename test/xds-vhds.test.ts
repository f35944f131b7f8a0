// VHDS through the server over a real socket: an Envoy on delta ADS gets shared route configurations
// as shells and their hosts one by one; a changed host is sent alone, a removed one named as removed.
import { afterEach, describe, expect, test } from "bun:test";
import { TypeUrls, type ResourceSet } from "../src/xds/types.ts";
import { perTypePaths, type DeltaRequestInit, type DeltaResponse, type RawStream } from "./helpers/ads-client.ts";
import { edsCluster, listener, loadAssignment } from "./helpers/xds-resources.ts";
import { startTestXds, type TestXds } from "./helpers/xds-server.ts";
import { connectXds, resourceName } from "../src/xds/client.ts";

const envoy = { id: "envoy-v", cluster: "edge", user_agent_name: "envoy" };
let xds: TestXds;
afterEach(() => xds?.close());

const vhost = (host: string, cluster = "cluster-0") => ({ name: host, domains: [host], routes: [{ match: { prefix: "/" }, route: { cluster } }] });

function set(hosts: Record<string, string>): ResourceSet {
  return {
    listeners: [listener("ingress_http", "ingress_http")],
    routes: [{ name: "ingress_http", virtual_hosts: Object.entries(hosts).map(([host, cluster]) => vhost(host, cluster)) }],
    clusters: [edsCluster("cluster-0"), edsCluster("cluster-1")],
    endpoints: [loadAssignment("cluster-0"), loadAssignment("cluster-1")],
    secrets: [],
  };
}

async function ask(stream: RawStream<DeltaRequestInit, DeltaResponse>, request: DeltaRequestInit, node = envoy): Promise<DeltaResponse> {
  stream.send({ node, ...request });
  return stream.next();
}

async function acked(stream: RawStream<DeltaRequestInit, DeltaResponse>, response: DeltaResponse): Promise<void> {
  const judged = xds.nextEvent((e) => e.delta && (e.kind === "ack" || e.kind === "nack") && e.nonce === response.nonce);
  stream.send({ type_url: response.type_url, response_nonce: response.nonce });
  await judged;
}

describe("VHDS", () => {
  test("Envoy on delta ADS gets the route config as a shell and every host on subscribing to its namespace", async () => {
    xds = await startTestXds(set({ "a.example.com": "cluster-0", "*.wild.example.com": "cluster-1" }));
    const stream = xds.client.delta();
    const rds = await ask(stream, { type_url: TypeUrls.route, resource_names_subscribe: ["ingress_http"] });
    expect(rds.resources[0]!.resource).toEqual({ name: "ingress_http", vhds: { config_source: { ads: {}, resource_api_version: "V3" } } });
    await acked(stream, rds);
    const vhds = await ask(stream, { type_url: TypeUrls.virtualHost, resource_names_subscribe: ["ingress_http"] });
    expect(vhds.names.sort()).toEqual(["ingress_http/*.wild.example.com", "ingress_http/a.example.com"]);
    expect(vhds.resources.find((r) => r.name === "ingress_http/a.example.com")!.resource).toEqual({ ...vhost("a.example.com"), name: "ingress_http/a.example.com" });
  });

  test("a changed host is sent alone, a removed one named in removed_resources, and the shell is not resent", async () => {
    xds = await startTestXds(set({ "a.example.com": "cluster-0", "b.example.com": "cluster-0", "c.example.com": "cluster-0" }));
    const stream = xds.client.delta();
    await acked(stream, await ask(stream, { type_url: TypeUrls.route, resource_names_subscribe: ["ingress_http"] }));
    // As Envoy subscribes: naming nothing (a wildcard; Envoy matches hosts to route configs by namespace).
    const all = await ask(stream, { type_url: TypeUrls.virtualHost });
    expect(all.names.sort()).toEqual(["ingress_http/a.example.com", "ingress_http/b.example.com", "ingress_http/c.example.com"]);
    await acked(stream, all);
    xds.store.publish(set({ "a.example.com": "cluster-0", "b.example.com": "cluster-1", "c.example.com": "cluster-0" }));
    const changed = await stream.next();
    expect(changed.type_url).toBe(TypeUrls.virtualHost);
    expect(changed.names).toEqual(["ingress_http/b.example.com"]);
    expect(changed.removed_resources).toEqual([]);
    await acked(stream, changed);
    xds.store.publish(set({ "a.example.com": "cluster-0", "b.example.com": "cluster-1" }));
    const removed = await stream.next();
    expect(removed).toMatchObject({ type_url: TypeUrls.virtualHost, names: [], removed_resources: ["ingress_http/c.example.com"] });
    // Nothing else was sent: the next response is the answer to a new subscription.
    await acked(stream, removed);
    const eds = await ask(stream, { type_url: TypeUrls.endpoint, resource_names_subscribe: ["cluster-0"] });
    expect(eds.type_url).toBe(TypeUrls.endpoint);
  });

  test("a subscription naming a namespace gets that route config's hosts only; per-SNI route configs are not split", async () => {
    const resources = set({ "a.example.com": "cluster-0" });
    resources.routes.push({ name: "other", virtual_hosts: [vhost("o.example.com")] }, { name: "https/s.example.com", virtual_hosts: [vhost("s.example.com")] });
    xds = await startTestXds(resources);
    const stream = xds.client.delta();
    expect((await ask(stream, { type_url: TypeUrls.virtualHost, resource_names_subscribe: ["other"] })).names).toEqual(["other/o.example.com"]);
    expect([...xds.store.resources(TypeUrls.virtualHost).keys()].sort()).toEqual(["ingress_http/a.example.com", "other/o.example.com"]);
    const https = await ask(stream, { type_url: TypeUrls.route, resource_names_subscribe: ["https/s.example.com"] });
    expect(https.resources[0]!.resource).toEqual({ name: "https/s.example.com", virtual_hosts: [vhost("s.example.com")] });
  });

  test("a VHDS subscription is answered at once even with no hosts; a route config without hosts is sent whole", async () => {
    xds = await startTestXds(set({}));
    const stream = xds.client.delta();
    const vhds = await ask(stream, { type_url: TypeUrls.virtualHost });
    expect(vhds).toMatchObject({ type_url: TypeUrls.virtualHost, resources: [], removed_resources: [] });
    // Envoy's VHDS of a route config is ready only once one of its hosts arrives: no empty shell.
    const rds = await ask(stream, { type_url: TypeUrls.route, resource_names_subscribe: ["ingress_http"] });
    expect(rds.resources[0]!.resource).toEqual({ name: "ingress_http" });
  });

  test("the hosts of a route config that becomes a shell are sent (again) after it", async () => {
    xds = await startTestXds(set({ "a.example.com": "cluster-0" }));
    const stream = xds.client.delta();
    await acked(stream, await ask(stream, { type_url: TypeUrls.route, resource_names_subscribe: ["ingress_http"] }));
    await acked(stream, await ask(stream, { type_url: TypeUrls.virtualHost }));
    // A new route config with a host (and its listener) appears: its host is pushed before Envoy asks for the route config.
    const next = set({ "a.example.com": "cluster-0" });
    next.listeners.push(listener("other", "other"));
    next.routes.push({ name: "other", virtual_hosts: [vhost("o.example.com")] });
    xds.store.publish(next);
    const early = await stream.next();
    expect(early).toMatchObject({ type_url: TypeUrls.virtualHost, names: ["other/o.example.com"] });
    await acked(stream, early);
    const shell = await ask(stream, { type_url: TypeUrls.route, resource_names_subscribe: ["other"] });
    expect(shell.resources[0]!.resource).toMatchObject({ name: "other", vhds: {} });
    const again = await stream.next();
    expect(again).toMatchObject({ type_url: TypeUrls.virtualHost, names: ["other/o.example.com"] });
  });

  test("a client that is not Envoy, a sotw stream and a per-type stream keep the classic route configuration", async () => {
    xds = await startTestXds(set({ "a.example.com": "cluster-0" }));
    const other = await ask(xds.client.delta(), { type_url: TypeUrls.route, resource_names_subscribe: ["ingress_http"] }, { id: "tool", cluster: "x", user_agent_name: "grpc" });
    expect(other.resources[0]!.resource).toEqual({ name: "ingress_http", virtual_hosts: [vhost("a.example.com")] });
    const sotw = xds.client.sotw();
    sotw.send({ node: envoy, type_url: TypeUrls.route, resource_names: ["ingress_http"] });
    expect((await sotw.next()).resources[0]).toEqual({ name: "ingress_http", virtual_hosts: [vhost("a.example.com")] });
    const perType = await ask(xds.client.delta(perTypePaths.rds[1]), { type_url: TypeUrls.route, resource_names_subscribe: ["ingress_http"] });
    expect(perType.resources[0]!.resource).toEqual({ name: "ingress_http", virtual_hosts: [vhost("a.example.com")] });
  });

  test("a NACKed VHDS response: the bad host is not resent, the good ones in it are", async () => {
    xds = await startTestXds(set({ "a.example.com": "cluster-0", "b.example.com": "cluster-0" }));
    const stream = xds.client.delta();
    const first = await ask(stream, { type_url: TypeUrls.virtualHost, resource_names_subscribe: ["ingress_http"] });
    const nacked = xds.nextEvent((e) => e.kind === "nack");
    stream.send({ type_url: TypeUrls.virtualHost, response_nonce: first.nonce, error_detail: { code: 3, message: "virtual host ingress_http/b.example.com is bad" } });
    const record = await nacked;
    expect(record.resourceNames!.sort()).toEqual(["ingress_http/a.example.com", "ingress_http/b.example.com"]);
    expect(xds.server.nacks.recent()[0]!.rejected.map((r) => r.name)).toEqual(["ingress_http/b.example.com"]);
    const again = await stream.next();
    expect(again.names).toEqual(["ingress_http/a.example.com"]);
  });

  test("the agent xds client with vhds subscribes as Envoy does: the shell, then every host", async () => {
    xds = await startTestXds(set({ "a.example.com": "cluster-0", "b.example.com": "cluster-1" }));
    const client = connectXds(`127.0.0.1:${xds.server.port}`, { node: { id: "bench", vhds: true }, delta: true, subscriptions: [{ typeUrl: TypeUrls.route, names: ["ingress_http"] }] });
    try {
      const rds = await client.next();
      expect(rds.typeUrl).toBe(TypeUrls.route);
      const vhds = await client.next();
      expect(vhds.typeUrl).toBe(TypeUrls.virtualHost);
      expect(vhds.resources.map((r) => resourceName(r.value)).sort()).toEqual(["ingress_http/a.example.com", "ingress_http/b.example.com"]);
      // Without the flag the same client gets the classic route config and subscribes to no host.
      const classic = connectXds(`127.0.0.1:${xds.server.port}`, { node: { id: "classic" }, delta: true, subscriptions: [{ typeUrl: TypeUrls.route, names: ["ingress_http"] }] });
      const whole = await classic.next();
      expect(whole.size).toBeGreaterThan(rds.size);
      classic.close();
    } finally {
      client.close();
    }
  });
});
