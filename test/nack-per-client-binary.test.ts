// A NACK changes what the client that sent it is served, nothing else (issue 10): against the
// compiled binary, one client NACKs the listener and the route config under another client's node id
// (sotw and delta); the other client keeps being served both, and a change still reaches it. With
// mTLS the NACK is recorded under the sender's certificate identity, whatever node id it claims.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tlsChannel } from "../src/xds/client.ts";
import { TypeUrls } from "../src/xds/types.ts";
import { connectRaw, type RawClient, type RawStream, type SotwRequestInit, type SotwResponse } from "./helpers/ads-client.ts";
import { ensureAgentBinary, runAgent, startServe, type RunningBinary } from "./helpers/agent-binary.ts";
import { serviceAndIngress } from "./helpers/service-ingress.ts";

setDefaultTimeout(60_000);

type Sotw = RawStream<SotwRequestInit, SotwResponse>;

/** Asks for a type on a sotw stream and returns the answer, not yet ACKed. */
async function ask(stream: Sotw, request: SotwRequestInit): Promise<SotwResponse> {
  stream.send(request);
  for (;;) {
    const response = await stream.next();
    if (response.type_url === request.type_url) return response;
  }
}

const ackOf = (response: SotwResponse, names?: string[]): SotwRequestInit => ({ type_url: response.type_url, version_info: response.version_info, response_nonce: response.nonce, ...(names ? { resource_names: names } : {}) });

/** The victim: a sotw ADS client of node `victim` holding LDS, CDS and RDS ingress_http, ACKing everything. */
async function victimStream(client: RawClient) {
  const stream = client.sotw();
  const node = { id: "victim", cluster: "edge" };
  const listeners = await ask(stream, { node, type_url: TypeUrls.listener });
  expect(listeners.names).toContain("ingress_http");
  stream.send(ackOf(listeners));
  const clusters = await ask(stream, { type_url: TypeUrls.cluster });
  stream.send(ackOf(clusters));
  const routes = await ask(stream, { type_url: TypeUrls.route, resource_names: ["ingress_http"] });
  expect(routes.names).toEqual(["ingress_http"]);
  stream.send(ackOf(routes, ["ingress_http"]));
  return stream;
}

/** Waits on the victim's stream, ACKing, until a route config with `host` arrives; returns every listener response seen. */
async function untilHost(stream: Sotw, host: string): Promise<SotwResponse[]> {
  const listeners: SotwResponse[] = [];
  for (;;) {
    const response = await stream.next();
    const routes = response.type_url === TypeUrls.route;
    stream.send(ackOf(response, routes ? ["ingress_http"] : undefined));
    if (response.type_url === TypeUrls.listener) listeners.push(response);
    if (routes && JSON.stringify(response.resources).includes(host)) return listeners;
  }
}

/** The spoofer: NACKs LDS (sotw) and RDS ingress_http (delta) claiming to be `victim`. */
async function spoof(client: RawClient) {
  const node = { id: "victim", cluster: "edge" };
  const sotw = client.sotw();
  const listeners = await ask(sotw, { node, type_url: TypeUrls.listener });
  sotw.send({ type_url: TypeUrls.listener, version_info: "", response_nonce: listeners.nonce, error_detail: { code: 3, message: "Error adding/updating listener(s) ingress_http: spoofed" } });
  const delta = client.delta();
  delta.send({ node, type_url: TypeUrls.route, resource_names_subscribe: ["ingress_http"] });
  const routes = await delta.next();
  expect(routes.names).toEqual(["ingress_http"]);
  delta.send({ type_url: TypeUrls.route, response_nonce: routes.nonce, error_detail: { code: 3, message: "RouteConfiguration ingress_http: spoofed" } });
}

