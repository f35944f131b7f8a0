// Split mode through real Envoys: the agent serves xDS over mutual TLS with `agent certs init`/`issue`
// certificates, Envoys connect with the bootstrap's SDS files (`agent bootstrap --envoy-*-file`). An
// Envoy without a client certificate gets nothing. `agent certs rotate` (leaves, then a CA rollover
// and its end) while everything runs: Envoys keep receiving updates on the same connection, nobody
// restarts, and each Envoy holds only the secrets its own listeners and clusters use.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAgent } from "../helpers/agent-binary.ts";
import { normalizeSerial, probeTls } from "../helpers/tls-probe.ts";
import { admin, envoySecrets, eventually, send, serviceFor, startEcho, startStack, type EchoBackend, type EnvoyProcess, type Stack } from "./harness.ts";
import { serialOf, serverCertificate, testCa, tlsSecret } from "./pki.ts";

let stack: Stack;
let echo: EchoBackend;
let envoyB: EnvoyProcess;
let noCertificate: EnvoyProcess;
let foreignCertificate: EnvoyProcess;
let wrongServerName: EnvoyProcess;
let certs: string;
/** Beside the certificates directory, so that `certs rotate` does not take these for its leaves. */
let scratch: string;

const mtlsArgs = (identity: string) => ["--envoy-ca-file", join(certs, identity, "ca.crt"), "--envoy-cert-file", join(certs, identity, "tls.crt"), "--envoy-key-file", join(certs, identity, "tls.key")];
const read = (path: string) => readFileSync(join(certs, path), "utf8");

function ingress(host: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: step, namespace: split }
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: echo, port: { number: 80 } } } }] }
`;
}

/** The domains an Envoy's dynamic route configurations serve. */
async function domainsOf(envoy: EnvoyProcess): Promise<string[]> {
  const dump = await envoy.configDump("?resource=dynamic_route_configs");
  return dump.configs.flatMap((config) => {
    const routeConfig = (config as { route_config?: { virtual_hosts?: Array<{ domains: string[] }> } }).route_config;
    return (routeConfig?.virtual_hosts ?? []).flatMap((vh) => vh.domains);
  });
}

/** Both connected Envoys serve `host`: in their route tables, and a request through the shared port answers. */
async function servedEverywhere(host: string): Promise<void> {
  for (const envoy of [stack.envoy, envoyB]) {
    await eventually(async () => (await domainsOf(envoy)).includes(host), { what: `${host} in an Envoy's routes` });
  }
  const answer = await send(stack.httpPort, "/", { host });
  expect(answer.status).toBe(200);
  expect(answer.json().host).toBe(host);
}

/** The serials of the certificates Envoy holds to present (its admin /certs; SDS content shows as inline). */
async function loadedSerials(envoy: EnvoyProcess): Promise<string[]> {
  const body = JSON.parse((await admin(envoy.adminSocket, "/certs")).body) as { certificates: Array<{ cert_chain?: Array<{ serial_number?: string }> }> };
  return body.certificates.flatMap((c) => c.cert_chain ?? []).map((c) => normalizeSerial(c.serial_number ?? ""));
}

/** The xDS connections an Envoy opened so far (one, as long as it never reconnected). */
const xdsConnections = (envoy: EnvoyProcess) => envoy.stat("cluster.isobar.upstream_cx_total");

async function stillRunning(envoy: EnvoyProcess): Promise<boolean> {
  return (await Promise.race([envoy.exited.then(() => false), Bun.sleep(1).then(() => true)])) === true;
}

const siteProxy = `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: site, namespace: split }
spec:
  virtualhost: { fqdn: site.split.test, tls: { secretName: site-cert } }
  routes: [{ services: [{ name: echo, port: 80 }] }]
`;

