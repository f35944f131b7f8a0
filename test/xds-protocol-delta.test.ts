// Delta (incremental) xDS protocol rules, each checked with a raw gRPC client over a real socket.
// "No response" is shown by order: a later request's answer arriving first proves nothing came before.
import { afterEach, describe, expect, test } from "bun:test";
import { TypeUrls } from "../src/xds/types.ts";
import { perTypePaths, type DeltaRequestInit, type DeltaResponse, type RawStream } from "./helpers/ads-client.ts";
import { edsCluster, listener, loadAssignment, resourceSet, secret } from "./helpers/xds-resources.ts";
import { startTestXds, type TestXds } from "./helpers/xds-server.ts";

const node = { id: "envoy-d", cluster: "edge" };
let xds: TestXds;
afterEach(() => xds?.close());

async function ask(stream: RawStream<DeltaRequestInit, DeltaResponse>, request: DeltaRequestInit): Promise<DeltaResponse> {
  stream.send({ node, ...request });
  return stream.next();
}

const ack = (response: DeltaResponse): DeltaRequestInit => ({ type_url: response.type_url, response_nonce: response.nonce });

/** Sends an ACK and waits until the server has judged it. */
async function acked(stream: RawStream<DeltaRequestInit, DeltaResponse>, response: DeltaResponse): Promise<void> {
  const judged = xds.nextEvent((e) => e.delta && (e.kind === "ack" || e.kind === "nack") && e.nonce === response.nonce);
  stream.send(ack(response));
  await judged;
}

const versionOf = (typeUrl: string, name: string) => xds.store.resources(typeUrl).get(name)!.version;

