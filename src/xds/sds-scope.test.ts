import { describe, expect, test } from "bun:test";
import { nodeIdentity } from "./peer.ts";
import { installSdsScope, scopeSecrets } from "./sds-scope.ts";
import { createSnapshotStore, type NodeView } from "./snapshot.ts";
import { TypeUrls, type NodeInfo, type ResourceSet } from "./types.ts";
import { edsCluster, listener, loadAssignment, route, secret } from "../../test/helpers/xds-resources.ts";

const ads = { ads: {}, resource_api_version: "V3" };

/** An EDS cluster that talks TLS upstream with a client certificate and a CA fetched over SDS. */
function tlsCluster(name: string, certificate: string, validation: string): object {
  return {
    ...edsCluster(name),
    transport_socket: {
      name: "tls",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: certificate, sds_config: ads }],
          validation_context_sds_secret_config: { name: validation, sds_config: ads },
        },
      },
    },
  };
}

function set(): ResourceSet {
  return {
    listeners: [listener("https-a", "route-a", { port: 8443, secret: "cert-a" }), listener("https-b", "route-b", { port: 8444, secret: "cert-b" })],
    routes: [route("route-a", "upstream-a"), route("route-b", "upstream-b")],
    clusters: [tlsCluster("upstream-a", "client-a", "ca-a"), edsCluster("upstream-b")],
    endpoints: [loadAssignment("upstream-a"), loadAssignment("upstream-b")],
    secrets: ["cert-a", "cert-b", "client-a", "ca-a", "unreferenced"].map(secret),
  };
}

/** Tenant "a" sees the -a listener and cluster, tenant "b" the -b ones; by identity, not claimed id. */
const byTenant: NodeView = (node, typeUrl, names) => {
  if (typeUrl !== TypeUrls.listener && typeUrl !== TypeUrls.cluster) return undefined;
  const tenant = nodeIdentity(node);
  return names.filter((name) => name.endsWith(`-${tenant}`));
};

const node = (id: string, identity?: string): NodeInfo => ({ id, cluster: "", ...(identity ? { identity } : {}) });
const allSecrets = ["cert-a", "cert-b", "client-a", "ca-a", "unreferenced"];

describe("SDS scope", () => {
  test("without a base view, every referenced secret is visible and an unreferenced one never is", () => {
    const store = createSnapshotStore();
    store.publish(set());
    store.setNodeView(scopeSecrets(store));
    expect(store.visibleNames(node("any"), TypeUrls.secret, allSecrets)).toEqual(["cert-a", "cert-b", "client-a", "ca-a"]);
    expect(store.visibleNames(node("any"), TypeUrls.secret, ["unreferenced"])).toEqual([]);
    expect(store.visibleNames(node("any"), TypeUrls.listener, ["https-a", "https-b"])).toEqual(["https-a", "https-b"]);
  });

  test("a node sees only the secrets of the listeners and clusters in its own view", () => {
    const store = createSnapshotStore();
    store.publish(set());
    store.setNodeView(scopeSecrets(store, byTenant));
    expect(store.visibleNames(node("a"), TypeUrls.secret, allSecrets)).toEqual(["cert-a", "client-a", "ca-a"]);
    expect(store.visibleNames(node("b"), TypeUrls.secret, allSecrets)).toEqual(["cert-b"]);
    expect(store.visibleNames(node("c"), TypeUrls.secret, allSecrets)).toEqual([]);
    expect(store.visibleNames(node("b"), TypeUrls.listener, ["https-a", "https-b"])).toEqual(["https-b"]);
  });

  test("the certificate's identity decides, not the node id the client claims", () => {
    const store = createSnapshotStore();
    store.publish(set());
    store.setNodeView(scopeSecrets(store, byTenant));
    expect(store.visibleNames(node("a", "b"), TypeUrls.secret, allSecrets)).toEqual(["cert-b"]);
  });

  test("follows a publish that moves a reference, for a node it has already answered", () => {
    const store = createSnapshotStore();
    store.publish(set());
    store.setNodeView(scopeSecrets(store, byTenant));
    const b = node("b");
    expect(store.visibleNames(b, TypeUrls.secret, ["cert-b", "unreferenced"])).toEqual(["cert-b"]);
    const next = set();
    next.listeners[1] = listener("https-b", "route-b", { port: 8444, secret: "unreferenced" });
    store.publish(next);
    expect(store.visibleNames(b, TypeUrls.secret, ["cert-b", "unreferenced"])).toEqual(["unreferenced"]);
  });

  test("installed alone it scopes SDS only; with a base view, the base's types too", () => {
    const store = createSnapshotStore();
    store.publish(set());
    installSdsScope(store);
    expect(Object.values(TypeUrls).filter((typeUrl) => store.viewScopes(typeUrl))).toEqual([TypeUrls.secret]);
    expect(store.visibleNames(node("a"), TypeUrls.secret, allSecrets)).toEqual(["cert-a", "cert-b", "client-a", "ca-a"]);
    installSdsScope(store, { base: byTenant, baseTypes: [TypeUrls.listener, TypeUrls.cluster] });
    expect(Object.values(TypeUrls).filter((typeUrl) => store.viewScopes(typeUrl))).toEqual([TypeUrls.listener, TypeUrls.cluster, TypeUrls.secret]);
    expect(store.visibleNames(node("a"), TypeUrls.secret, allSecrets)).toEqual(["cert-a", "client-a", "ca-a"]);
    installSdsScope(store, { base: byTenant });
    expect(Object.values(TypeUrls).every((typeUrl) => store.viewScopes(typeUrl))).toBe(true);
  });

  test("a base view may narrow secrets further", () => {
    const store = createSnapshotStore();
    store.publish(set());
    const noCa: NodeView = (_node, typeUrl, names) => (typeUrl === TypeUrls.secret ? names.filter((name) => !name.startsWith("ca-")) : undefined);
    store.setNodeView(scopeSecrets(store, noCa));
    expect(store.visibleNames(node("x"), TypeUrls.secret, allSecrets)).toEqual(["cert-a", "cert-b", "client-a"]);
  });
});
