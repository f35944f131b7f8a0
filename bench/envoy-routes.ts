// Prototype measurement (not the agent): how long a real Envoy takes to serve one changed host when it
// holds N hosts, per route delivery mechanism. A minimal delta ADS server in this process (no agent, no
// build: the resources are written by hand) serves one Envoy a listener on `ingress_http`, two STATIC
// clusters on local echo backends "a" and "b", and N hosts `app-<i>.bench.example.com` (three routes
// each, the rebuild bench's shape), by one of:
//   - vhds:  a route configuration shell with VHDS, N VirtualHost resources (what the agent serves today);
//   - srds:  scoped RDS keyed on :authority (port stripped), N ScopedRouteConfiguration resources, each
//            naming its own RouteConfiguration of one host (N RouteConfiguration resources over RDS);
//   - rds:   one RouteConfiguration of N hosts (the classic route configuration).
// Each change rewrites one host (a route /changed-G to "b") and pushes only what changed; a keep-alive
// request loop asks that host for /changed-G/x until "b" answers. Reported per change: from the push
// (the write of the response) to Envoy's ACK and to the first request served the new way.
// --gap: milliseconds between the requests of the loop (0: each is sent as soon as the last is answered).
// Results: bench/results/envoy-routes-<sizes>.json (smoke: a temporary directory).
//   npm run bench -- envoy-routes [--size 1000,10000] [--changes 7] [--mode vhds,srds,rds] [--gap 2] [--smoke]
import * as grpc from "@grpc/grpc-js";
import { Agent, request } from "node:http";
import { parseArgs } from "node:util";
import { lookupType, encodeStrict } from "../src/xds/registry.ts";
import { startEcho, type EchoBackend } from "../test/e2e/echo.ts";
import { freePorts, startEnvoy } from "../test/e2e/harness.ts";
import { median } from "./pipeline-report.ts";
import { writeResultFile } from "./results-file.ts";

type Json = Record<string, unknown>;
type Mode = "vhds" | "srds" | "rds";

const T = {
  listener: "type.googleapis.com/envoy.config.listener.v3.Listener",
  cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  route: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  scoped: "type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration",
  vhost: "type.googleapis.com/envoy.config.route.v3.VirtualHost",
};
const DeltaRequest = lookupType("envoy.service.discovery.v3.DeltaDiscoveryRequest");
const ads = { ads: {}, resource_api_version: "V3" };

function cluster(backend: EchoBackend): Json {
  return { name: backend.name, type: "STATIC", connect_timeout: "1s", load_assignment: { cluster_name: backend.name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: backend.port } } } }] }] } };
}

const host = (i: number) => `app-${i}.bench.example.com`;

function virtualHost(i: number, name: string, generation = 0): Json {
  const routes: Json[] = [
    { match: { path_separated_prefix: "/static" }, route: { cluster: "a", timeout: "15s" } },
    { match: { path_separated_prefix: "/api" }, route: { cluster: "a", timeout: "15s" } },
  ];
  if (generation > 0) routes.push({ match: { path_separated_prefix: `/changed-${generation}` }, route: { cluster: "b", timeout: "15s" } });
  routes.push({ match: { prefix: "/" }, route: { cluster: "a", timeout: "15s" } });
  return { name, domains: [host(i), `${host(i)}:*`], routes };
}

const routeShell = { request_headers_to_add: [{ header: { key: "x-request-start", value: "t=%START_TIME(%s.%3f)%" }, append_action: "APPEND_IF_EXISTS_OR_ADD" }], ignore_port_in_host_matching: true };

function listener(mode: Mode, port: number): Json {
  const routing: Json =
    mode === "srds"
      ? { scoped_routes: { name: "ingress_http", scope_key_builder: { fragments: [{ header_value_extractor: { name: ":authority", element_separator: ":", index: 0 } }] }, rds_config_source: ads, scoped_rds: { scoped_rds_config_source: ads } } }
      : { rds: { route_config_name: "ingress_http", config_source: ads } };
  const hcm = { "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", stat_prefix: "ingress_http", ...routing, http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }] };
  return { name: "ingress_http", address: { socket_address: { address: "127.0.0.1", port_value: port } }, filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }] }] };
}

