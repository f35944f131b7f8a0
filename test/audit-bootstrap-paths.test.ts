// `agent bootstrap` with relative paths: Envoy resolves file paths from its own working directory,
// so every path written into the bootstrap and its SDS files must be absolute; and when the
// bootstrap goes to stdout, the SDS files written beside it are named on stderr, not written silently.
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const main = join(import.meta.dir, "../src/main.ts");

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
