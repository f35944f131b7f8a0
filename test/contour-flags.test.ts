// Contour 1.33's own deployment arguments through the compiled binary, as a Contour user switching
// the image runs them: the certgen Job (02-job-certgen.yaml) makes the Secrets, `serve` with the
// contour Deployment's args (03-contour.yaml) serves xDS over mTLS with them, the Envoy DaemonSet's
// init container (03-envoy.yaml) writes a bootstrap that dials it, and the shutdown-manager
// container with its preStop hook drains Envoy. The colocated shape is the same containers in one
// pod: xDS on 127.0.0.1 without TLS. The args below are copied by hand from those files (v1.33.6);
// only what the test machine needs changes: --incluster becomes the fake API server's kubeconfig,
// the pod's mounts (/certs, /config, /admin) become directories here, and fixed ports become free
// ones. (`agent certgen` is `agent certs` under Contour's name.)
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCertificates, summarize } from "../src/certs/x509.ts";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver/index.ts";
import { ensureAgentBinary, runAgent, startAgentBinary, type RunningBinary } from "./helpers/agent-binary.ts";
import { fakeEnvoyAdmin } from "./helpers/fake-envoy-admin.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(60_000);

const namespace = "projectcontour";
const env = { CONTOUR_NAMESPACE: namespace };

/** examples/contour/02-job-certgen.yaml, the certgen container's command after `contour` ($(CONTOUR_NAMESPACE) expanded as the kubelet does). */
const certgenArgs = ["certgen", "--kube", "--incluster", "--overwrite", "--secrets-format=compact", `--namespace=${namespace}`];
/** examples/contour/03-contour.yaml, the contour container's args. */
const contourArgs = ["serve", "--incluster", "--xds-address=0.0.0.0", "--xds-port=8001", "--contour-cafile=/certs/ca.crt", "--contour-cert-file=/certs/tls.crt", "--contour-key-file=/certs/tls.key", "--config-path=/config/contour.yaml"];
/** examples/contour/03-envoy.yaml, the envoy-initconfig container's args. */
const envoyInitArgs = ["bootstrap", "/config/envoy.json", "--xds-address=contour", "--xds-port=8001", "--xds-resource-version=v3", "--resources-dir=/config/resources", "--envoy-cafile=/certs/ca.crt", "--envoy-cert-file=/certs/tls.crt", "--envoy-key-file=/certs/tls.key"];
/** examples/contour/03-envoy.yaml, the shutdown-manager container: its args and its preStop hook. */
const shutdownManagerArgs = ["envoy", "shutdown-manager"];
const shutdownPreStop = ["envoy", "shutdown"];
/** examples/contour/01-contour-config.yaml, the ConfigMap's contour.yaml. */
const stockConfig = "disablePermitInsecure: false\ntls:\n  fallback-certificate:\n  envoy-client-certificate:\naccesslog-format: envoy\n";

let api: FakeApiServer;
let dir: string;