describe("delta ADS", () => {
  test("no response before the first publish; wildcard CDS then gets everything with content-hash versions", async () => {
    xds = await startTestXds();
    const stream = xds.client.delta();
    const processed = xds.nextEvent((e) => e.kind === "request");
    stream.send({ node, type_url: TypeUrls.cluster });
    await processed;
    expect(stream.buffered).toBe(0);
    xds.store.publish(resourceSet(2));
    const response = await stream.next();
    expect(response.nonce).not.toBe("");
    expect(response.system_version_info).toBe(xds.store.version(TypeUrls.cluster));
    expect(response.resources.map((r) => [r.name, r.version])).toEqual([
      ["cluster-0", versionOf(TypeUrls.cluster, "cluster-0")],
      ["cluster-1", versionOf(TypeUrls.cluster, "cluster-1")],
    ]);
    expect(response.resources[0]!.resource).toMatchObject({ name: "cluster-0", type: "EDS" });
  });

  test("a wildcard client is answered at once even when there is nothing", async () => {
    xds = await startTestXds({ ...resourceSet(0), listeners: [], routes: [] });
    const response = await ask(xds.client.delta(), { type_url: TypeUrls.listener });
    expect(response).toMatchObject({ type_url: TypeUrls.listener, resources: [], removed_resources: [] });
  });

  test("only changed resources are pushed; removals are named in removed_resources", async () => {
    xds = await startTestXds(resourceSet(3));
    const stream = xds.client.delta();
    await acked(stream, await ask(stream, { type_url: TypeUrls.cluster }));
    const set = resourceSet(3);
    set.clusters[1] = edsCluster("cluster-1", { timeout: "5s" });
    xds.store.publish(set);
    const changed = await stream.next();
    expect(changed.names).toEqual(["cluster-1"]);
    expect(changed.removed_resources).toEqual([]);
    await acked(stream, changed);
    xds.store.publish({ ...set, clusters: set.clusters.slice(0, 2), endpoints: set.endpoints.slice(0, 2) });
    const removed = await stream.next();
    expect(removed.names).toEqual([]);
    expect(removed.removed_resources).toEqual(["cluster-2"]);
  });

  test("on reconnect, initial_resource_versions: only what differs is sent, what is gone is removed", async () => {
    xds = await startTestXds(resourceSet(3));
    const response = await ask(xds.client.delta(), {
      type_url: TypeUrls.cluster,
      initial_resource_versions: { "cluster-0": versionOf(TypeUrls.cluster, "cluster-0"), "cluster-1": "stale", gone: "x" },
    });
    expect(response.names).toEqual(["cluster-1", "cluster-2"]);
    expect(response.removed_resources).toEqual(["gone"]);
  });

  test("RDS, EDS and SDS are by name: a missing name is sent when it appears", async () => {
    xds = await startTestXds(resourceSet(2));
    const stream = xds.client.delta();
    stream.send({ node, type_url: TypeUrls.endpoint, resource_names_subscribe: ["later"] });
    stream.send({ node, type_url: TypeUrls.route });
    const clusters = await ask(stream, { type_url: TypeUrls.cluster });
    expect(clusters.type_url).toBe(TypeUrls.cluster);
    const set = resourceSet(2);
    set.endpoints.push(loadAssignment("later"));
    xds.store.updateEndpoints([loadAssignment("later")]);
    const appeared = await stream.next();
    expect(appeared).toMatchObject({ type_url: TypeUrls.endpoint, names: ["later"] });
  });

  test("subscribe and unsubscribe: unsubscribed names are not pushed, subscribing again sends them", async () => {
    xds = await startTestXds(resourceSet(3));
    const stream = xds.client.delta();
    const first = await ask(stream, { type_url: TypeUrls.endpoint, resource_names_subscribe: ["cluster-0", "cluster-1"] });
    expect(first.names).toEqual(["cluster-0", "cluster-1"]);
    const added = await ask(stream, { ...ack(first), resource_names_subscribe: ["cluster-2"] });
    expect(added.names).toEqual(["cluster-2"]);
    const unsubscribed = xds.nextEvent((e) => e.kind === "request" && (e.removed ?? []).length > 0);
    stream.send({ type_url: TypeUrls.endpoint, resource_names_unsubscribe: ["cluster-1"] });
    await unsubscribed;
    xds.store.updateEndpoints([loadAssignment("cluster-1", [9500])]);
    const clusters = await ask(stream, { type_url: TypeUrls.cluster });
    expect(clusters.type_url).toBe(TypeUrls.cluster);
    const again = await ask(stream, { type_url: TypeUrls.endpoint, resource_names_subscribe: ["cluster-1"] });
    expect(again.names).toEqual(["cluster-1"]);
    expect(again.resources[0]!.version).toBe(versionOf(TypeUrls.endpoint, "cluster-1"));
  });

  test("'*' subscribes a named type to everything, and unsubscribing it stops that", async () => {
    xds = await startTestXds(resourceSet(2));
    const stream = xds.client.delta();
    const all = await ask(stream, { type_url: TypeUrls.endpoint, resource_names_subscribe: ["*"] });
    expect(all.names).toEqual(["cluster-0", "cluster-1"]);
    const unsubscribed = xds.nextEvent((e) => e.kind === "request" && (e.removed ?? []).includes("*"));
    stream.send({ ...ack(all), resource_names_unsubscribe: ["*"] });
    await unsubscribed;
    xds.store.updateEndpoints([loadAssignment("cluster-0", [9600])]);
    expect((await ask(stream, { type_url: TypeUrls.listener })).type_url).toBe(TypeUrls.listener);
  });

  test("a stale nonce is not an ACK", async () => {
    xds = await startTestXds(resourceSet(2));
    const stream = xds.client.delta();
    await ask(stream, { type_url: TypeUrls.cluster });
    const judged = xds.nextEvent((e) => e.kind === "stale" || e.kind === "ack");
    stream.send({ type_url: TypeUrls.cluster, response_nonce: "999" });
    expect((await judged).kind).toBe("stale");
  });

  test("a NACK is recorded, the rejected resources are not resent, the next version is sent", async () => {
    xds = await startTestXds(resourceSet(2));
    const stream = xds.client.delta();
    await acked(stream, await ask(stream, { type_url: TypeUrls.cluster }));
    const set = resourceSet(2);
    set.clusters[0] = edsCluster("cluster-0", { timeout: "9s" });
    xds.store.publish(set);
    const bad = await stream.next();
    const nacked = xds.nextEvent((e) => e.kind === "nack");
    stream.send({ ...ack(bad), error_detail: { code: 3, message: "cluster-0: rejected" } });
    await nacked;
    expect(xds.server.nacks.recent()).toEqual([
      {
        time: expect.any(Date),
        stream: expect.any(Number),
        nodeId: "envoy-d",
        cluster: "edge",
        typeUrl: TypeUrls.cluster,
        version: bad.system_version_info,
        resourceNames: ["cluster-0"],
        rejected: [{ name: "cluster-0", version: bad.resources[0]!.version }],
        errorDetail: { code: 3, message: "cluster-0: rejected" },
        delta: true,
      },
    ]);
    // A change elsewhere does not bring the rejected cluster back.
    xds.store.publish({ ...set, clusters: [...set.clusters, edsCluster("cluster-x")], endpoints: [...set.endpoints, loadAssignment("cluster-x")] });
    const next = await stream.next();
    expect(next.names).toEqual(["cluster-x"]);
    await acked(stream, next);
    xds.store.publish({ ...set, clusters: [edsCluster("cluster-0", { timeout: "4s" }), set.clusters[1]!] });
    const fixed = await stream.next();
    expect(fixed.names).toEqual(["cluster-0"]);
    expect(fixed.removed_resources).toEqual(["cluster-x"]);
  });

  test("when several types change, clusters come before endpoints and listeners before routes", async () => {
    xds = await startTestXds(resourceSet(2));
    const stream = xds.client.delta();
    for (const request of [
      { type_url: TypeUrls.listener },
      { type_url: TypeUrls.route, resource_names_subscribe: ["route-0"] },
      { type_url: TypeUrls.cluster },
      { type_url: TypeUrls.endpoint, resource_names_subscribe: ["cluster-0", "cluster-1"] },
    ]) {
      await acked(stream, await ask(stream, request));
    }
    const set = resourceSet(2, { routeDomain: "example.org" });
    set.listeners = [{ ...(set.listeners[0] as object), per_connection_buffer_limit_bytes: 1024 }];
    set.clusters[0] = edsCluster("cluster-0", { timeout: "7s" });
    set.endpoints[0] = loadAssignment("cluster-0", [9700]);
    xds.store.publish(set);
    const order = [];
    for (let i = 0; i < 4; i++) order.push((await stream.next()).type_url);
    expect(order).toEqual([TypeUrls.cluster, TypeUrls.endpoint, TypeUrls.listener, TypeUrls.route]);
  });
});