/** Every resource by type and name, as this mode serves N hosts (host `changed` at `generation`). */
function resourcesFor(mode: Mode, size: number, port: number, backends: EchoBackend[]): Map<string, Map<string, Json>> {
  const byType = new Map<string, Map<string, Json>>([[T.listener, new Map([["ingress_http", listener(mode, port)]])], [T.cluster, new Map(backends.map((b) => [b.name, cluster(b)]))], [T.route, new Map()], [T.scoped, new Map()], [T.vhost, new Map()]]);
  if (mode === "vhds") {
    byType.get(T.route)!.set("ingress_http", { name: "ingress_http", vhds: { config_source: ads }, ...routeShell });
    for (let i = 0; i < size; i++) byType.get(T.vhost)!.set(`ingress_http/${host(i)}`, virtualHost(i, `ingress_http/${host(i)}`));
  } else if (mode === "srds") {
    for (let i = 0; i < size; i++) {
      byType.get(T.scoped)!.set(host(i), { name: host(i), route_configuration_name: `ingress_http/${host(i)}`, key: { fragments: [{ string_key: host(i) }] } });
      byType.get(T.route)!.set(`ingress_http/${host(i)}`, { name: `ingress_http/${host(i)}`, virtual_hosts: [virtualHost(i, host(i))], ...routeShell });
    }
  } else {
    byType.get(T.route)!.set("ingress_http", { name: "ingress_http", virtual_hosts: Array.from({ length: size }, (_, i) => virtualHost(i, host(i))), ...routeShell });
  }
  return byType;
}

/** The one resource that changes when host `i` gains /changed-<generation>. */
function changed(mode: Mode, size: number, i: number, generation: number, routes: Map<string, Json>): { typeUrl: string; name: string; json: Json } {
  if (mode === "vhds") return { typeUrl: T.vhost, name: `ingress_http/${host(i)}`, json: virtualHost(i, `ingress_http/${host(i)}`, generation) };
  if (mode === "srds") return { typeUrl: T.route, name: `ingress_http/${host(i)}`, json: { name: `ingress_http/${host(i)}`, virtual_hosts: [virtualHost(i, host(i), generation)], ...routeShell } };
  const whole = routes.get("ingress_http")! as { virtual_hosts: Json[] };
  const hosts = [...whole.virtual_hosts];
  hosts[i] = virtualHost(i, host(i), generation);
  void size;
  return { typeUrl: T.route, name: "ingress_http", json: { ...whole, virtual_hosts: hosts } };
}

interface Stream {
  write(bytes: Buffer): void;
  /** Per type: names subscribed (undefined: wildcard), and the version sent of each name. */
  types: Map<string, { wildcard: boolean; names: Set<string>; sent: Map<string, string> }>;
}