// Every way an Envoy can fetch its configuration rides on the same mTLS connection to the agent.
for (const xdsMode of ["delta", "sotw", "per-type"] as const) {
  describe(`xDS ${xdsMode}`, () => {
    beforeAll(async () => {
      certs = mkdtempSync(join(tmpdir(), "isobar-split-certs-"));
      scratch = mkdtempSync(join(tmpdir(), "isobar-split-scratch-"));
      for (const args of [["certs", "init", "--out", certs, "--overwrite"], ["certs", "issue", "--dir", certs, "--name", "envoy-b", "--usage", "client"]]) {
        const run = await runAgent(args);
        if (run.code !== 0) throw new Error(`agent ${args.join(" ")}: ${run.stderr}`);
      }
      echo = await startEcho("echo");
      const siteCa = await testCa("e2e split site CA");
      stack = await startStack({
        xdsMode,
        listeners: ["ingress_http", "ingress_https"],
        serveArgs: ["--ca-file", join(certs, "agent/ca.crt"), "--cert-file", join(certs, "agent/tls.crt"), "--key-file", join(certs, "agent/tls.key"), "--tls-reload-interval", "200ms"],
        bootstrapArgs: mtlsArgs("envoy"),
        manifests: {
          "services.yaml": serviceFor("split", "echo", [echo]),
          "secrets.yaml": [tlsSecret("split", "site-cert", await serverCertificate(siteCa, ["site.split.test"])), tlsSecret("split", "unused-cert", await serverCertificate(siteCa, ["unused.split.test"]))].join("---\n"),
          "site.yaml": siteProxy,
          "step.yaml": ingress("step-0.split.test"),
        },
      });
      // A client certificate from another `certs init`: right format, wrong CA.
      const foreign = join(scratch, "foreign");
      const init = await runAgent(["certs", "init", "--out", foreign]);
      if (init.code !== 0) throw new Error(`agent certs init: ${init.stderr}`);
      foreignCertificate = await stack.addEnvoy({
        bootstrapArgs: ["--envoy-ca-file", join(certs, "envoy/ca.crt"), "--envoy-cert-file", join(foreign, "envoy/tls.crt"), "--envoy-key-file", join(foreign, "envoy/tls.key")],
        listeners: [],
      });
      // Envoy checks the agent too: a bootstrap pinning a name the agent's certificate does not carry.
      wrongServerName = await stack.addEnvoy({ bootstrapArgs: [...mtlsArgs("envoy"), "--xds-server-name", "not-the-agent"], listeners: [] });
      envoyB = await stack.addEnvoy({ bootstrapArgs: mtlsArgs("envoy-b"), listeners: ["ingress_http", "ingress_https"] });
      // The same files as Envoy's, minus its client certificate.
      noCertificate = await stack.addEnvoy({
        bootstrapArgs: mtlsArgs("envoy"),
        listeners: [],
        edit: (bootstrap) => {
          const cluster = (bootstrap.static_resources as { clusters: Array<{ transport_socket: { typed_config: { common_tls_context: Record<string, unknown> } } }> }).clusters[0]!;
          delete cluster.transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs;
        },
      });
    }, 90_000);

    afterAll(async () => {
      await stack?.stop();
      await echo?.close();
      for (const dir of [certs, scratch]) if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test("Envoys with client certificates from `certs init` and `certs issue` get their configuration over mTLS", async () => {
      await servedEverywhere("step-0.split.test");
      for (const envoy of [stack.envoy, envoyB]) expect(await envoy.stat("listener_manager.lds.update_success")).toBeGreaterThan(0);
    });

    test("an Envoy without a client certificate, or with one from another CA, or pinning another agent name, gets nothing", async () => {
      for (const envoy of [noCertificate, foreignCertificate, wrongServerName]) {
        // It tried (more than once: Envoy retries a refused xDS connection) and was refused each time.
        await eventually(async () => ((await xdsConnections(envoy)) ?? 0) >= 2, { what: "a refused Envoy retrying" });
        expect(await envoy.stat("listener_manager.lds.update_success")).toBe(0);
        expect(await envoy.stat("cluster_manager.cds.update_success")).toBe(0);
        const dump = await envoy.configDump();
        const listeners = dump.configs.find((c) => String(c["@type"]).endsWith("ListenersConfigDump")) as { dynamic_listeners?: unknown[] };
        const clusters = dump.configs.find((c) => String(c["@type"]).endsWith("ClustersConfigDump")) as { dynamic_active_clusters?: unknown[] };
        expect(listeners.dynamic_listeners ?? []).toEqual([]);
        expect(clusters.dynamic_active_clusters ?? []).toEqual([]);
        expect((await envoySecrets(envoy)).referencedByDynamic).toEqual([]);
      }
    });

    test("each Envoy, on its own client certificate, holds exactly the secrets its listeners and clusters use", async () => {
      for (const envoy of [stack.envoy, envoyB]) {
        const secrets = await envoySecrets(envoy);
        expect(secrets.referencedByBootstrap).toEqual(["isobar_xds_tls_certificate", "isobar_xds_validation_context"]);
        expect(secrets.held).toEqual([...secrets.referencedByDynamic, ...secrets.referencedByBootstrap].sort());
        expect(secrets.referencedByDynamic.map((name) => name.split("/").slice(0, 2).join("/"))).toEqual(["split/site-cert"]);
      }
    });

    test("certificates mounted as a Kubernetes Secret volume are reloaded when the kubelet swaps them", async () => {
      // The kubelet's layout: files are symlinks through `..data`, which is swapped to a new
      // timestamped directory in one rename; the files themselves never change in place.
      const volume = join(scratch, "envoy-volume");
      const project = async (version: number) => {
        const run = await runAgent(["certs", "issue", "--dir", certs, "--name", "envoy-projected", "--usage", "client", "--overwrite"]);
        expect(run.code).toBe(0);
        const data = join(volume, `..${version}`);
        mkdirSync(data, { recursive: true });
        for (const file of ["ca.crt", "tls.crt", "tls.key"]) copyFileSync(join(certs, "envoy-projected", file), join(data, file));
        symlinkSync(`..${version}`, join(volume, "..data_tmp"));
        renameSync(join(volume, "..data_tmp"), join(volume, "..data"));
        return normalizeSerial(serialOf(read("envoy-projected/tls.crt")));
      };
      const first = await project(1);
      for (const file of ["ca.crt", "tls.crt", "tls.key"]) symlinkSync(join("..data", file), join(volume, file));
      const envoy = await stack.addEnvoy({ bootstrapArgs: ["--envoy-ca-file", join(volume, "ca.crt"), "--envoy-cert-file", join(volume, "tls.crt"), "--envoy-key-file", join(volume, "tls.key")] });
      expect(await loadedSerials(envoy)).toContain(first);
      const second = await project(2);
      await eventually(async () => (await loadedSerials(envoy)).includes(second), { what: "Envoy reloading the swapped Secret volume" });
    });

    test("`certs rotate`: leaves, then a CA rollover and its end, while both run; updates keep flowing, nobody restarts", async () => {
      const agentPid = stack.agent.process.pid;
      const connections = [await xdsConnections(stack.envoy), await xdsConnections(envoyB)];
      const oldEnvoyCertificate = { cert: read("envoy/tls.crt"), key: read("envoy/tls.key") };
      const steps: Array<{ args: string[]; host: string; newLeaves: boolean }> = [
        { args: ["--force"], host: "step-1.split.test", newLeaves: true },
        { args: ["--rotate-ca"], host: "step-2.split.test", newLeaves: true },
        { args: ["--finish-ca-rollover"], host: "step-3.split.test", newLeaves: false },
      ];
      for (const step of steps) {
        const before = normalizeSerial(serialOf(read("agent/tls.crt")));
        const run = await runAgent(["certs", "rotate", "--dir", certs, ...step.args]);
        expect(run.code).toBe(0);
        const agentSerial = normalizeSerial(serialOf(read("agent/tls.crt")));
        expect(agentSerial === before).toBe(!step.newLeaves);
        // The agent re-reads its files: new handshakes see the new certificate and the new trust.
        await eventually(async () => {
          const probe = await probeTls(stack.agent.port, { ca: read("envoy/ca.crt"), cert: read("envoy/tls.crt"), key: read("envoy/tls.key") });
          return probe.accepted && probe.serverSerial === agentSerial;
        }, { what: `the agent serving its ${step.args[0]} certificate` });
        // Each Envoy re-reads its certificate through the bootstrap's SDS files.
        for (const [envoy, identity] of [[stack.envoy, "envoy"], [envoyB, "envoy-b"]] as const) {
          const serial = normalizeSerial(serialOf(read(`${identity}/tls.crt`)));
          await eventually(async () => (await loadedSerials(envoy)).includes(serial), { what: `${identity} loading its rotated certificate` });
        }
        stack.write("step.yaml", ingress(step.host));
        await servedEverywhere(step.host);
      }
      // Nobody restarted or reconnected: the same agent process, the same Envoy processes, one xDS connection each.
      expect(stack.agent.process.pid).toBe(agentPid);
      expect(stack.agent.process.exitCode).toBeNull();
      expect(await stillRunning(stack.envoy)).toBe(true);
      expect(await stillRunning(envoyB)).toBe(true);
      expect([await xdsConnections(stack.envoy), await xdsConnections(envoyB)]).toEqual(connections);
      // After the rollover ended, a certificate of the old CA is refused; a new Envoy on the rotated files is served.
      const stale = await probeTls(stack.agent.port, { ca: read("envoy/ca.crt"), ...oldEnvoyCertificate });
      expect(stale.accepted).toBe(false);
      const fresh = await stack.addEnvoy({ bootstrapArgs: mtlsArgs("envoy") });
      await eventually(async () => (await domainsOf(fresh)).includes("step-3.split.test"), { what: "a new Envoy on the rotated files served" });
    }, 60_000);
  });
}
