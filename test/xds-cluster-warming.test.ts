// Make before break on ADS, delta and state of the world (src/xds/cluster-warming.ts): a route that points at a new EDS cluster
// is written only after the client was sent that cluster's load assignment, so Envoy never applies a
// route whose cluster still warms (503 NC). Order is shown by what arrives: a later request's answer
// arriving before the route proves the route waited.
import { afterEach, expect, test } from "bun:test";
import { TypeUrls } from "../src/xds/types.ts";
import { perTypePaths, type DeltaRequestInit, type DeltaResponse, type RawStream, type SotwRequestInit, type SotwResponse } from "./helpers/ads-client.ts";
import { edsCluster, loadAssignment, resourceSet, route } from "./helpers/xds-resources.ts";
import { startTestXds, type TestXds } from "./helpers/xds-server.ts";

const node = { id: "envoy-w", cluster: "edge" };
let xds: TestXds;
afterEach(() => xds?.close());

type Stream = RawStream<DeltaRequestInit, DeltaResponse>;

async function ask(stream: Stream, request: DeltaRequestInit): Promise<DeltaResponse> {
  stream.send({ node, ...request });
  return stream.next();
}

async function acked(stream: Stream, response: DeltaResponse): Promise<void> {
  const judged = xds.nextEvent((e) => e.delta && e.kind === "ack" && e.nonce === response.nonce);
  stream.send({ type_url: response.type_url, response_nonce: response.nonce });
  await judged;
}

/** A delta ADS client holding the listener, route-0, every cluster and the assignments of cluster-0 and cluster-1. */
async function subscribed(): Promise<Stream> {
  xds = await startTestXds(resourceSet(2));
  const stream = xds.client.delta();
  for (const request of [
    { type_url: TypeUrls.cluster },
    { type_url: TypeUrls.endpoint, resource_names_subscribe: ["cluster-0", "cluster-1"] },
    { type_url: TypeUrls.listener },
    { type_url: TypeUrls.route, resource_names_subscribe: ["route-0"] },
  ]) {
    await acked(stream, await ask(stream, request));
  }
  return stream;
}

/** The set with a new cluster-2 (and its assignment) that route-0 now points at. */
function withNewCluster() {
  const set = resourceSet(2);
  set.clusters.push(edsCluster("cluster-2"));
  set.endpoints.push(loadAssignment("cluster-2", [9702]));
  set.routes = [route("route-0", "cluster-2")];
  return set;
}

test("a route pointing at a new cluster is written after that cluster's load assignment", async () => {
  const stream = await subscribed();
  xds.store.publish(withNewCluster());
  const clusters = await stream.next();
  expect(clusters.type_url).toBe(TypeUrls.cluster);
  expect(clusters.names).toEqual(["cluster-2"]);
  // As Envoy does once it has processed the CDS response: ACK it, then ask for the new cluster's endpoints.
  stream.send({ type_url: TypeUrls.cluster, response_nonce: clusters.nonce });
  stream.send({ type_url: TypeUrls.endpoint, resource_names_subscribe: ["cluster-2"] });
  const endpoints = await stream.next();
  expect([endpoints.type_url, endpoints.names]).toEqual([TypeUrls.endpoint, ["cluster-2"]]);
  const routes = await stream.next();
  expect([routes.type_url, routes.names]).toEqual([TypeUrls.route, ["route-0"]]);
  expect(JSON.stringify(routes.resources[0]!.resource)).toContain('"cluster-2"');
});

test("a route pointing at a changed cluster still follows at once (its endpoints are resent with it)", async () => {
  const stream = await subscribed();
  const set = resourceSet(2);
  set.clusters[1] = edsCluster("cluster-1", { timeout: "4s" });
  set.routes = [route("route-0", "cluster-1")];
  xds.store.publish(set);
  const order: Array<[string, string[]]> = [];
  for (let i = 0; i < 3; i++) {
    const response = await stream.next();
    order.push([response.type_url, response.names]);
  }
  expect(order).toEqual([
    [TypeUrls.cluster, ["cluster-1"]],
    [TypeUrls.endpoint, ["cluster-1"]],
    [TypeUrls.route, ["route-0"]],
  ]);
});

test("a cluster and its load assignment that a change removes are removed after the route that stops pointing at them", async () => {
  const stream = await subscribed();
  // Route-0 points at cluster-1; then back at cluster-0, and cluster-1 goes away.
  const before = resourceSet(2);
  before.routes = [route("route-0", "cluster-1")];
  xds.store.publish(before);
  await acked(stream, await stream.next());
  const after = resourceSet(1);
  xds.store.publish(after);
  const order: Array<[string, string[], string[]]> = [];
  for (let i = 0; i < 3; i++) {
    const response = await stream.next();
    order.push([response.type_url, response.names, response.removed_resources]);
  }
  expect(order).toEqual([
    [TypeUrls.route, ["route-0"], []],
    [TypeUrls.cluster, [], ["cluster-1"]],
    [TypeUrls.endpoint, [], ["cluster-1"]],
  ]);
});

test("a client that never asks for the new cluster's endpoints still gets the route, after the wait's limit", async () => {
  const stream = await subscribed();
  xds.store.publish(withNewCluster());
  expect((await stream.next()).names).toEqual(["cluster-2"]);
  const routes = await stream.next();
  expect([routes.type_url, routes.names]).toEqual([TypeUrls.route, ["route-0"]]);
});

test("per-type streams are not held: a route stream knows nothing of clusters", async () => {
  xds = await startTestXds(resourceSet(2));
  const routes = xds.client.delta(perTypePaths.rds[1]);
  await acked(routes, await ask(routes, { type_url: TypeUrls.route, resource_names_subscribe: ["route-0"] }));
  xds.store.publish(withNewCluster());
  const pushed = await routes.next();
  expect(pushed.names).toEqual(["route-0"]);
});

test("state of the world: a route pointing at a new cluster is written after that cluster's load assignment", async () => {
  xds = await startTestXds(resourceSet(2));
  const stream: RawStream<SotwRequestInit, SotwResponse> = xds.client.sotw();
  const sotwAcked = async (request: SotwRequestInit) => {
    stream.send({ node, ...request });
    const response = await stream.next();
    const judged = xds.nextEvent((e) => !e.delta && e.kind === "ack" && e.nonce === response.nonce);
    stream.send({ type_url: response.type_url, version_info: response.version_info, response_nonce: response.nonce, resource_names: request.resource_names });
    await judged;
    return response;
  };
  await sotwAcked({ type_url: TypeUrls.cluster });
  await sotwAcked({ type_url: TypeUrls.endpoint, resource_names: ["cluster-0", "cluster-1"] });
  await sotwAcked({ type_url: TypeUrls.listener });
  await sotwAcked({ type_url: TypeUrls.route, resource_names: ["route-0"] });
  xds.store.publish(withNewCluster());
  const clusters = await stream.next();
  expect(clusters.type_url).toBe(TypeUrls.cluster);
  expect(clusters.names).toContain("cluster-2");
  stream.send({ type_url: TypeUrls.cluster, version_info: clusters.version_info, response_nonce: clusters.nonce });
  stream.send({ type_url: TypeUrls.endpoint, resource_names: ["cluster-0", "cluster-1", "cluster-2"] });
  const endpoints = await stream.next();
  expect(endpoints.type_url).toBe(TypeUrls.endpoint);
  expect(endpoints.names).toContain("cluster-2");
  const routes = await stream.next();
  expect([routes.type_url, routes.names]).toEqual([TypeUrls.route, ["route-0"]]);
});