function startServer(resources: Map<string, Map<string, Json>>, versions: Map<string, string>, events: { onAck(typeUrl: string, nonce: string, at: number): void; onNack(message: string): void }) {
  const streams = new Set<Stream>();
  let nonce = 0;
  const encodeResponse = (typeUrl: string, items: Array<[string, Json]>, removed: string[]) =>
    Buffer.from(encodeStrict("envoy.service.discovery.v3.DeltaDiscoveryResponse", { system_version_info: String(nonce), type_url: typeUrl, nonce: String(++nonce), removed_resources: removed, resources: items.map(([name, json]) => ({ name, version: versions.get(`${typeUrl} ${name}`) ?? "0", resource: { "@type": typeUrl, ...json } })) }));
  const sendWanted = (stream: Stream, typeUrl: string, force: boolean): number | undefined => {
    const state = stream.types.get(typeUrl)!;
    const all = resources.get(typeUrl) ?? new Map();
    const items: Array<[string, Json]> = [];
    const names = state.wildcard ? all.keys() : state.names.values();
    for (const name of names) {
      const json = all.get(name);
      const version = versions.get(`${typeUrl} ${name}`) ?? "0";
      if (json && state.sent.get(name) !== version) {
        items.push([name, json]);
        state.sent.set(name, version);
      }
    }
    if (items.length === 0 && !force) return undefined;
    stream.write(encodeResponse(typeUrl, items, []));
    return nonce;
  };
  const server = new grpc.Server();
  const path = "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources";
  const definition = { DeltaAggregatedResources: { path, requestStream: true, responseStream: true, requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => DeltaRequest.toObject(DeltaRequest.decode(b)) as Json, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b } };
  server.addService(definition as unknown as grpc.ServiceDefinition, {
    DeltaAggregatedResources(call: grpc.ServerDuplexStream<Json, Buffer>) {
      const stream: Stream = { write: (bytes) => call.write(bytes), types: new Map() };
      streams.add(stream);
      call.on("data", (req: Json) => {
        const typeUrl = (req.typeUrl ?? req.type_url) as string;
        const subscribe = ((req.resourceNamesSubscribe ?? req.resource_names_subscribe) as string[] | undefined) ?? [];
        const responseNonce = (req.responseNonce ?? req.response_nonce) as string | undefined;
        const error = (req.errorDetail ?? req.error_detail) as { message?: string } | undefined;
        if (error) events.onNack(`${typeUrl}: ${error.message}`);
        else if (responseNonce) events.onAck(typeUrl, responseNonce, performance.now());
        let state = stream.types.get(typeUrl);
        const first = !state;
        if (!state) {
          state = { wildcard: subscribe.length === 0 || subscribe.includes("*"), names: new Set(), sent: new Map() };
          stream.types.set(typeUrl, state);
        }
        for (const name of subscribe) if (name !== "*") state.names.add(name);
        if (subscribe.includes("*")) state.wildcard = true;
        if (first || subscribe.length > 0) sendWanted(stream, typeUrl, first);
      });
      call.on("end", () => (streams.delete(stream), call.end()));
      call.on("error", () => streams.delete(stream));
    },
  });
  return {
    async listen(): Promise<number> {
      return new Promise((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))));
    },
    /** Pushes a type's changes to every stream that holds or wants them; the nonces written. */
    push(typeUrl: string): number[] {
      const nonces: number[] = [];
      for (const stream of streams) if (stream.types.has(typeUrl)) {
        const sent = sendWanted(stream, typeUrl, false);
        if (sent !== undefined) nonces.push(sent);
      }
      return nonces;
    },
    close: () => server.forceShutdown(),
  };
}

function get(agent: Agent, port: number, hostHeader: string, path: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host: hostHeader }, agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        try {
          resolve((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { backend?: string }).backend);
        } catch {
          resolve(`status ${response.statusCode}`);
        }
      });
    });
    req.on("error", reject);
    req.end();
  });
}

