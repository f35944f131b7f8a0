// A route config NACK naming a virtual host changes what that client alone is sent: the route config
// with that virtual host as the client last accepted it (or without it), so the rest keeps flowing to
// it; another client keeps getting what is built; a virtual host whose built content changes is tried
// again; a client that rejects the substitute too gets the virtual host left out. Delta and sotw.
import { afterEach, describe, expect, test } from "bun:test";
import { TypeUrls, type ResourceSet } from "../src/xds/types.ts";
import type { DeltaResponse, SotwResponse } from "./helpers/ads-client.ts";
import { resourceSet } from "./helpers/xds-resources.ts";
import { startTestXds, type TestXds } from "./helpers/xds-server.ts";

let xds: TestXds;
afterEach(() => xds?.close());

/** ingress_http with virtual hosts a.test and b.test, each routing to the cluster given. */
function withRoutes(a: string, b: string): ResourceSet {
  const vhost = (name: string, cluster: string) => ({ name, domains: [name], routes: [{ match: { prefix: "/" }, route: { cluster } }] });
  return { ...resourceSet(2), listeners: [], routes: [{ name: "ingress_http", virtual_hosts: [vhost("a.test", a), vhost("b.test", b)] }] };
}

type Vhosts = Array<[string, string]>;
/** The virtual hosts of the route config a response carries, with the cluster each routes to. */
function vhostsOf(response: SotwResponse | DeltaResponse): Vhosts {
  const resource = "resources" in response && "resource" in (response.resources[0] ?? {}) ? (response as DeltaResponse).resources[0]!.resource : (response as SotwResponse).resources[0]!;
  return ((resource as { virtual_hosts: Array<{ name: string; routes: Array<{ route: { cluster: string } }> }> }).virtual_hosts).map((v) => [v.name, v.routes[0]!.route.cluster]);
}

const rejectA = { code: 3, message: "RouteConfiguration ingress_http: virtual_hosts[a.test].routes[0]: rejected" };

describe.each(["delta", "sotw"] as const)("%s", (variant) => {
  /** A client of route config ingress_http: ask, and the answers to ACK or NACK a response. */
  function routeClient(node: string) {
    if (variant === "delta") {
      const stream = xds.client.delta();
      stream.send({ node: { id: node }, type_url: TypeUrls.route, resource_names_subscribe: ["ingress_http"] });
      return {
        next: () => stream.next(),
        ack: (r: DeltaResponse | SotwResponse) => stream.send({ type_url: TypeUrls.route, response_nonce: r.nonce }),
        nack: (r: DeltaResponse | SotwResponse, error = rejectA) => stream.send({ type_url: TypeUrls.route, response_nonce: r.nonce, error_detail: error }),
      };
    }
    const stream = xds.client.sotw();
    stream.send({ node: { id: node }, type_url: TypeUrls.route, resource_names: ["ingress_http"] });
    let accepted = "";
    return {
      next: () => stream.next(),
      ack: (r: DeltaResponse | SotwResponse) => {
        accepted = (r as SotwResponse).version_info;
        stream.send({ type_url: TypeUrls.route, resource_names: ["ingress_http"], version_info: accepted, response_nonce: r.nonce });
      },
      nack: (r: DeltaResponse | SotwResponse, error = rejectA) =>
        stream.send({ type_url: TypeUrls.route, resource_names: ["ingress_http"], version_info: accepted, response_nonce: r.nonce, error_detail: error }),
    };
  }

  test("the rejected virtual host is replaced for the rejecting client only, until its content changes", async () => {
    xds = await startTestXds(withRoutes("cluster-0", "cluster-0"));
    const rejecting = routeClient("rejecting");
    const other = routeClient("other");
    const first = await rejecting.next();
    rejecting.ack(first);
    other.ack(await other.next());

    // a.test changes; the rejecting client NACKs it and is sent, at once, a.test as it accepted it
    const nacked = xds.nextEvent((e) => e.kind === "nack");
    xds.store.publish(withRoutes("cluster-1", "cluster-0"));
    rejecting.nack(await rejecting.next());
    await nacked;
    const held = await rejecting.next();
    expect(vhostsOf(held)).toEqual([["a.test", "cluster-0"], ["b.test", "cluster-0"]]);
    rejecting.ack(held);
    const built = await other.next();
    expect(vhostsOf(built)).toEqual([["a.test", "cluster-1"], ["b.test", "cluster-0"]]);
    other.ack(built);

    // b.test changes: it reaches the rejecting client, a.test still held; the other gets what is built
    xds.store.publish(withRoutes("cluster-1", "cluster-1"));
    const next = await rejecting.next();
    expect(vhostsOf(next)).toEqual([["a.test", "cluster-0"], ["b.test", "cluster-1"]]);
    expect(vhostsOf(await other.next())).toEqual([["a.test", "cluster-1"], ["b.test", "cluster-1"]]);

    // it rejects the substitute too: a.test is left out for it
    rejecting.nack(next);
    const without = await rejecting.next();
    expect(vhostsOf(without)).toEqual([["b.test", "cluster-1"]]);
    rejecting.ack(without);

    // a.test changes again: the new content is tried
    xds.store.publish(withRoutes("cluster-0", "cluster-1"));
    expect(vhostsOf(await rejecting.next())).toEqual([["a.test", "cluster-0"], ["b.test", "cluster-1"]]);
  });

  test("a NACK naming no virtual host holds back the virtual hosts changed since the client's last accepted version, and later changes still reach it", async () => {
    // Envoy's RE2 program size error names the regex, not the virtual host.
    const re2 = { code: 3, message: "regex '/r/[a-z]+' RE2 program size of 9 > max program size of 3 set for the error level threshold." };
    const nackOf = () => xds.server.nacks.recent().at(-1)!.rejected;
    xds = await startTestXds(withRoutes("cluster-0", "cluster-0"));
    const rejecting = routeClient("rejecting");
    rejecting.ack(await rejecting.next());

    // a.test changes and is rejected: only a.test is held (as accepted), the record names it
    const nacked = xds.nextEvent((e) => e.kind === "nack");
    xds.store.publish(withRoutes("cluster-1", "cluster-0"));
    rejecting.nack(await rejecting.next(), re2);
    await nacked;
    expect(nackOf().map((r) => [r.name, r.virtualHosts])).toEqual([["ingress_http", ["a.test"]]]);
    const held = await rejecting.next();
    expect(vhostsOf(held)).toEqual([["a.test", "cluster-0"], ["b.test", "cluster-0"]]);
    rejecting.ack(held);

    // b.test changes: it is delivered, not retried with the bad a.test and rejected again
    xds.store.publish(withRoutes("cluster-1", "cluster-1"));
    const next = await rejecting.next();
    expect(vhostsOf(next)).toEqual([["a.test", "cluster-0"], ["b.test", "cluster-1"]]);
    rejecting.ack(next);

    // every virtual host changed: nothing tells them apart, the whole route config is the bad part
    const again = xds.nextEvent((e) => e.kind === "nack");
    xds.store.publish(withRoutes("cluster-2", "cluster-2"));
    const all = await rejecting.next();
    expect(vhostsOf(all)).toEqual([["a.test", "cluster-2"], ["b.test", "cluster-2"]]);
    rejecting.nack(all, re2);
    await again;
    expect(nackOf().map((r) => [r.name, r.virtualHosts])).toEqual([["ingress_http", undefined]]);
  });
});
