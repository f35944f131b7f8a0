// State-of-the-world xDS protocol rules, each checked with a raw gRPC client over a real socket.
// "No response" is shown by order, never by waiting: a stream's responses arrive in the order the
// server wrote them, so a later request's answer arriving first proves nothing was written before it.
import { afterEach, describe, expect, test } from "bun:test";
import { TypeUrls, type ResourceSet } from "../src/xds/types.ts";
import { perTypePaths, type RawStream, type SotwRequestInit, type SotwResponse } from "./helpers/ads-client.ts";
import { edsCluster, listener, loadAssignment, resourceSet, route } from "./helpers/xds-resources.ts";
import { startTestXds, type TestXds } from "./helpers/xds-server.ts";

const node = { id: "envoy-1", cluster: "edge" };
let xds: TestXds;
afterEach(() => xds?.close());

/** Sends a request and returns the next response. */
async function ask(stream: RawStream<SotwRequestInit, SotwResponse>, request: SotwRequestInit): Promise<SotwResponse> {
  stream.send({ node, ...request });
  return stream.next();
}

const ack = (response: SotwResponse, names: string[] = []): SotwRequestInit => ({
  type_url: response.type_url,
  version_info: response.version_info,
  response_nonce: response.nonce,
  resource_names: names,
});

function withCluster(set: ResourceSet, name: string, timeout = "1s"): ResourceSet {
  return { ...set, clusters: [...set.clusters, edsCluster(name, { timeout })], endpoints: [...set.endpoints, loadAssignment(name)] };
}

