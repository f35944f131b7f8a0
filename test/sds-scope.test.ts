// SDS scoping over real mTLS: two Envoys claiming the same node id but holding different client
// certificates are told apart by their certificates, and each gets only the secrets its own view
// references; a secret nobody references is never sent, even when asked for by name.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadServerTls, type ServerTls } from "../src/certs/tls-server.ts";
import { createCa, issueLeaf, type PemPair } from "../src/certs/x509.ts";
import { connectXds, tlsChannel, type XdsResponse } from "../src/xds/client.ts";
import { nodeIdentity } from "../src/xds/peer.ts";
import { scopeSecrets } from "../src/xds/sds-scope.ts";
import { startXdsServer, type XdsServer } from "../src/xds/server.ts";
import { createSnapshotStore, type NodeView } from "../src/xds/snapshot.ts";
import { TypeUrls, type NodeInfo } from "../src/xds/types.ts";
import { edsCluster, listener, loadAssignment, route, secret } from "./helpers/xds-resources.ts";

let dir: string;
let ca: PemPair;
let tls: ServerTls;
let server: XdsServer;
let store: ReturnType<typeof createSnapshotStore>;
const seen: NodeInfo[] = [];

/** Tenant "a" sees listener https-a, tenant "b" https-b: chosen by the certificate's identity. */
const byTenant: NodeView = (node, typeUrl, names) => {
  if (typeUrl !== TypeUrls.listener && typeUrl !== TypeUrls.cluster) return undefined;
  seen.push(node);
  return names.filter((name) => name.endsWith(`-${nodeIdentity(node)}`));
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "isobar-sds-scope-"));
  ca = await createCa();
  const serverPair = await issueLeaf(ca, { commonName: "isobar", usage: "server", ipAddresses: ["127.0.0.1"] });
  writeFileSync(join(dir, "ca.crt"), ca.certificatePem);
  writeFileSync(join(dir, "tls.crt"), serverPair.certificatePem);
  writeFileSync(join(dir, "tls.key"), serverPair.privateKeyPem, { mode: 0o600 });
  tls = await loadServerTls({ caFile: join(dir, "ca.crt"), certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key") });
  store = createSnapshotStore();
  store.publish(resources(["cert-a", "cert-b"]));
  store.setNodeView(scopeSecrets(store, byTenant));
  server = await startXdsServer({ store, address: "127.0.0.1", port: 0, credentials: tls.credentials });
});

afterAll(async () => {
  await server.close(100);
  tls.close();
  rmSync(dir, { recursive: true, force: true });
});

async function clientWith(commonName: string, options: { delta: boolean; names: string[] }) {
  const pair = await issueLeaf(ca, { commonName, usage: "client" });
  const { credentials, channelOptions } = tlsChannel(`127.0.0.1:${server.port}`, {
    ca: Buffer.from(ca.certificatePem),
    certificate: Buffer.from(pair.certificatePem),
    privateKey: Buffer.from(pair.privateKeyPem),
  });
  // Both claim the same node id: only the certificate tells them apart.
  return connectXds(`127.0.0.1:${server.port}`, {
    node: { id: "envoy" },
    subscriptions: [{ typeUrl: TypeUrls.secret, names: options.names }],
    delta: options.delta,
    credentials,
    channelOptions,
  });
}

const names = (response: XdsResponse) => response.resources.map((r) => r.name).sort();

/** Listener https-a fetches `secretA` over SDS, https-b fetches cert-b; three secrets exist. */
function resources([secretA, secretB]: [string, string]) {
  return {
    listeners: [listener("https-a", "route-a", { port: 8443, secret: secretA }), listener("https-b", "route-b", { port: 8444, secret: secretB })],
    routes: [route("route-a", "upstream"), route("route-b", "upstream")],
    clusters: [edsCluster("upstream")],
    endpoints: [loadAssignment("upstream")],
    secrets: ["cert-a", "cert-b", "unreferenced"].map(secret),
  };
}

describe("SDS scope over mTLS", () => {
  for (const delta of [false, true]) {
    const mode = delta ? "delta" : "sotw";

    test(`${mode}: two clients with different certificates get different secrets`, async () => {
      const a = await clientWith("a", { delta, names: ["cert-a", "cert-b", "unreferenced"] });
      const b = await clientWith("b", { delta, names: ["cert-a", "cert-b", "unreferenced"] });
      try {
        expect(names(await a.next())).toEqual(["cert-a"]);
        expect(names(await b.next())).toEqual(["cert-b"]);
        expect(seen.some((node) => node.id === "envoy" && node.identity === "a")).toBe(true);
        expect(seen.some((node) => node.id === "envoy" && node.identity === "b")).toBe(true);
      } finally {
        a.close();
        b.close();
      }
    });

    test(`${mode}: a secret asked for by name that no listener references is not sent`, async () => {
      const client = await clientWith("a", { delta, names: ["unreferenced"] });
      try {
        // Nothing is visible, so nothing is answered; the next answer on the same stream is for the
        // visible name alone: had the first request been served, its response would have come first.
        client.subscribe(TypeUrls.secret, ["unreferenced", "cert-a"]);
        const response = await client.next();
        expect(names(response)).toEqual(["cert-a"]);
      } finally {
        client.close();
      }
    });
  }

  test("a secret becomes visible when a listener in the node's view starts to reference it, though the secret did not change", async () => {
    const client = await clientWith("a", { delta: true, names: ["unreferenced", "cert-a"] });
    try {
      expect(names(await client.next())).toEqual(["cert-a"]);
      store.publish(resources(["unreferenced", "cert-b"]));
      const response = await client.next();
      expect(names(response)).toEqual(["unreferenced"]);
      expect(response.removed).toEqual(["cert-a"]);
    } finally {
      client.close();
      store.publish(resources(["cert-a", "cert-b"]));
    }
  });
});
