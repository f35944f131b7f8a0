// `agent bootstrap` with relative paths: Envoy resolves file paths from its own working directory,
// so every path written into the bootstrap and its SDS files must be absolute; and when the
// bootstrap goes to stdout, the SDS files written beside it are named on stderr, not written silently.
import { expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const main = join(import.meta.dir, "../src/main.ts");

// Spawns the agent from source: seconds each on a loaded 2-core machine.
setDefaultTimeout(30_000);

test("relative --envoy-*-file and --resources-dir become absolute paths; stdout mode names the SDS files it wrote", async () => {
  const dir = mkdtempSync(join(tmpdir(), "isobar-audit-bootstrap-"));
  try {
    const args = ["bootstrap", "-", "--xds-address", "10.0.0.1", "--envoy-ca-file", "certs/ca.crt", "--envoy-cert-file", "certs/tls.crt", "--envoy-key-file", "certs/tls.key", "--resources-dir", "res"];
    const child = Bun.spawn([process.execPath, main, ...args], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(code).toBe(0);
    expect(stderr).toBe(`wrote 2 SDS files in ${join(dir, "res")} (--resources-dir)\n`);
    const tls = JSON.parse(stdout).static_resources.clusters[0].transport_socket.typed_config.common_tls_context;
    expect(tls.tls_certificate_sds_secret_configs[0].sds_config.path_config_source).toEqual({ path: join(dir, "res/xds-tls-certificate.json"), watched_directory: { path: join(dir, "res") } });
    const certificate = JSON.parse(readFileSync(join(dir, "res/xds-tls-certificate.json"), "utf8")).resources[0].tls_certificate;
    expect(certificate).toEqual({ certificate_chain: { filename: join(dir, "certs/tls.crt") }, private_key: { filename: join(dir, "certs/tls.key") } });
    const validation = JSON.parse(readFileSync(join(dir, "res/xds-validation-context.json"), "utf8")).resources[0].validation_context;
    expect(validation.trusted_ca).toEqual({ filename: join(dir, "certs/ca.crt") });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--xds-address must be an IP or a DNS name: a URL, host:port or a stray character is one line and exit 2", async () => {
  for (const address of ["http://isobar", "isobar:8001", "bad name!"]) {
    const child = Bun.spawn([process.execPath, main, "bootstrap", "-", "--xds-address", address], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect({ code, stdout, stderr }).toEqual({ code: 2, stdout: "", stderr: `agent: --xds-address must be an IP address or a DNS name, got ${JSON.stringify(address)}\n` });
  }
  for (const address of ["10.0.0.1", "fd00::1", "isobar.isobar-system.svc.cluster.local."]) {
    const child = Bun.spawn([process.execPath, main, "bootstrap", "-", "--xds-address", address], { stdout: "pipe", stderr: "pipe" });
    const [stdout, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect({ address, code }).toEqual({ address, code: 0 });
    expect(JSON.parse(stdout).static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address).toBe(address);
  }
});