describe("sotw ADS", () => {
  test("no response before the first publish; then the waiting client and a new one get the state at once", async () => {
    xds = await startTestXds();
    const early = xds.client.sotw();
    const processed = xds.nextEvent((e) => e.kind === "request" && e.typeUrl === TypeUrls.cluster);
    early.send({ node, type_url: TypeUrls.cluster });
    await processed;
    expect(early.buffered).toBe(0);
    xds.store.publish(resourceSet(2));
    const first = await early.next();
    expect(first.version_info).toBe(xds.store.version(TypeUrls.cluster));
    expect(first.names).toEqual(["cluster-0", "cluster-1"]);
    const late = await ask(xds.client.sotw(), { type_url: TypeUrls.cluster });
    expect(late.names).toEqual(["cluster-0", "cluster-1"]);
  });

  test("every response carries a fresh nonce and the type's version", async () => {
    xds = await startTestXds(resourceSet(2));
    const stream = xds.client.sotw();
    const clusters = await ask(stream, { type_url: TypeUrls.cluster });
    const endpoints = await ask(stream, { type_url: TypeUrls.endpoint, resource_names: ["cluster-0"] });
    expect(endpoints.version_info).toBe(xds.store.version(TypeUrls.endpoint));
    xds.store.publish(withCluster(resourceSet(2), "cluster-9"));
    const pushed = await stream.next();
    const all = [clusters, endpoints, pushed];
    for (const response of all) expect(response.nonce).not.toBe("");
    expect(new Set(all.map((r) => r.nonce)).size).toBe(3);
    expect(clusters.version_info).not.toBe(pushed.version_info);
    expect(pushed.version_info).toBe(xds.store.version(TypeUrls.cluster));
    expect(endpoints.resources[0]).toMatchObject({ cluster_name: "cluster-0" });
  });

  test("a request with a stale nonce is not an ACK, but its change of names is honoured", async () => {
    xds = await startTestXds(resourceSet(3));
    const stream = xds.client.sotw();
    const first = await ask(stream, { type_url: TypeUrls.endpoint, resource_names: ["cluster-0"] });
    const set = resourceSet(3);
    set.endpoints[0] = loadAssignment("cluster-0", [9100]);
    xds.store.publish(set);
    const second = await stream.next();
    expect(second.names).toEqual(["cluster-0"]);
    const judged = xds.nextEvent((e) => e.kind === "stale" || e.kind === "ack" || e.kind === "nack");
    const answer = await ask(stream, { ...ack(first, ["cluster-0", "cluster-1"]) });
    expect((await judged).kind).toBe("stale");
    expect(answer.names).toEqual(["cluster-1"]);
  });

  test("ACK or NACK is decided by error_detail, not by version_info", async () => {
    xds = await startTestXds(resourceSet(2));
    const stream = xds.client.sotw();
    const first = await ask(stream, { type_url: TypeUrls.cluster });
    // An ACK that names an old version is still an ACK.
    const acked = xds.nextEvent((e) => e.kind === "ack" || e.kind === "nack");
    stream.send({ ...ack(first), version_info: "some-older-version" });
    expect(await acked).toMatchObject({ kind: "ack", version: first.version_info, nonce: first.nonce });
    xds.store.publish(withCluster(resourceSet(2), "cluster-2"));
    const second = await stream.next();
    // A NACK that names the new version is still a NACK.
    const nacked = xds.nextEvent((e) => e.kind === "ack" || e.kind === "nack");
    stream.send({ ...ack(second), error_detail: { code: 3, message: "cluster-2: bad" } });
    expect(await nacked).toMatchObject({ kind: "nack", version: second.version_info });
    expect(xds.server.nacks.recent()).toHaveLength(1);
  });

  test("LDS and CDS are wildcard unless names are given; '*' asks for everything", async () => {
    xds = await startTestXds(resourceSet(3));
    expect((await ask(xds.client.sotw(), { type_url: TypeUrls.cluster })).names).toEqual(["cluster-0", "cluster-1", "cluster-2"]);
    expect((await ask(xds.client.sotw(), { type_url: TypeUrls.cluster, resource_names: ["*"] })).names).toHaveLength(3);
    expect((await ask(xds.client.sotw(), { type_url: TypeUrls.cluster, resource_names: ["cluster-1", "missing"] })).names).toEqual(["cluster-1"]);
    expect((await ask(xds.client.sotw(), { type_url: TypeUrls.listener })).names).toEqual(["listener-0"]);
  });

  test("a wildcard client that later names resources gets only those; an empty list then means none", async () => {
    xds = await startTestXds(resourceSet(3));
    const stream = xds.client.sotw();
    const all = await ask(stream, { type_url: TypeUrls.cluster });
    const named = await ask(stream, ack(all, ["cluster-2"]));
    expect(named.names).toEqual(["cluster-2"]);
    const none = await ask(stream, ack(named, []));
    expect(none.names).toEqual([]);
  });

  test("LDS and CDS removals: the full set without the removed resource", async () => {
    xds = await startTestXds(resourceSet(3));
    const stream = xds.client.sotw();
    const first = await ask(stream, { type_url: TypeUrls.cluster });
    stream.send(ack(first));
    xds.store.publish(resourceSet(2));
    const second = await stream.next();
    expect(second.names).toEqual(["cluster-0", "cluster-1"]);
  });

  test("RDS, EDS and SDS are by name: nothing named, nothing sent; missing names are omitted", async () => {
    xds = await startTestXds(resourceSet(2));
    const stream = xds.client.sotw();
    stream.send({ node, type_url: TypeUrls.route });
    stream.send({ node, type_url: TypeUrls.endpoint, resource_names: ["missing"] });
    stream.send({ node, type_url: TypeUrls.secret, resource_names: ["missing"] });
    const routes = await ask(stream, { type_url: TypeUrls.route, resource_names: ["route-0", "missing"] });
    expect(routes.type_url).toBe(TypeUrls.route);
    expect(routes.names).toEqual(["route-0"]);
    // A named resource that appears later is pushed when it does.
    const set = resourceSet(2);
    set.endpoints.push(loadAssignment("missing"));
    xds.store.publish(set);
    const appeared = await stream.next();
    expect(appeared).toMatchObject({ type_url: TypeUrls.endpoint, names: ["missing"] });
  });

  test("unsubscribed names are no longer pushed; subscribing again sends them again", async () => {
    xds = await startTestXds(resourceSet(2));
    const stream = xds.client.sotw();
    const both = await ask(stream, { type_url: TypeUrls.endpoint, resource_names: ["cluster-0", "cluster-1"] });
    expect(both.names).toEqual(["cluster-0", "cluster-1"]);
    const acked = xds.nextEvent((e) => e.kind === "ack");
    stream.send(ack(both, ["cluster-0"]));
    await acked;
    const set = resourceSet(2);
    set.endpoints[1] = loadAssignment("cluster-1", [9200]);
    xds.store.publish(set);
    const clusters = await ask(stream, { type_url: TypeUrls.cluster });
    expect(clusters.type_url).toBe(TypeUrls.cluster);
    const again = await ask(stream, ack(both, ["cluster-0", "cluster-1"]));
    expect(again.names).toEqual(["cluster-1"]);
    expect(again.resources[0]).toMatchObject({ endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_value: 9200 } } } }] }] });
  });

  test("an EDS change sends only the changed load assignment", async () => {
    xds = await startTestXds(resourceSet(3));
    const stream = xds.client.sotw();
    const all = await ask(stream, { type_url: TypeUrls.endpoint, resource_names: ["cluster-0", "cluster-1", "cluster-2"] });
    stream.send(ack(all, ["cluster-0", "cluster-1", "cluster-2"]));
    xds.store.updateEndpoints([loadAssignment("cluster-2", [9300])]);
    const changed = await stream.next();
    expect(changed.names).toEqual(["cluster-2"]);
  });

  test("when several types change, clusters come before endpoints and listeners before routes", async () => {
    xds = await startTestXds(resourceSet(2));
    const stream = xds.client.sotw();
    const responses = [];
    responses.push(await ask(stream, { type_url: TypeUrls.listener }));
    responses.push(await ask(stream, { type_url: TypeUrls.route, resource_names: ["route-0"] }));
    responses.push(await ask(stream, { type_url: TypeUrls.cluster }));
    responses.push(await ask(stream, { type_url: TypeUrls.endpoint, resource_names: ["cluster-0", "cluster-1"] }));
    for (const response of responses) stream.send(ack(response, response.type_url === TypeUrls.route ? ["route-0"] : response.names));
    const set = resourceSet(2, { routeDomain: "example.com" });
    set.listeners = [listener("listener-0", "route-0", { port: 9090 })];
    set.clusters = [edsCluster("cluster-0", { timeout: "3s" }), edsCluster("cluster-1")];
    set.endpoints = [loadAssignment("cluster-0", [9400]), loadAssignment("cluster-1")];
    xds.store.publish(set);
    const order = [];
    for (let i = 0; i < 4; i++) order.push((await stream.next()).type_url);
    expect(order).toEqual([TypeUrls.cluster, TypeUrls.endpoint, TypeUrls.listener, TypeUrls.route]);
  });

  test("a NACK is recorded and the rejected version is not resent; the next version is sent", async () => {
    xds = await startTestXds(resourceSet(2));
    const seen: string[] = [];
    xds.server.nacks.on((nack) => seen.push(nack.version));
    const stream = xds.client.sotw();
    const bad = await ask(stream, { type_url: TypeUrls.cluster });
    const nacked = xds.nextEvent((e) => e.kind === "nack");
    stream.send({ ...ack(bad), version_info: "", error_detail: { code: 3, message: "cluster-1: unsupported field" } });
    await nacked;
    expect(xds.server.nacks.recent()).toEqual([
      {
        time: expect.any(Date),
        stream: expect.any(Number),
        nodeId: "envoy-1",
        cluster: "edge",
        typeUrl: TypeUrls.cluster,
        version: bad.version_info,
        resourceNames: ["cluster-0", "cluster-1"],
        rejected: [{ name: "cluster-1", version: expect.any(String) }],
        errorDetail: { code: 3, message: "cluster-1: unsupported field" },
        delta: false,
      },
    ]);
    expect(seen).toEqual([bad.version_info]);
    // The next response on the stream is the listener asked for after the NACK: nothing was resent.
    const next = await ask(stream, { type_url: TypeUrls.listener });
    expect(next.type_url).toBe(TypeUrls.listener);
    xds.store.publish(withCluster(resourceSet(2), "cluster-fixed"));
    const fixed = await stream.next();
    expect(fixed.type_url).toBe(TypeUrls.cluster);
    expect(fixed.version_info).not.toBe(bad.version_info);
    expect(fixed.names).toContain("cluster-fixed");
  });

  test("a NACKed cluster is replaced, for the client that rejected it only, by its last accepted version until it changes", async () => {
    xds = await startTestXds(resourceSet(2));
    const rejecting = xds.client.sotw();
    const other = xds.client.sotw();
    const first = await ask(rejecting, { type_url: TypeUrls.cluster });
    rejecting.send(ack(first));
    const otherFirst = await ask(other, { node: { id: "envoy-2" }, type_url: TypeUrls.cluster });
    other.send(ack(otherFirst));
    const timeoutOf = (response: SotwResponse, name: string) => response.resources.find((r) => r.name === name)?.connect_timeout;
    // cluster-1 changes; the first client rejects it
    const changed = { ...resourceSet(2), clusters: [edsCluster("cluster-0"), edsCluster("cluster-1", { timeout: "7s" })] };
    xds.store.publish(changed);
    const bad = await rejecting.next();
    expect(timeoutOf(bad, "cluster-1")).toBe("7s");
    const nacked = xds.nextEvent((e) => e.kind === "nack");
    rejecting.send({ ...ack(bad), version_info: first.version_info, error_detail: { code: 3, message: "Error adding/updating cluster(s) cluster-1: rejected" } });
    await nacked;
    expect(xds.server.nacks.recent()[0]!.rejected.map((r) => r.name)).toEqual(["cluster-1"]);
    // Another change: the rejecting client gets it with its accepted cluster-1; the other client gets what is built.
    xds.store.publish(withCluster(changed, "cluster-2"));
    const held = await rejecting.next();
    expect(held.names).toEqual(["cluster-0", "cluster-1", "cluster-2"]);
    expect(timeoutOf(held, "cluster-1")).toBe("1s");
    rejecting.send(ack(held));
    expect(timeoutOf(await other.next(), "cluster-1")).toBe("7s");
    const built = await other.next();
    expect(timeoutOf(built, "cluster-1")).toBe("7s");
    expect(built.names).toEqual(["cluster-0", "cluster-1", "cluster-2"]);
    // cluster-1 changes again: the new content is tried
    xds.store.publish(withCluster({ ...changed, clusters: [edsCluster("cluster-0"), edsCluster("cluster-1", { timeout: "8s" })] }, "cluster-2"));
    expect(timeoutOf(await rejecting.next(), "cluster-1")).toBe("8s");
  });

  test("identical clients receive identical bytes from the shared response", async () => {
    xds = await startTestXds(resourceSet(5));
    const a = await ask(xds.client.sotw(), { type_url: TypeUrls.cluster });
    const b = await ask(xds.client.sotw(), { type_url: TypeUrls.cluster });
    expect(b.resources).toEqual(a.resources);
    expect(b.bytes).toBe(a.bytes);
    const cached = xds.store.resources(TypeUrls.cluster).get("cluster-0")!;
    expect(cached.wire?.sotw).toBeInstanceOf(Uint8Array);
  });

  test("a per-node view decides what one client sees", async () => {
    xds = await startTestXds(resourceSet(3));
    xds.store.setNodeView((n, typeUrl, names) => (n.id === "restricted" && typeUrl === TypeUrls.cluster ? ["cluster-1"] : undefined));
    const restricted = xds.client.sotw();
    restricted.send({ node: { id: "restricted" }, type_url: TypeUrls.cluster });
    expect((await restricted.next()).names).toEqual(["cluster-1"]);
    expect((await ask(xds.client.sotw(), { type_url: TypeUrls.cluster })).names).toHaveLength(3);
  });
});

