// `agent certs init` with no flags issues the agent's certificate for the namespace every example and
// `agent serve --leader-election-namespace` default to (isobar-system), so the SANs match the Service
// Envoy dials without extra flags.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const main = join(import.meta.dir, "../src/main.ts");

async function agent(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, main, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

test("certs init defaults: the agent's SANs name the isobar Service in isobar-system; Secrets go to isobar-system", async () => {
  const dir = mkdtempSync(join(tmpdir(), "isobar-audit-certs-"));
  try {
    expect((await agent(["certs", "init", "--out", join(dir, "certs")])).code).toBe(0);
    const inspected = await agent(["certs", "inspect", join(dir, "certs"), "--output", "json"]);
    expect(inspected.code).toBe(0);
    const agentCert = JSON.parse(inspected.stdout).find((c: { file: string }) => c.file.endsWith("agent/tls.crt"));
    expect(agentCert.dnsNames).toEqual(["isobar", "isobar.isobar-system", "isobar.isobar-system.svc", "isobar.isobar-system.svc.cluster.local"]);
    const secrets = await agent(["certs", "init", "--format", "secrets"]);
    expect(secrets.code).toBe(0);
    expect([...secrets.stdout.matchAll(/^  namespace: (.+)$/gm)].map((m) => m[1])).toEqual(["isobar-system", "isobar-system", "isobar-system"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