/** Moves a pod's mount points under `dir`: `/certs/…` → `DIR/<pod>/certs/…`. */
function mounted(args: string[], pod: string): string[] {
  return args.map((arg) => arg.replace(/(^|=)\/(certs|config|admin)\//, `$1${join(dir, pod)}/$2/`));
}

const inCluster = (args: string[]) => args.flatMap((arg) => (arg === "--incluster" ? ["--kubeconfig", api.kubeconfigPath] : [arg]));

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** A fixed port of the example replaced by a free one (other tests run beside this one). */
const withPort = (args: string[], flag: string, port: number) => args.map((arg) => (arg.startsWith(`--${flag}=`) ? `--${flag}=${port}` : arg));

/** Writes a Secret's keys as its volume mount would: one file per key. */
function mountSecret(name: string, at: string): void {
  const secret = api.get("Secret", namespace, name) as unknown as { data: Record<string, string> } | undefined;
  expect(secret).toBeDefined();
  mkdirSync(at, { recursive: true });
  for (const [key, value] of Object.entries(secret!.data)) writeFileSync(join(at, key), Buffer.from(value, "base64"));
}

beforeAll(async () => {
  await ensureAgentBinary();
  api = await startFakeApiServer();
  dir = mkdtempSync(join(tmpdir(), "contour-args-"));
}, 120_000);

afterAll(async () => {
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("split: Contour's example Deployment and DaemonSet, args unchanged", () => {
  let contour: RunningBinary | undefined;
  let xdsPort = 0;

  afterAll(async () => {
    if (contour) expect(await contour.stop()).toBe(0);
  });

  test("the certgen Job makes Contour's compact Secrets: contourcert and envoycert, each with the CA", async () => {
    const run = await runAgent(inCluster(certgenArgs), { env });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const names = api.list("Secret", namespace).map((s) => s.metadata.name).sort();
    expect(names).toEqual(["contourcert", "envoycert"]);
    for (const name of names) expect(Object.keys((api.get("Secret", namespace, name) as unknown as { data: object }).data).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    // The server certificate covers Contour's Service name and the name `agent bootstrap` pins.
    const sans = summarize(parseCertificates(Buffer.from((api.get("Secret", namespace, "contourcert") as unknown as { data: Record<string, string> }).data["tls.crt"]!, "base64").toString("utf8"))[0]!).dnsNames;
    expect(sans).toEqual(expect.arrayContaining(["contour", `contour.${namespace}`, `contour.${namespace}.svc`, "isobar"]));
    mountSecret("contourcert", join(dir, "contour/certs"));
    mountSecret("envoycert", join(dir, "envoy/certs"));
  });

  test("run again, it needs only what Contour's Role for the Job grants (create and update Secrets): kept without --overwrite, replaced with it", async () => {
    const since = api.requests.length;
    const tlsOf = () => (api.get("Secret", namespace, "envoycert") as unknown as { data: Record<string, string> }).data["tls.crt"];
    const before = tlsOf();
    const kept = await runAgent(inCluster(certgenArgs.filter((a) => a !== "--overwrite")), { env });
    expect(kept).toMatchObject({ code: 0, stderr: "" });
    expect(kept.stdout).toContain(`Secret ${namespace}/envoycert already exists: kept`);
    expect(tlsOf()).toBe(before);
    const replaced = await runAgent(inCluster(certgenArgs), { env });
    expect(replaced).toMatchObject({ code: 0, stderr: "" });
    expect(tlsOf()).not.toBe(before);
    const made = api.requests.slice(since);
    expect(new Set(made.map((r) => `${r.verb} ${r.plural}`))).toEqual(new Set(["create secrets", "update secrets"]));
    // Put back what the next steps mount.
    mountSecret("contourcert", join(dir, "contour/certs"));
    mountSecret("envoycert", join(dir, "envoy/certs"));
  });

  test("serve runs with the contour container's args: mTLS with the mounted Secret, the stock config file applied", async () => {
    mkdirSync(join(dir, "contour/config"), { recursive: true });
    writeFileSync(join(dir, "contour/config/contour.yaml"), stockConfig);
    xdsPort = await freePort();
    // Contour's metrics (8000) and debug (6060) ports are fixed in the pod; free ones here, in Contour's spelling.
    const args = [...inCluster(mounted(withPort(contourArgs, "xds-port", xdsPort), "contour")), "--http-address=127.0.0.1", "--http-port=0", "--debug-http-port=0"];
    contour = startAgentBinary(args, { env });
    await contour.waitForLine(/first snapshot published/);
    expect(contour.output()).toContain(`xDS server listening on 0.0.0.0:${xdsPort}`);
    expect(contour.output()).toMatch(/configuration from \S+contour\.yaml/);
  });

  test("the xDS server asks for Envoy's certificate from the certgen CA, as Contour's does", async () => {
    const certs = join(dir, "envoy/certs");
    const tls = ["--ca-file", join(certs, "ca.crt"), "--cert-file", join(certs, "tls.crt"), "--key-file", join(certs, "tls.key"), "--server-name", "contour"];
    const run = await runAgent(["xds", "--server", `127.0.0.1:${xdsPort}`, "--type", "lds", "--timeout", "10s", ...tls]);
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("ingress_http");
    const anonymous = await runAgent(["xds", "--server", `127.0.0.1:${xdsPort}`, "--type", "lds", "--timeout", "3s", "--ca-file", join(certs, "ca.crt"), "--server-name", "contour"]);
    expect(anonymous.code).not.toBe(0);
  });

  test("the envoy-initconfig container writes a bootstrap that dials Service contour over mTLS with the mounted files", async () => {
    const run = await runAgent(mounted(envoyInitArgs, "envoy"), { env });
    expect(run.code).toBe(0);
    const bootstrap = JSON.parse(readFileSync(join(dir, "envoy/config/envoy.json"), "utf8")) as { static_resources: { clusters: Array<{ name: string; load_assignment: unknown; transport_socket?: unknown }> } };
    const cluster = bootstrap.static_resources.clusters.find((c) => JSON.stringify(c.load_assignment).includes('"contour"'))!;
    expect(JSON.stringify(cluster.load_assignment)).toContain('"port_value":8001');
    expect(JSON.stringify(cluster.transport_socket)).toContain('"sni":"isobar"');
    expect(readFileSync(join(dir, "envoy/config/resources/xds-tls-certificate.json"), "utf8")).toContain(join(dir, "envoy/certs/tls.crt"));
    expect(readFileSync(join(dir, "envoy/config/resources/xds-validation-context.json"), "utf8")).toContain(join(dir, "envoy/certs/ca.crt"));
  });

  test("Contour's environment variables stand in for the TLS flags: CONTOUR_CAFILE … for serve, ENVOY_CAFILE … for bootstrap", async () => {
    const certs = join(dir, "envoy/certs");
    const run = await runAgent(["bootstrap", "-", "--xds-address=contour"], { env: { ENVOY_CAFILE: join(certs, "ca.crt"), ENVOY_CERT_FILE: join(certs, "tls.crt"), ENVOY_KEY_FILE: join(certs, "tls.key"), ...env } });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("UpstreamTlsContext");
    const serverCerts = join(dir, "contour/certs");
    const serve = startAgentBinary(["serve", "--xds-address=0.0.0.0", "--xds-port=0", "--http-address=127.0.0.1", "--http-port=0", "--debug-http-port=0", "--manifests", join(dir, "contour/config")], {
      env: { CONTOUR_CAFILE: join(serverCerts, "ca.crt"), CONTOUR_CERT_FILE: join(serverCerts, "tls.crt"), CONTOUR_KEY_FILE: join(serverCerts, "tls.key") },
    });
    // Without TLS, 0.0.0.0 would be refused (plaintext beyond loopback); with Contour's variables it serves.
    await serve.waitForLine(/xDS server listening on 0\.0\.0\.0:\d+/);
    expect(await serve.stop()).toBe(0);
  });

  test("the shutdown-manager container answers /healthz, and /shutdown once the preStop hook has drained Envoy", async () => {
    const admin = join(dir, "envoy/admin");
    mkdirSync(admin, { recursive: true });
    const fake = await fakeEnvoyAdmin(join(admin, "admin.sock"), [0]);
    // Its port (8090) is fixed in the pod; a free one here.
    const manager = startAgentBinary([...mounted([...shutdownManagerArgs, "--ready-file=/admin/ok"], "envoy"), "--serve-port=0"]);
    const port = Number((await manager.waitForLine(/shutdown manager on port (\d+)/))[1]);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    // Envoy's own preStop hook: GET /shutdown, which waits for the ready file.
    let answered = false;
    const shutdown = fetch(`http://127.0.0.1:${port}/shutdown`).then((r) => {
      answered = true;
      return r.status;
    });
    await manager.waitForLine(/\/shutdown asked/);
    expect(answered).toBe(false);
    expect(existsSync(join(admin, "ok"))).toBe(false);
    // The shutdown-manager's preStop hook (`contour envoy shutdown`, admin socket and ready file under /admin).
    const preStop = await runAgent(mounted([...shutdownPreStop, "--admin-address=/admin/admin.sock"], "envoy"));
    expect(preStop.code).toBe(0);
    expect(fake.requests).toContain("POST /healthcheck/fail");
    expect(existsSync(join(admin, "ok"))).toBe(true);
    expect(await shutdown).toBe(200);
    expect(await manager.stop()).toBe(0);
    fake.server.close();
  });
});

describe("colocated: the same containers in one pod, xDS on 127.0.0.1 without TLS", () => {
  test("serve and bootstrap take Contour's spellings; the bootstrap dials the agent's port", async () => {
    const xdsPort = await freePort();
    const serveArgs = ["serve", "--incluster", "--xds-address=127.0.0.1", `--xds-port=${xdsPort}`, "--config-path=/config/contour.yaml"];
    const agent = startAgentBinary([...inCluster(mounted(serveArgs, "contour")), "--http-address=127.0.0.1", "--http-port=0", "--debug-http-port=0"], { env });
    await agent.waitForLine(/first snapshot published/);
    expect(agent.output()).toContain(`xDS server listening on 127.0.0.1:${xdsPort}`);
    const bootstrap = await runAgent(["bootstrap", "-", "--xds-address=127.0.0.1", `--xds-port=${xdsPort}`, "--xds-resource-version=v3", "--resources-dir=/config/resources"], { env });
    expect(bootstrap.code).toBe(0);
    expect(bootstrap.stdout).toContain(`"port_value": ${xdsPort}`);
    const lds = await runAgent(["xds", "--server", `127.0.0.1:${xdsPort}`, "--type", "lds", "--timeout", "10s"]);
    expect(lds.stdout).toContain("ingress_http");
    expect(await agent.stop()).toBe(0);
  });
});

describe("Contour's flags isobar does not implement: ignored when harmless, else one line naming what is missing", () => {
  const serve = ["serve", "--manifests", "examples/quickstart", "--port", "0", "--metrics-address", "127.0.0.1", "--metrics-port", "0", "--debug-port", "0"];

  test("refused, exit 2, before anything starts", async () => {
    const badConfig = join(dir, "tuned.yaml");
    writeFileSync(badConfig, "accesslog-format: json\ntimeouts:\n  request-timeout: 30s\ntracing:\n  extensionService: projectcontour/otel\n");
    const typo = join(dir, "typo.yaml");
    writeFileSync(typo, "timeouts:\n  request-timout: 30s\n");
    const cases: Array<[string[], string]> = [
      [[...serve, "--contour-config-name", "contour"], '--contour-config-name: no ContourConfiguration named "contour" in examples/quickstart'],
      [[...serve, "--contour-config-name", "contour", "-c", badConfig], "--contour-config-name and --config-path cannot be given together (as in Contour): one configuration or the other"],
      [[...serve, "--accesslog-format=xml"], '--accesslog-format must be one of envoy, json, got "xml"'],
      [[...serve, "--envoy-http-access-log=/var/log/envoy.log"], "--envoy-http-access-log: an access log file (/var/log/envoy.log) is not implemented: Envoy's access log goes to /dev/stdout"],
      [[...serve, "--health-port=8001"], "--health-port: a health listener apart from the metrics one is not implemented: /healthz is served on --http-port 0"],
      [[...serve, "--disable-feature=httpproxies"], '--disable-feature: "httpproxies" is not one of extensionservices, tlsroutes, grpcroutes, tcproutes, backendtlspolicies'],
      [[...serve, "-c", badConfig], `--config-path: ${badConfig}: tracing is not implemented`],
      [[...serve, "-c", typo], `--config-path: ${typo}: unknown setting timeouts.request-timout`],
      [["bootstrap", "-", "-c", typo], `--config-path: ${typo}: unknown setting timeouts.request-timout`],
      [[...serve, "--stats-address=127.0.0.1"], "--stats-address 127.0.0.1 differs from --envoy-service-http-address 0.0.0.0: listeners on different addresses are not implemented; Envoy's listeners share one address"],
      [["bootstrap", "-", "--xds-resource-version=v2"], '--xds-resource-version: xDS resource version "v2" is not served: only v3'],
      [["bootstrap", "-", "--overload-max-heap=lots"], '--overload-max-heap must be a whole number from 0 to 9007199254740991, got "lots"'],
      [["bootstrap", "-", "--dns-lookup-family=v5"], '--dns-lookup-family must be one of v4, v6, auto, all, got "v5"'],
      [["serve", "--https-port", "8443"], "unknown flag --https-port for `agent serve` (see `agent serve --help`)"],
    ];
    for (const [args, message] of cases) expect({ args, ...(await runAgent(args)) }).toEqual({ args, code: 2, stdout: "", stderr: `agent: ${message}\n` });
  });

  test("harmless ones are ignored with a line saying so; Contour's values isobar implements are used", async () => {
    const bootstrap = await runAgent(["bootstrap", "-", "--xds-address=contour", "--admin-port=9001", "--namespace=projectcontour", "--overload-max-heap=0", "--dns-lookup-family=v6", "--log-format=json"]);
    expect(bootstrap.code).toBe(0);
    expect(bootstrap.stdout).toContain('"dns_lookup_family": "V6_ONLY"');
    const ignored = bootstrap.stderr.split("\n").filter((l) => l.includes("is ignored")).map((l) => (JSON.parse(l) as { msg: string }).msg.split(":")[0]);
    expect(ignored).toEqual(["--admin-port is ignored", "--namespace is ignored"]);

    const agent = startAgentBinary([...serve, "--kubernetes-client-qps=5", "--kubernetes-client-burst=10", "--disable-feature=tlsroutes,grpcroutes", "--envoy-https-access-log=/dev/stdout", "--health-address=127.0.0.1", "--log-format", "json"]);
    await agent.waitForLine(/first snapshot published/);
    for (const flag of ["kubernetes-client-qps", "kubernetes-client-burst", "disable-feature", "envoy-https-access-log", "health-address"]) expect(agent.output()).toContain(`"msg":"--${flag} is ignored: `);
    expect(await agent.stop()).toBe(0);
  });

  test("--http-port is Contour's metrics port, -d is debug logging, the Envoy listener ports take Contour's names", async () => {
    const metricsPort = await freePort();
    const envoyHttpPort = await freePort();
    const agent = startAgentBinary(["serve", "--manifests", "examples/quickstart", "--xds-port=0", "--http-address=127.0.0.1", `--http-port=${metricsPort}`, "--debug-http-port=0", `--envoy-service-http-port=${envoyHttpPort}`, "-d", "--log-format", "json"]);
    const xdsPort = Number((await agent.waitForLine(/xDS server listening on \S+:(\d+)/))[1]);
    await agent.waitForLine(/first snapshot published/);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
    expect(agent.output()).toContain('"level":"debug"');
    const lds = await runAgent(["xds", "--server", `127.0.0.1:${xdsPort}`, "--type", "lds", "--timeout", "10s"]);
    expect(lds.stdout).toContain(`"port_value":${envoyHttpPort}`);
    expect(await agent.stop()).toBe(0);
  });

  test("--help lists Contour's spellings beside ours", async () => {
    const help = (await runAgent(["serve", "--help"], { env: { COLUMNS: "200" } })).stdout;
    for (const line of ["--xds-address, --address ADDRESS", "--xds-port, --port PORT", "--contour-cafile, --ca-file FILE", "--http-address, --metrics-address ADDRESS", "--http-port, --metrics-port PORT", "--debug-http-port, --debug-port PORT", "-d, --debug", "-c, --config-path FILE", "--envoy-service-http-port PORT"]) expect(help).toContain(`  ${line}`);
    expect((await runAgent(["bootstrap", "--help"], { env: { COLUMNS: "200" } })).stdout).toContain("  --envoy-cafile, --envoy-ca-file FILE");
  });
});