describe("delta with a node view", () => {
  test("a view that changes with another type's change pushes what the node may now see", async () => {
    const set = resourceSet(1);
    set.secrets = [secret("a"), secret("b")];
    xds = await startTestXds(set);
    // Which secrets a node sees follows the listener: the SDS scoping of a later stage, in small.
    let allowed = ["a"];
    xds.store.setNodeView((n, typeUrl, names) => (typeUrl === TypeUrls.secret ? names.filter((name) => allowed.includes(name)) : undefined));
    const stream = xds.client.delta();
    const first = await ask(stream, { type_url: TypeUrls.secret, resource_names_subscribe: ["a", "b"] });
    expect(first.names).toEqual(["a"]);
    await acked(stream, first);
    allowed = ["a", "b"];
    xds.store.publish({ ...set, listeners: [listener("listener-0", "route-0", { port: 9443 })] });
    const widened = await stream.next();
    expect(widened).toMatchObject({ type_url: TypeUrls.secret, names: ["b"], removed_resources: [] });
    await acked(stream, widened);
    allowed = ["b"];
    xds.store.publish(set);
    const narrowed = await stream.next();
    expect(narrowed).toMatchObject({ type_url: TypeUrls.secret, names: [], removed_resources: ["a"] });
  });
});

describe("delta per-type services", () => {
  const cases = [
    ["lds", TypeUrls.listener, [], ["listener-0"]],
    ["rds", TypeUrls.route, ["route-0"], ["route-0"]],
    ["cds", TypeUrls.cluster, [], ["cluster-0", "cluster-1"]],
    ["eds", TypeUrls.endpoint, ["cluster-0"], ["cluster-0"]],
  ] as const;
  for (const [short, typeUrl, names, expected] of cases) {
    test(`${short} serves its type`, async () => {
      xds = await startTestXds(resourceSet(2));
      const response = await ask(xds.client.delta(perTypePaths[short][1]), { resource_names_subscribe: [...names] });
      expect(response).toMatchObject({ type_url: typeUrl, names: [...expected] });
    });
  }

  test("sds serves secrets by name", async () => {
    const set = resourceSet(1);
    set.secrets = [{ name: "tls", tls_certificate: { certificate_chain: { inline_string: "c" } } }];
    xds = await startTestXds(set);
    const response = await ask(xds.client.delta(perTypePaths.sds[1]), { type_url: TypeUrls.secret, resource_names_subscribe: ["tls"] });
    expect(response.names).toEqual(["tls"]);
  });
});
