// `npm start`: the quickstart, answering requests. Installs Envoy when missing (scripts/envoy.sh),
// starts the echo backends the quickstart's EndpointSlices point at (127.0.0.1, one port each), runs
// the agent with its own Envoy (`serve --envoy`) on the manifests, and once Envoy is ready prints curl
// commands that work as printed. Without Envoy the agent runs alone, and one line says so.
// Run by bun: `bun scripts/quickstart.ts [--manifests DIR] [--envoy-service-http-port N] [--envoy-service-https-port N] …`.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { isAbsolute, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { backendSpecs, readManifests, removeClientCertificate, startBackends, tour, writeClientCertificate } from "./quickstart-backends.ts";

const root = join(import.meta.dirname, "..");

const { values: flags } = parseArgs({
  options: {
    manifests: { type: "string", default: join(root, "examples/quickstart") },
    agent: { type: "string", default: join(root, "dist/agent") },
    "envoy-service-http-port": { type: "string", default: "8080" },
    "envoy-service-https-port": { type: "string", default: "8443" },
    "stats-port": { type: "string", default: "8002" },
    "xds-port": { type: "string", default: "8001" },
    "metrics-port": { type: "string", default: "8000" },
    "debug-port": { type: "string", default: "6060" },
  },
});

function say(line: string): void {
  process.stdout.write(`quickstart: ${line}\n`);
}

function fail(line: string): never {
  process.stderr.write(`quickstart: ${line}\n`);
  process.exit(1);
}

/** A path as the user should type it: relative to where they are when it is below, else absolute. */
function typed(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

/** scripts/envoy.sh's answer: the binary's path, or why there is none (its one line). */
function installEnvoy(): { binary?: string; problem?: string } {
  const run = spawnSync("bash", [join(root, "scripts/envoy.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (run.status === 0 && run.stdout.trim() !== "") return { binary: run.stdout.trim() };
  return { problem: (run.stderr || run.error?.message || "scripts/envoy.sh failed").trim().split("\n").at(-1) };
}

function readyz(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/readyz", timeout: 2_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: body.trim() }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (error) => resolve({ status: 0, body: error.message }));
    req.end();
  });
}

/** Whether a port can be bound on every address (Envoy's listeners bind 0.0.0.0). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)));
  });
}

/** Waits until the agent's /readyz says 200 (with --envoy: Envoy is LIVE too); false if the agent exits first. */
async function untilReady(agent: ChildProcess, metricsPort: number): Promise<boolean> {
  let last = "";
  const started = performance.now();
  for (;;) {
    if (agent.exitCode !== null || agent.signalCode !== null) return false;
    const answer = await readyz(metricsPort);
    if (answer.status === 200) return true;
    // Say what it waits for once it has waited a while (Envoy's first start can take seconds).
    if (answer.body !== last && performance.now() - started > 5_000) say(`waiting: ${answer.body}`);
    last = answer.body;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const started = performance.now();
const agentPath = flags.agent!;
if (!existsSync(agentPath)) fail(`${agentPath} is missing: build it first (npm run build)`);
const manifests = flags.manifests!;
const objects = readManifests(manifests);
if (!process.env.ENVOY_BIN && !existsSync(join(root, ".envoy/bin/envoy"))) say("installing Envoy 1.40.0 into .envoy/ (scripts/envoy.sh; once, about a minute)");
const envoy = installEnvoy();
if (!envoy.binary) say(`Envoy could not be installed (${envoy.problem}): running the agent alone, so nothing answers HTTP; it still serves xDS on 127.0.0.1:${flags["xds-port"]}`);

// Envoy would only report a port in use as a rejected listener: say it here, before starting.
for (const flag of ["envoy-service-http-port", "envoy-service-https-port", "stats-port"] as const) {
  if (envoy.binary && !(await portFree(Number(flags[flag])))) fail(`port ${flags[flag]} (--${flag}) is in use; choose another: npm start -- --${flag} ${Number(flags[flag]) + 10000}`);
}
const specs = backendSpecs(objects);
const backends = await startBackends(specs).catch((error: Error) => fail(error.message));
say(`${specs.length} echo backends on 127.0.0.1 (${specs.map((s) => `${s.name} :${s.port}${s.grpc ? " gRPC" : ""}`).join(", ")})`);
const client = writeClientCertificate(objects);

const serveArgs = [
  "serve", "--manifests", manifests, "--allow-loopback-endpoints",
  "--port", flags["xds-port"]!, "--envoy-service-http-port", flags["envoy-service-http-port"]!, "--envoy-service-https-port", flags["envoy-service-https-port"]!, "--stats-port", flags["stats-port"]!,
  "--metrics-address", "127.0.0.1", "--metrics-port", flags["metrics-port"]!, "--debug-port", flags["debug-port"]!,
  ...(envoy.binary ? ["--envoy", "--envoy-bin", envoy.binary] : []),
];
// Its own process group: a terminal's Ctrl-C reaches this runner, which stops the agent with one SIGTERM.
const agent = spawn(agentPath, serveArgs, { stdio: ["ignore", "inherit", "inherit"], detached: true });
const stopAgent = () => agent.exitCode === null && agent.signalCode === null && agent.kill("SIGTERM");
process.on("exit", stopAgent);
let stopping = false;
const agentExited = new Promise<number>((resolve) => agent.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    stopAgent();
  });
}

if (await untilReady(agent, Number(flags["metrics-port"]))) {
  const caPath = join(manifests, "ca.pem");
  const steps = tour({ httpPort: Number(flags["envoy-service-http-port"]), httpsPort: Number(flags["envoy-service-https-port"]), caFile: existsSync(caPath) ? typed(caPath) : undefined, client });
  const lines = envoy.binary
    ? [
        `Envoy answers on 127.0.0.1:${flags["envoy-service-http-port"]} (HTTP) and 127.0.0.1:${flags["envoy-service-https-port"]} (HTTPS), ready ${((performance.now() - started) / 1000).toFixed(1)} s after start. Try:`,
        "",
        ...steps.flatMap(([what, command]) => [`  # ${what}`, `  ${command}`]),
        "",
        `Edit a file under ${typed(manifests)} and run them again: the change is served within a second.`,
      ]
    : ["the agent is ready (without Envoy: nothing answers HTTP)."];
  lines.push(`What the agent serves: ${typed(agentPath)} xds --server 127.0.0.1:${flags["xds-port"]} --type cds --output pretty   (debug views: http://127.0.0.1:${flags["debug-port"]}/debug/)`, "Ctrl-C stops everything.");
  // Unprefixed, so every command can be copied as printed.
  process.stdout.write(`\n${lines.join("\n")}\n\n`);
}
const code = await agentExited;
await backends.close();
removeClientCertificate(client);
if (!stopping) say(`the agent exited with code ${code}`);
process.exit(stopping ? 0 : code || 1);
