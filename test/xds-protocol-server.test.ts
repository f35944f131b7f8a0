// The xDS server as a process-level thing: many concurrent streams, clients that vanish (closed,
// cancelled, or silent until keepalive gives up on them), graceful close, and `agent serve`'s runServe.
import { afterEach, describe, expect, test } from "bun:test";
import { createServer, connect, type Socket } from "node:net";
import { runServe, type RunningAgent } from "../src/agent/agent.ts";
import { TypeUrls } from "../src/xds/types.ts";
import { connectRaw, type RawClient } from "./helpers/ads-client.ts";
import { loadAssignment, resourceSet } from "./helpers/xds-resources.ts";
import { startTestXds, type TestXds } from "./helpers/xds-server.ts";

let xds: TestXds | undefined;
let agent: RunningAgent | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await xds?.close();
  await agent?.close(500);
  xds = agent = undefined;
});

/** Resolves once `count` streams have closed on the server. */
function closes(count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const stop = xds!.server.on((event) => {
      if (event.kind === "close" && ++seen === count) {
        stop();
        resolve();
      }
    });
  });
}

describe("xDS server", () => {
  test("many concurrent streams, sotw and delta, all get the state and every change", async () => {
    xds = await startTestXds(resourceSet(3));
    const connections = Array.from({ length: 10 }, () => connectRaw(xds!.server.port));
    clients.push(...connections);
    const sotw = connections.flatMap((c) => Array.from({ length: 10 }, () => c.sotw()));
    const delta = connections.flatMap((c) => Array.from({ length: 10 }, () => c.delta()));
    sotw.forEach((s, i) => s.send({ node: { id: `s${i}` }, type_url: TypeUrls.endpoint, resource_names: ["cluster-0", "cluster-2"] }));
    delta.forEach((s, i) => s.send({ node: { id: `d${i}` }, type_url: TypeUrls.endpoint, resource_names_subscribe: ["cluster-0", "cluster-2"] }));
    const first = await Promise.all([...sotw.map((s) => s.next()), ...delta.map((s) => s.next())]);
    expect(first.every((r) => r.names.join() === "cluster-0,cluster-2")).toBe(true);
    expect(xds.server.streams()).toBe(200);
    expect(xds.store.subscriberCount()).toBe(200);
    xds.store.updateEndpoints([loadAssignment("cluster-2", [9800])]);
    const pushed = await Promise.all([...sotw.map((s) => s.next()), ...delta.map((s) => s.next())]);
    expect(pushed.every((r) => r.names.join() === "cluster-2")).toBe(true);
  });

  test("clients that close, cancel or disconnect leave no stream and no subscription behind", async () => {
    xds = await startTestXds(resourceSet(1));
    const closingClient = connectRaw(xds.server.port);
    const cancelling = connectRaw(xds.server.port);
    const streams = [closingClient.sotw(), closingClient.delta(), cancelling.sotw(), cancelling.delta()];
    for (const stream of streams) stream.send({ type_url: TypeUrls.cluster });
    await Promise.all(streams.map((s) => s.next()));
    expect(xds.server.streams()).toBe(4);
    const gone = closes(4);
    closingClient.close();
    streams[2]!.close();
    streams[3]!.close();
    await gone;
    expect(xds.server.streams()).toBe(0);
    expect(xds.store.subscriberCount()).toBe(0);
    cancelling.close();
  });

  test("keepalive drops a client that went silent without closing its connection", async () => {
    xds = await startTestXds(resourceSet(1), { keepalive: { timeMs: 100, timeoutMs: 100 } });
    const proxy = await freezableProxy(xds.server.port);
    const client = connectRaw(proxy.port);
    clients.push(client);
    const stream = client.delta();
    stream.send({ node: { id: "silent" }, type_url: TypeUrls.cluster });
    await stream.next();
    const gone = closes(1);
    proxy.freeze();
    await gone;
    expect(xds.server.streams()).toBe(0);
    expect(xds.store.subscriberCount()).toBe(0);
    proxy.close();
  });

  test("a client that does not keep up gets the latest state once it drains, not every version", async () => {
    xds = await startTestXds(resourceSet(1));
    const client = connectRaw(xds.server.port);
    clients.push(client);
    const stream = client.delta();
    stream.send({ node: { id: "slow" }, type_url: TypeUrls.endpoint, resource_names_subscribe: ["cluster-0"] });
    await stream.next();
    // Synchronous updates: the stream's write buffer fills before any write can complete.
    const updates = 100;
    for (let i = 1; i <= updates; i++) xds.store.updateEndpoints([loadAssignment("cluster-0", [10_000 + i])]);
    const latest = xds.store.version(TypeUrls.endpoint);
    let received = 0;
    let last;
    do {
      last = await stream.next();
      received++;
    } while (last.system_version_info !== latest);
    expect(received).toBeLessThan(updates);
    expect(last.resources[0]!.resource).toMatchObject({ endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { port_value: 10_000 + updates } } } }] }] });
  });

  test("close ends every stream with OK and stops listening", async () => {
    xds = await startTestXds(resourceSet(1));
    const client = connectRaw(xds.server.port);
    clients.push(client);
    const stream = client.sotw();
    stream.send({ type_url: TypeUrls.listener });
    await stream.next();
    await xds.server.close(1000);
    expect((await stream.ended).code).toBe(0);
    expect(xds.server.streams()).toBe(0);
    expect(await canConnect(xds.server.port)).toBe(false);
  });
});

describe("runServe", () => {
  test("serves an empty published snapshot until a source publishes, and returns the store to publish into", async () => {
    agent = await runServe({ address: "127.0.0.1", port: 0 });
    const client = connectRaw(agent.server.port);
    clients.push(client);
    const stream = client.sotw();
    stream.send({ node: { id: "e" }, type_url: TypeUrls.cluster });
    const empty = await stream.next();
    expect(empty.names).toEqual([]);
    expect(empty.version_info).toBe(agent.store.version(TypeUrls.cluster));
    const listeners = client.delta();
    listeners.send({ node: { id: "e" }, type_url: TypeUrls.listener });
    expect((await listeners.next()).names).toEqual([]);
    agent.store.publish(resourceSet(1));
    expect((await stream.next()).names).toEqual(["cluster-0"]);
  });
});

/** A TCP proxy that can stop forwarding without closing anything: a client that vanished silently. */
async function freezableProxy(target: number): Promise<{ port: number; freeze(): void; close(): void }> {
  const sockets: Socket[] = [];
  let frozen = false;
  const server = createServer((inbound) => {
    const outbound = connect(target, "127.0.0.1");
    sockets.push(inbound, outbound);
    inbound.on("data", (chunk) => frozen || outbound.write(chunk));
    outbound.on("data", (chunk) => frozen || inbound.write(chunk));
    inbound.on("error", () => outbound.destroy());
    outbound.on("error", () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => (frozen = true),
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

