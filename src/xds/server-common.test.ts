// What a store change makes every open stream re-examine: the changed types, and the types a node
// view narrows only when a type it depends on changed (SDS scoping follows listeners and clusters,
// so an EDS-only change does not re-scope anybody's secrets).
import { afterEach, describe, expect, test } from "bun:test";
import { installSdsScope } from "./sds-scope.ts";
import { createSnapshotStore, type NodeView } from "./snapshot.ts";
import { TypeUrls } from "./types.ts";
import { edsCluster, listener, loadAssignment, resourceSet, secret } from "../../test/helpers/xds-resources.ts";
import type { DeltaRequestInit, DeltaResponse, RawStream } from "../../test/helpers/ads-client.ts";
import { startTestXds, type TestXds } from "../../test/helpers/xds-server.ts";

const node = { id: "envoy", cluster: "edge" };
let xds: TestXds;
afterEach(() => xds?.close());

async function subscribe(stream: RawStream<DeltaRequestInit, DeltaResponse>, typeUrl: string, names: string[] = []): Promise<DeltaResponse> {
  stream.send({ node, type_url: typeUrl, resource_names_subscribe: names });
  const response = await stream.next();
  const judged = xds.nextEvent((e) => e.kind === "ack" && e.nonce === response.nonce);
  stream.send({ type_url: typeUrl, response_nonce: response.nonce });
  await judged;
  return response;
}

describe("store changes on open streams", () => {
  test("an EDS-only change does not re-scope SDS; a listener change does", async () => {
    const store = createSnapshotStore();
    const set = { ...resourceSet(2), listeners: [listener("listener-0", "route-0", { secret: "cert" })], secrets: [secret("cert"), secret("other")] };
    store.publish(set);
    let secretViews = 0;
    const counting: NodeView = (_node, typeUrl) => {
      if (typeUrl === TypeUrls.secret) secretViews++;
      return undefined;
    };
    installSdsScope(store, { base: counting, baseTypes: [] });
    xds = await startTestXds(undefined, { store });
    const stream = xds.client.delta();
    expect((await subscribe(stream, TypeUrls.secret, ["cert", "other"])).resources.map((r) => r.name)).toEqual(["cert"]);
    const endpointsFirst = await subscribe(stream, TypeUrls.endpoint, ["cluster-0", "cluster-1"]);
    expect(endpointsFirst.resources).toHaveLength(2);
    const viewsBefore = secretViews;
    store.updateEndpoints([loadAssignment("cluster-1", [9100])]);
    const pushed = await stream.next();
    expect(pushed.type_url).toBe(TypeUrls.endpoint);
    expect(pushed.resources.map((r) => r.name)).toEqual(["cluster-1"]);
    expect(secretViews).toBe(viewsBefore);
    // A listener that now fetches "other" too changes what the node may see of SDS: re-scoped and sent.
    store.publish({ ...set, listeners: [listener("listener-0", "route-0", { secret: "cert" }), listener("listener-1", "route-0", { port: 8444, secret: "other" })], clusters: [edsCluster("cluster-0"), edsCluster("cluster-1")] });
    let next = await stream.next();
    while (next.type_url !== TypeUrls.secret) next = await stream.next();
    expect(next.resources.map((r) => r.name)).toEqual(["other"]);
    expect(secretViews).toBeGreaterThan(viewsBefore);
  });
});