async function measure(mode: Mode, size: number, changes: number, backends: EchoBackend[], gapMs: number) {
  const [httpPort] = (await freePorts(1)) as [number];
  const resources = resourcesFor(mode, size, httpPort, backends);
  const versions = new Map<string, string>();
  const acks = new Map<string, number>();
  const nacks: string[] = [];
  const server = startServer(resources, versions, { onAck: (_t, nonce, at) => acks.set(nonce, at), onNack: (m) => nacks.push(m) });
  const xdsPort = await server.listen();
  const started = performance.now();
  const envoy = await startEnvoy({ xdsPort, nodeId: `proto-${mode}` });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const runs: Array<{ ackMs: number; servedMs: number; polls: number }> = [];
  try {
    await envoy.ready(["ingress_http"], 300_000);
    for (let tries = 0; (await get(agent, httpPort, host(size - 1), "/").catch(() => undefined)) !== "a"; tries++) {
      if (tries > 3000) throw new Error(`${mode}: host ${host(size - 1)} never served; NACKs: ${nacks.join("; ")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const readyMs = performance.now() - started;
    for (let g = 1; g <= changes; g++) {
      const i = (g * 7919) % size;
      const change = changed(mode, size, i, g, resources.get(T.route)!);
      if ((await get(agent, httpPort, host(i), `/changed-${g}/x`)) !== "a") throw new Error(`${mode}: ${host(i)} not served before the change`);
      resources.get(change.typeUrl)!.set(change.name, change.json);
      versions.set(`${change.typeUrl} ${change.name}`, String(g));
      const since = performance.now();
      const [nonce] = server.push(change.typeUrl);
      let polls = 0;
      for (;;) {
        polls++;
        if ((await get(agent, httpPort, host(i), `/changed-${g}/x`)) === "b") break;
        if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
        if (performance.now() - since > 30_000) throw new Error(`${mode}: change ${g} not served after 30 s; NACKs: ${nacks.join("; ")}`);
      }
      const servedMs = performance.now() - since;
      for (let wait = 0; !acks.has(String(nonce)) && wait < 300; wait++) await new Promise((r) => setTimeout(r, 10));
      runs.push({ ackMs: (acks.get(String(nonce)) ?? NaN) - since, servedMs, polls });
    }
    const rss = Number(new TextDecoder().decode(Bun.spawnSync(["ps", "-o", "rss=", "-p", String(envoy.pid)]).stdout).trim()) / 1024;
    return { mode, size, readyMs: Math.round(readyMs), envoyRssMiB: Math.round(rss), ackMedianMs: round(median(runs.map((r) => r.ackMs))), servedMedianMs: round(median(runs.map((r) => r.servedMs))), servedMs: runs.map((r) => round(r.servedMs)), polls: runs.map((r) => r.polls), nacks };
  } finally {
    agent.destroy();
    await envoy.stop();
    server.close();
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { smoke: { type: "boolean", default: false }, size: { type: "string" }, changes: { type: "string" }, mode: { type: "string" }, gap: { type: "string" } } });
  const smoke = values.smoke || values.size === "smoke" || process.env.BENCH_SIZE === "smoke";
  const sizes = smoke ? [50] : (values.size ?? "1000,10000").split(",").map(Number);
  const modes = (values.mode ?? "vhds,srds,rds").split(",") as Mode[];
  const changes = Number(values.changes ?? (smoke ? 2 : 7));
  const gapMs = Number(values.gap ?? 2);
  if (!sizes.every((n) => Number.isInteger(n) && n > 0) || !modes.every((m) => ["vhds", "srds", "rds"].includes(m)) || !(changes > 0) || !(gapMs >= 0)) throw new Error("--size wants positive integers, --mode vhds,srds,rds, --changes a positive number, --gap milliseconds");
  const backends = [await startEcho("a"), await startEcho("b")];
  const results = [];
  try {
    for (const size of sizes) {
      for (const mode of modes) {
        console.error(`envoy-routes bench: ${size} hosts over ${mode}, ${changes} changes`);
        results.push(await measure(mode, size, changes, backends, gapMs));
      }
    }
  } finally {
    for (const backend of backends) await backend.close();
  }
  console.log("\nenvoy-routes (medians; ms from the write of the changed resource)");
  console.log(["hosts", "mechanism", "Envoy ACKed", "served", "Envoy ready ms", "Envoy RSS MiB"].map((h) => h.padEnd(16)).join(""));
  for (const r of results) console.log([r.size, r.mode, r.ackMedianMs, r.servedMedianMs, r.readyMs, r.envoyRssMiB].map((v) => String(v).padEnd(16)).join(""));
  const header = { bench: "envoy-routes", date: new Date().toISOString(), runtime: `bun ${process.versions.bun ?? "?"}`, cores: navigator.hardwareConcurrency };
  console.error(`wrote ${writeResultFile("envoy-routes", smoke ? "smoke" : sizes.join("-"), { ...header, options: { sizes, modes, changes, gapMs }, results })}`);
}

if (import.meta.main) {
  await run(process.argv.slice(2));
  process.exit(0);
}
