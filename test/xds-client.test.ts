// The xDS client library and `agent xds` against our real server: state-of-the-world and delta
// fetches over ADS and the per-type services, watching for updates, and the TLS flags.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { CliError } from "../src/cli/errors.ts";
import { channelCredentials, runXdsCommand, type XdsCommandFlags } from "../src/cli/xds.ts";
import { createCa, issueLeaf } from "../src/certs/x509.ts";
import { connectXds, resolveTypeUrl, responseToJson, xdsTypes, type XdsResponse } from "../src/xds/client.ts";
import { createSnapshotStore } from "../src/xds/snapshot.ts";
import { startXdsServer } from "../src/xds/server.ts";
import type { ResourceSet } from "../src/xds/types.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

function cluster(name: string): object {
  return { name, type: "EDS", connect_timeout: "1s", eds_cluster_config: { service_name: name, eds_config: { ads: {}, resource_api_version: "V3" } } };
}

function loadAssignment(name: string, port: number): object {
  return {
    cluster_name: name,
    endpoints: [{ locality: { zone: "a" }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: port } } } }] }],
  };
}

function resources(options: { port: number } = { port: 8080 }): ResourceSet {
  return {
    listeners: [],
    routes: [],
    clusters: [cluster("default/a"), cluster("default/b")],
    endpoints: [loadAssignment("default/a", options.port), loadAssignment("default/b", 9090)],
    secrets: [],
  };
}

const names = (response: XdsResponse) => response.resources.map((r) => r.name).sort();

let store: ReturnType<typeof createSnapshotStore>;
let server: Awaited<ReturnType<typeof startXdsServer>>;
let address: string;

