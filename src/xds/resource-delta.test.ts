import { describe, expect, test } from "bun:test";
import { deltaProblems, type ResourceDelta } from "./resource-delta.ts";
import type { ResourceSet } from "./types.ts";

const cluster = (name: string, timeout = "1s") => ({ name, connect_timeout: timeout });
const host = (name: string) => ({ name, domains: [name] });

function sets() {
  const a = cluster("a");
  const b = cluster("b");
  const h1 = host("h1");
  const h2 = host("h2");
  const base: ResourceSet = { listeners: [], routes: [{ name: "ingress_http", virtual_hosts: [h1, h2] }], clusters: [a, b], endpoints: [], secrets: [] };
  return { a, b, h1, h2, base };
}

describe("deltaProblems", () => {
  test("an exact delta has none: a replaced, c added, b gone, one host replaced", () => {
    const { a, h1, base } = sets();
    const a2 = cluster("a", "2s");
    const c = cluster("c");
    const h2b = host("h2");
    const next: ResourceSet = { ...base, routes: [{ name: "ingress_http", virtual_hosts: [h1, h2b] }], clusters: [a2, c] };
    const delta: ResourceDelta = {
      base,
      changed: { clusters: new Map<string, object | undefined>([["a", a2], ["b", undefined], ["c", c]]), routes: new Map([["ingress_http", next.routes[0]!]]) },
      virtualHosts: new Map([["ingress_http", new Map([["h2", h2b]])]]),
    };
    expect(deltaProblems(next, delta)).toEqual([]);
    expect(a).not.toBe(a2);
  });

  test("names every way a delta can misdescribe the new set", () => {
    const { b, base } = sets();
    const a2 = cluster("a", "2s");
    const next: ResourceSet = { ...base, clusters: [a2, b], secrets: [{ name: "s" }] };
    const delta: ResourceDelta = { base, changed: { clusters: new Map<string, object | undefined>([["b", b], ["z", undefined]]) } };
    expect(deltaProblems(next, delta).sort()).toEqual(["clusters a: changed but not listed", "clusters b: listed but unchanged", "clusters z: listed but in neither set", "secrets: changed but not listed"]);
  });

  test("a host list needs its route configuration listed, every changed host, and the configuration's other fields unchanged", () => {
    const { h1, base } = sets();
    const h2b = host("h2");
    const route = { name: "ingress_http", validate_clusters: false, virtual_hosts: [h1, h2b] };
    const next: ResourceSet = { ...base, routes: [route] };
    expect(deltaProblems(next, { base, changed: { routes: new Map([["ingress_http", route]]) }, virtualHosts: new Map([["ingress_http", new Map()]]) }).sort()).toEqual([
      "route configuration ingress_http host h2: changed but not listed",
    ]);
    expect(deltaProblems(next, { base, changed: {}, virtualHosts: new Map([["ingress_http", new Map([["h2", h2b]])]]) })).toContain(
      "route configuration ingress_http: virtual hosts listed but the route configuration is not",
    );
    const renamed = { name: "ingress_http", request_headers_to_add: [], virtual_hosts: [h1, h2b] };
    const withField = { ...base, routes: [{ ...base.routes[0]!, request_headers_to_add: [{ a: 1 }] }] } as ResourceSet;
    expect(deltaProblems({ ...next, routes: [renamed] }, { base: withField, changed: { routes: new Map([["ingress_http", renamed]]) }, virtualHosts: new Map([["ingress_http", new Map([["h2", h2b]])]]) })).toContain(
      "route configuration ingress_http: hosts listed but its field request_headers_to_add changed",
    );
  });

  test("a listener's filter chains are checked as a route configuration's hosts are", () => {
    const chain = (name: string, sni: string) => ({ name, filter_chain_match: { server_names: [sni] } });
    const a = chain("a", "a.example.com");
    const b = chain("b", "b.example.com");
    const address = { socket_address: { address: "0.0.0.0", port_value: 8443 } };
    const https = { name: "ingress_https", address, filter_chains: [a, b] };
    const base: ResourceSet = { listeners: [https], routes: [], clusters: [], endpoints: [], secrets: [] };
    const b2 = chain("b", "b2.example.com");
    const c = chain("c", "c.example.com");
    const next: ResourceSet = { ...base, listeners: [{ name: "ingress_https", address, filter_chains: [b2, c] }] };
    const listed = (chains: Array<[string, object | undefined]>): ResourceDelta => ({ base, changed: { listeners: new Map([["ingress_https", next.listeners[0]!]]) }, filterChains: new Map([["ingress_https", new Map(chains)]]) });
    expect(deltaProblems(next, listed([["a", undefined], ["b", b2], ["c", c]]))).toEqual([]);
    expect(deltaProblems(next, listed([["b", b2], ["c", c]]))).toEqual(["listener ingress_https filter chain a: gone but not listed as gone"]);
    expect(deltaProblems(next, listed([["a", undefined], ["c", c]]))).toEqual(["listener ingress_https filter chain b: changed but not listed"]);
    const moved = { ...next, listeners: [{ name: "ingress_https", address: { ...address }, filter_chains: [b2, c] }] };
    expect(deltaProblems(moved, { ...listed([["a", undefined], ["b", b2], ["c", c]]), changed: { listeners: new Map([["ingress_https", moved.listeners[0]!]]) } })).toEqual([
      "listener ingress_https: filter chains listed but its field address changed",
    ]);
  });
});