async function scenario(serve: RunningBinary & { port: number }, manifests: string, clients: { victim: RawClient; spoofer: RawClient; fresh: () => RawClient }) {
  const victim = await victimStream(clients.victim);
  const lines = serve.lineCount();
  await spoof(clients.spoofer);
  // Both NACKs are recorded (and would have quarantined ingress_http for everyone before issue 10).
  const listenerNack = await serve.waitForLine(/NACK from node (\S+)(.*) for LDS/, { after: lines });
  const routeNack = await serve.waitForLine(/NACK from node (\S+)(.*) for RDS/, { after: lines });

  // A change made after the NACKs reaches the victim, and every listener set it was sent still holds
  // ingress_http: what it is served is what is built.
  writeFileSync(join(manifests, "b.yaml"), serviceAndIngress("b"));
  const listenerResponses = await untilHost(victim, "b.example.com");
  for (const response of listenerResponses) expect(response.names).toContain("ingress_http");

  // A client connecting now, under the same node id, is served the listener and the route config.
  const fresh = clients.fresh();
  const stream = fresh.sotw();
  expect((await ask(stream, { node: { id: "victim" }, type_url: TypeUrls.listener })).names).toContain("ingress_http");
  const routes = await ask(stream, { type_url: TypeUrls.route, resource_names: ["ingress_http"] });
  expect(JSON.stringify(routes.resources)).toContain("a.example.com");
  fresh.close();
  return { listenerNack, routeNack };
}

describe("a NACK is one client's word (compiled binary)", () => {
  let dir: string;
  let serve: RunningBinary & { port: number };
  const clients: RawClient[] = [];

  beforeAll(async () => {
    await ensureAgentBinary();
    dir = mkdtempSync(join(tmpdir(), "isobar-nack-"));
  }, 180_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await serve?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("plaintext: a client NACKing under another's node id changes nothing the other is served", async () => {
    const manifests = join(dir, "plain");
    mkdirSync(manifests);
    writeFileSync(join(manifests, "a.yaml"), serviceAndIngress("a"));
    serve = await startServe(["--manifests", manifests, "--holdoff", "20ms"]);
    const connect = () => {
      const client = connectRaw(serve.port);
      clients.push(client);
      return client;
    };
    const { listenerNack } = await scenario(serve, manifests, { victim: connect(), spoofer: connect(), fresh: connect });
    expect(listenerNack[1]).toBe("victim");
    await serve.stop();
  });

  test("mTLS: the NACK is recorded under the sender's certificate, not the node id it claims; the other client is unaffected", async () => {
    const certs = join(dir, "certs");
    const manifests = join(dir, "mtls");
    mkdirSync(manifests);
    writeFileSync(join(manifests, "a.yaml"), serviceAndIngress("a"));
    expect((await runAgent(["certs", "init", "--out", certs, "--ip-address", "127.0.0.1"])).code).toBe(0);
    expect((await runAgent(["certs", "issue", "--dir", certs, "--name", "mallory", "--usage", "client"])).code).toBe(0);
    const flags = ["--ca-file", join(certs, "agent/ca.crt"), "--cert-file", join(certs, "agent/tls.crt"), "--key-file", join(certs, "agent/tls.key")];
    serve = await startServe(["--manifests", manifests, "--holdoff", "20ms", ...flags]);
    const read = (path: string) => readFileSync(join(certs, path));
    const as = (who: string) => {
      const tls = tlsChannel(`127.0.0.1:${serve.port}`, { ca: read("envoy/ca.crt"), privateKey: read(`${who}/tls.key`), certificate: read(`${who}/tls.crt`) });
      const client = connectRaw(serve.port, tls);
      clients.push(client);
      return client;
    };
    const { listenerNack, routeNack } = await scenario(serve, manifests, { victim: as("envoy"), spoofer: as("mallory"), fresh: () => as("envoy") });
    for (const nack of [listenerNack, routeNack]) {
      expect(nack[1]).toContain("mallory");
      expect(nack[2]).toContain("(claims node id victim)");
    }
  });
});