beforeAll(async () => {
  store = createSnapshotStore();
  store.publish(resources());
  server = await startXdsServer({ store, address: "127.0.0.1", port: 0 });
  address = `127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.close();
});

describe("client library", () => {
  test("resolves short names and type URLs", () => {
    expect(resolveTypeUrl("cds")).toBe(xdsTypes.cds);
    expect(resolveTypeUrl(xdsTypes.eds)).toBe(xdsTypes.eds);
    expect(resolveTypeUrl("envoy.config.listener.v3.Listener")).toBe(xdsTypes.lds);
    expect(resolveTypeUrl("nope")).toBeUndefined();
  });

  for (const delta of [false, true]) {
    for (const ads of [true, false]) {
      test(`${delta ? "delta" : "sotw"} ${ads ? "ADS" : "per-type"}: wildcard CDS, then EDS by name`, async () => {
        const cds = connectXds(address, { node: { id: "t1" }, delta, ads, subscriptions: [{ typeUrl: xdsTypes.cds }] });
        const clusters = await cds.next();
        cds.close();
        expect(clusters.typeUrl).toBe(xdsTypes.cds);
        expect(clusters.nonce).not.toBe("");
        expect(names(clusters)).toEqual(["default/a", "default/b"]);
        if (delta) expect(clusters.resources.every((r) => r.version !== "")).toBe(true);
        else expect(clusters.version).not.toBe("");

        const eds = connectXds(address, { node: { id: "t1" }, delta, ads, subscriptions: [{ typeUrl: xdsTypes.eds, names: ["default/b"] }] });
        const endpoints = await eds.next();
        eds.close();
        expect(names(endpoints)).toEqual(["default/b"]);
        const json = responseToJson(endpoints) as { resources: unknown[] };
        const body = JSON.stringify(json.resources[0]);
        expect(body).toContain('"port_value":9090');
        expect(body).toContain(xdsTypes.eds);
      });
    }
  }

  test("delta: a changed load assignment arrives alone, with a new version", async () => {
    const eds = connectXds(address, { node: { id: "t2" }, delta: true, subscriptions: [{ typeUrl: xdsTypes.eds, names: ["default/a", "default/b"] }] });
    const first = await eds.next();
    expect(names(first)).toEqual(["default/a", "default/b"]);
    const before = first.resources.find((r) => r.name === "default/a")!.version;
    store.publish(resources({ port: 8081 }));
    const second = await eds.next();
    eds.close();
    expect(names(second)).toEqual(["default/a"]);
    expect(second.resources[0]!.version).not.toBe(before);
    expect(second.size).toBeLessThan(first.size);
  });

  for (const delta of [false, true]) {
    test(`${delta ? "delta" : "sotw"}: subscribing to one more name brings it`, async () => {
      const eds = connectXds(address, { node: { id: "t4" }, delta, subscriptions: [{ typeUrl: xdsTypes.eds, names: ["default/a"] }] });
      expect(names(await eds.next())).toEqual(["default/a"]);
      eds.subscribe(xdsTypes.eds, ["default/a", "default/b"]);
      const next = await eds.next();
      eds.close();
      // Delta sends only the new name; state-of-the-world may resend both, and must include the new one.
      if (delta) expect(names(next)).toEqual(["default/b"]);
      else expect(names(next)).toContain("default/b");
    });
  }

  test("delta reconnect: with the versions it holds, the client is sent only what differs", async () => {
    const first = connectXds(address, { node: { id: "t5" }, delta: true, subscriptions: [{ typeUrl: xdsTypes.eds, names: ["default/a", "default/b"] }] });
    const held = Object.fromEntries((await first.next()).resources.map((r) => [r.name, r.version]));
    first.close();
    const again = connectXds(address, {
      node: { id: "t5" },
      delta: true,
      subscriptions: [{ typeUrl: xdsTypes.eds, names: ["default/a", "default/b"], initialVersions: { ...held, "default/b": "stale" } }],
    });
    const response = await again.next();
    again.close();
    expect(names(response)).toEqual(["default/b"]);
    expect(response.resources[0]!.version).toBe(held["default/b"]!);
  });

  test("a NACK chosen by judge reaches the server's NACK log", async () => {
    const nacked = new Promise<unknown>((resolve) => server.nacks.on((nack: unknown) => resolve(nack)));
    const cds = connectXds(address, {
      node: { id: "nacker" },
      subscriptions: [{ typeUrl: xdsTypes.cds }],
      judge: () => "cluster rejected by test",
    });
    await cds.next();
    const nack = JSON.stringify(await nacked);
    cds.close();
    expect(nack).toContain("nacker");
    expect(nack).toContain("cluster rejected by test");
  });

  test("a server that is not there: waitForReady rejects with a clear message", async () => {
    const probe = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      probe.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    probe.forceShutdown(); // the port is now closed: nothing listens there
    const client = connectXds(`127.0.0.1:${port}`, { node: { id: "t3" }, subscriptions: [{ typeUrl: xdsTypes.cds }] });
    await expect(client.waitForReady(300)).rejects.toThrow(`cannot connect to 127.0.0.1:${port} within 0.3s`);
    client.close();
  });
});

function flags(overrides: Partial<XdsCommandFlags>): XdsCommandFlags {
  return { server: address, nodeId: "cli", nodeCluster: "", type: "cds", names: [], delta: false, ads: true, watch: false, output: "json", timeout: "5s", ...overrides };
}

describe("agent xds", () => {
  test("prints the first response as one JSON line and returns", async () => {
    const lines: string[] = [];
    await runXdsCommand(flags({ type: "eds", names: ["default/b"] }), (line) => lines.push(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    const response = JSON.parse(lines[0]!) as { type_url: string; resources: Array<{ cluster_name: string }> };
    expect(response.type_url).toBe(xdsTypes.eds);
    expect(response.resources.map((r) => r.cluster_name)).toEqual(["default/b"]);
  });

  test("--delta --output pretty prints the delta response over several lines", async () => {
    const lines: string[] = [];
    await runXdsCommand(flags({ delta: true, output: "pretty" }), (line) => lines.push(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.split("\n").length).toBeGreaterThan(3);
    const response = JSON.parse(lines[0]!) as { resources: Array<{ name: string; version: string }> };
    expect(response.resources.map((r) => r.name).sort()).toEqual(["default/a", "default/b"]);
  });

  test("--watch prints the next update too", async () => {
    const abort = new AbortController();
    const lines: string[] = [];
    let secondLine: () => void = () => {};
    const second = new Promise<void>((resolve) => (secondLine = resolve));
    const first = new Promise<void>((resolveFirst) => {
      void runXdsCommand(
        flags({ type: "eds", names: ["default/a"], watch: true, delta: true }),
        (line) => {
          lines.push(line);
          if (lines.length === 1) resolveFirst();
          if (lines.length === 2) secondLine();
        },
        { signal: abort.signal },
      );
    });
    await first;
    store.publish(resources({ port: 7070 }));
    await second;
    abort.abort();
    expect(lines[1]).toContain('"port_value":7070');
  });

  test("TLS flags go together: one or two of them is a usage error", () => {
    for (const partial of [{ caFile: "ca.pem" }, { caFile: "ca.pem", certFile: "c.pem" }, { keyFile: "k.pem" }]) {
      let caught: unknown;
      try {
        channelCredentials(partial);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CliError);
      expect((caught as CliError).code).toBe(2);
      expect((caught as CliError).message).toBe("--ca-file, --cert-file and --key-file go together: give all three or none");
    }
  });

  test("the binary's entry: a bad flag is one line on stderr and exit 2; no server is exit 1", async () => {
    const main = join(import.meta.dir, "../src/main.ts");
    const usage = Bun.spawn([process.execPath, main, "xds", "--server", address, "--cert-file", "x.pem"], { stdout: "pipe", stderr: "pipe" });
    expect(await usage.exited).toBe(2);
    expect((await new Response(usage.stderr).text()).trim().split("\n")).toEqual(["agent: --ca-file, --cert-file and --key-file go together: give all three or none"]);

    const down = Bun.spawn([process.execPath, main, "xds", "--server", "127.0.0.1:1", "--timeout", "200ms"], { stdout: "pipe", stderr: "pipe" });
    expect(await down.exited).toBe(1);
    expect((await new Response(down.stderr).text()).trim()).toBe("agent: cannot connect to 127.0.0.1:1 within 0.2s");
  });

  test("with all three files: TLS with the client certificate against a server that requires one", async () => {
    const ca = await createCa();
    const serverPair = await issueLeaf(ca, { commonName: "xds", ipAddresses: ["127.0.0.1"], dnsNames: ["localhost"], usage: "server" });
    const clientPair = await issueLeaf(ca, { commonName: "envoy", usage: "client" });
    const dir = mkdtempSync(join(tmpdir(), "isobar-xds-tls-"));
    try {
      writeFileSync(join(dir, "ca.pem"), ca.certificatePem);
      writeFileSync(join(dir, "tls.crt"), clientPair.certificatePem);
      writeFileSync(join(dir, "tls.key"), clientPair.privateKeyPem);
      const credentials = grpc.ServerCredentials.createSsl(
        Buffer.from(ca.certificatePem),
        [{ cert_chain: Buffer.from(serverPair.certificatePem), private_key: Buffer.from(serverPair.privateKeyPem) }],
        true,
      );
      const tlsServer = await startXdsServer({ store, address: "127.0.0.1", port: 0, credentials });
      try {
        const lines: string[] = [];
        const tlsFlags = { caFile: join(dir, "ca.pem"), certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key") };
        await runXdsCommand(flags({ ...tlsFlags, server: `127.0.0.1:${tlsServer.port}` }), (line) => lines.push(line));
        expect(JSON.parse(lines[0]!).type_url).toBe(xdsTypes.cds);

        // The same server refuses a client without a certificate: the handshake never completes.
        const bare = runXdsCommand(flags({ server: `127.0.0.1:${tlsServer.port}`, timeout: "300ms" }), () => {});
        await expect(bare).rejects.toThrow(CliError);
      } finally {
        await tlsServer.close();
      }

      // A server whose certificate does not name 127.0.0.1 is refused, even though its CA is trusted.
      const otherPair = await issueLeaf(ca, { commonName: "xds", ipAddresses: ["10.9.9.9"], usage: "server" });
      const wrongName = grpc.ServerCredentials.createSsl(
        Buffer.from(ca.certificatePem),
        [{ cert_chain: Buffer.from(otherPair.certificatePem), private_key: Buffer.from(otherPair.privateKeyPem) }],
        true,
      );
      const impostor = await startXdsServer({ store, address: "127.0.0.1", port: 0, credentials: wrongName });
      try {
        const tlsFlags = { caFile: join(dir, "ca.pem"), certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key") };
        const attempt = runXdsCommand(flags({ ...tlsFlags, server: `127.0.0.1:${impostor.port}`, timeout: "300ms" }), () => {});
        await expect(attempt).rejects.toThrow(`cannot connect to 127.0.0.1:${impostor.port}`);
      } finally {
        await impostor.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
