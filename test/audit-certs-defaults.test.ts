// `agent certs init` with no flags issues the agent's certificate for the namespace every example and
// `agent serve --leader-election-namespace` default to (isobar-system), so the SANs match the Service
// Envoy dials without extra flags.
import { expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runSource } from "./helpers/agent-process.ts";


// Spawns the agent from source: seconds each on a loaded 2-core machine.
setDefaultTimeout(30_000);

const agent = runSource;

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

test("certs inspect DIR covers leaves added with certs issue, checked against the CAs trusted now", async () => {
  const dir = mkdtempSync(join(tmpdir(), "isobar-audit-certs-"));
  const certs = join(dir, "certs");
  const status = async () => {
    const run = await agent(["certs", "inspect", certs, "--output", "json"]);
    return { code: run.code, leaves: JSON.parse(run.stdout).filter((c: { isCa: boolean }) => !c.isCa).map((c: { file: string; status: string }) => `${c.file.slice(certs.length + 1)} ${c.status}`) };
  };
  try {
    expect((await agent(["certs", "init", "--out", certs])).code).toBe(0);
    expect((await agent(["certs", "issue", "--dir", certs, "--name", "gateway", "--usage", "both"])).code).toBe(0);
    expect(await status()).toEqual({ code: 0, leaves: ["agent/tls.crt ok", "envoy/tls.crt ok", "gateway/tls.crt ok"] });
    // certs rotate looks at every leaf folder by default: the rollover renews gateway too.
    const rollover = await agent(["certs", "rotate", "--dir", certs, "--rotate-ca"]);
    expect(rollover.stdout.split("\n").filter((l) => l.includes("renewed")).map((l) => l.split(":")[0])).toEqual(["agent", "envoy", "gateway"]);
    expect((await agent(["certs", "rotate", "--dir", certs, "--finish-ca-rollover"])).code).toBe(0);
    expect(await status()).toEqual({ code: 0, leaves: ["agent/tls.crt ok", "envoy/tls.crt ok", "gateway/tls.crt ok"] });
    // A rollover limited to agent and envoy: once it is finished, gateway's certificate is signed by a
    // CA nobody trusts any more (its own gateway/ca.crt still holds the old one).
    expect((await agent(["certs", "rotate", "--dir", certs, "--rotate-ca", "--identities", "agent,envoy"])).code).toBe(0);
    expect((await agent(["certs", "rotate", "--dir", certs, "--finish-ca-rollover"])).code).toBe(0);
    expect(await status()).toEqual({ code: 1, leaves: ["agent/tls.crt ok", "envoy/tls.crt ok", "gateway/tls.crt invalid"] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
