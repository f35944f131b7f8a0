import { describe, expect, test } from "bun:test";
import { inNamespace, parseVirtualHostName, servedPerHost, takesVhds, virtualHostResources } from "./vhds.ts";

const vhost = (name: string) => ({ name, domains: [name], routes: [] });

describe("VHDS", () => {
  test("only Envoy on delta ADS takes VHDS, unless the node's metadata says otherwise", () => {
    const envoy = { id: "e", cluster: "c", userAgentName: "envoy" };
    expect(takesVhds(envoy, { delta: true, ads: true })).toBe(true);
    expect(takesVhds(envoy, { delta: false, ads: true })).toBe(false);
    expect(takesVhds(envoy, { delta: true, ads: false })).toBe(false);
    expect(takesVhds({ ...envoy, metadata: { "isobar.vhds": false } }, { delta: true, ads: true })).toBe(false);
    expect(takesVhds({ id: "t", cluster: "c", userAgentName: "grpc" }, { delta: true, ads: true })).toBe(false);
    expect(takesVhds({ id: "t", cluster: "c", metadata: { "isobar.vhds": true } }, { delta: true, ads: true })).toBe(true);
    // Metadata never turns VHDS on where Envoy could not take it.
    expect(takesVhds({ id: "t", cluster: "c", metadata: { "isobar.vhds": true } }, { delta: false, ads: true })).toBe(false);
  });

  test("shared route configs with hosts are served per host; per-SNI, empty and slash-named ones are not", () => {
    expect(servedPerHost({ name: "ingress_http", virtual_hosts: [vhost("a.com"), vhost("*")] })).toBe(true);
    expect(servedPerHost({ name: "https/a.com", virtual_hosts: [vhost("a.com")] })).toBe(false);
    expect(servedPerHost({ name: "ingress_http", virtual_hosts: [] })).toBe(false);
    expect(servedPerHost({ name: "ingress_http", virtual_hosts: [vhost("a/b")] })).toBe(false);
    expect(virtualHostResources([{ name: "ingress_http", virtual_hosts: [vhost("*.a.com"), vhost("*")] }, { name: "https/a.com", virtual_hosts: [vhost("a.com")] }])).toEqual([
      { ...vhost("*.a.com"), name: "ingress_http/*.a.com" },
      { ...vhost("*"), name: "ingress_http/*" },
    ]);
  });

  test("a VHDS name is its route config (the namespace, up to the last slash) and its host", () => {
    expect(parseVirtualHostName("ingress_http/*.a.com")).toEqual({ routeConfig: "ingress_http", host: "*.a.com" });
    expect(parseVirtualHostName("ingress_http")).toBeUndefined();
    expect(parseVirtualHostName("ingress_http/")).toBeUndefined();
    expect(inNamespace("ingress_http/a.com", "ingress_http")).toBe(true);
    expect(inNamespace("ingress_https/a.com", "ingress_http")).toBe(false);
  });
});