describe("sotw per-type services", () => {
  const cases = [
    ["lds", TypeUrls.listener, [], ["listener-0"]],
    ["rds", TypeUrls.route, ["route-0"], ["route-0"]],
    ["cds", TypeUrls.cluster, [], ["cluster-0", "cluster-1"]],
    ["eds", TypeUrls.endpoint, ["cluster-1"], ["cluster-1"]],
  ] as const;
  for (const [short, typeUrl, names, expected] of cases) {
    test(`${short} serves its type, with or without type_url in the request`, async () => {
      xds = await startTestXds(resourceSet(2));
      const path = perTypePaths[short][0];
      expect((await ask(xds.client.sotw(path), { type_url: typeUrl, resource_names: [...names] })).names).toEqual([...expected]);
      const bare = await ask(xds.client.sotw(path), { resource_names: [...names] });
      expect(bare).toMatchObject({ type_url: typeUrl, names: [...expected] });
    });
  }

  test("sds serves secrets by name", async () => {
    const set = resourceSet(1);
    set.listeners = [listener("listener-0", "route-0", { secret: "tls" })];
    set.secrets = [{ name: "tls", tls_certificate: { certificate_chain: { inline_string: "c" }, private_key: { inline_string: "k" } } }];
    xds = await startTestXds(set);
    const response = await ask(xds.client.sotw(perTypePaths.sds[0]), { type_url: TypeUrls.secret, resource_names: ["tls"] });
    expect(response.names).toEqual(["tls"]);
  });

  test("a per-type service refuses another type", async () => {
    xds = await startTestXds(resourceSet(1));
    const stream = xds.client.sotw(perTypePaths.cds[0]);
    stream.send({ node, type_url: TypeUrls.listener });
    expect((await stream.ended).code).toBe(3);
  });

  test("a listener that names a route config arrives before the route config on ADS", async () => {
    xds = await startTestXds({ ...resourceSet(1), routes: [route("route-0", "cluster-0")] });
    const stream = xds.client.sotw();
    const listeners = await ask(stream, { type_url: TypeUrls.listener });
    expect(listeners.resources[0]).toMatchObject({ name: "listener-0" });
  });
});
