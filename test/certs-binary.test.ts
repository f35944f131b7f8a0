// `agent certs` as users run it, through the compiled binary: file modes, no overwriting and no
// partial files, `inspect` exit codes on good, expiring and expired chains, and Debian's openssl
// accepting what we issue for the purpose it was issued for (and refusing it for the other).
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCa, issueLeaf } from "../src/certs/x509.ts";
import { ensureAgentBinary, runAgent } from "./helpers/agent-binary.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

let dir: string;

beforeAll(async () => {
  await ensureAgentBinary();
  dir = mkdtempSync(join(tmpdir(), "isobar-certs-bin-"));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mode = (path: string) => statSync(path).mode & 0o777;

function listing(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[]).sort();
}

function contents(root: string): Record<string, string> {
  return Object.fromEntries(listing(root).filter((f) => statSync(join(root, f)).isFile()).map((f) => [f, readFileSync(join(root, f), "utf8")]));
}

function openssl(args: string[]): { code: number; output: string } {
  const run = Bun.spawnSync(["openssl", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: run.exitCode, output: `${run.stdout.toString()}${run.stderr.toString()}` };
}

describe("agent certs init (compiled binary)", () => {
  test("keys 0600, certificates 0644, directories 0700", async () => {
    const out = join(dir, "modes");
    const run = await runAgent(["certs", "init", "--out", out]);
    expect(run.code).toBe(0);
    expect(listing(out)).toEqual(["agent", "agent/ca.crt", "agent/tls.crt", "agent/tls.key", "ca.crt", "ca.key", "envoy", "envoy/ca.crt", "envoy/tls.crt", "envoy/tls.key"]);
    for (const key of ["ca.key", "agent/tls.key", "envoy/tls.key"]) expect(mode(join(out, key))).toBe(0o600);
    for (const certificate of ["ca.crt", "agent/ca.crt", "agent/tls.crt", "envoy/ca.crt", "envoy/tls.crt"]) expect(mode(join(out, certificate))).toBe(0o644);
    for (const folder of ["", "agent", "envoy"]) expect(mode(join(out, folder))).toBe(0o700);
  });

  test("refuses to overwrite, changes nothing and leaves no partial file; --overwrite replaces", async () => {
    const out = join(dir, "overwrite");
    expect((await runAgent(["certs", "init", "--out", out])).code).toBe(0);
    const before = contents(out);
    const again = await runAgent(["certs", "init", "--out", out]);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
    expect(again.stderr).toContain("refusing to overwrite");
    expect(contents(out)).toEqual(before);

    // Only one file in the way: still nothing written, nothing half-written.
    const partial = join(dir, "partial");
    mkdirSync(join(partial, "envoy"), { recursive: true });
    writeFileSync(join(partial, "envoy/tls.key"), "mine");
    expect((await runAgent(["certs", "init", "--out", partial])).code).not.toBe(0);
    expect(listing(partial)).toEqual(["envoy", "envoy/tls.key"]);
    expect(readFileSync(join(partial, "envoy/tls.key"), "utf8")).toBe("mine");

    expect((await runAgent(["certs", "init", "--out", out, "--overwrite"])).code).toBe(0);
    const after = contents(out);
    expect(Object.keys(after)).toEqual(Object.keys(before));
    expect(after["ca.key"]).not.toBe(before["ca.key"]);
    expect(mode(join(out, "agent/tls.key"))).toBe(0o600);
  });

  test("--format secrets --out writes the Secrets file 0600", async () => {
    const file = join(dir, "secrets.yaml");
    const run = await runAgent(["certs", "init", "--format", "secrets", "--out", file]);
    expect(run.code).toBe(0);
    expect(mode(file)).toBe(0o600);
    expect(readFileSync(file, "utf8")).toContain("type: kubernetes.io/tls");
  });
});

describe("agent certs inspect (compiled binary)", () => {
  test("a good chain: exit 0, every line OK", async () => {
    const out = join(dir, "good");
    expect((await runAgent(["certs", "init", "--out", out])).code).toBe(0);
    const run = await runAgent(["certs", "inspect", out]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toStartWith("OK ");
    expect(lines[1]).toContain("chain ok");
  });

  test("leaves expiring within --warn-days: exit 1, marked EXPIRING", async () => {
    const out = join(dir, "expiring");
    expect((await runAgent(["certs", "init", "--out", out, "--leaf-days", "10"])).code).toBe(0);
    const run = await runAgent(["certs", "inspect", out]);
    expect(run.code).toBe(1);
    expect(run.stdout.trim().split("\n").map((line) => line.split(/\s+/)[0])).toEqual(["OK", "EXPIRING", "EXPIRING"]);
    expect((await runAgent(["certs", "inspect", out, "--warn-days", "5"])).code).toBe(0);
  });

  test("an expired leaf: exit 1, marked EXPIRED", async () => {
    const out = join(dir, "expired");
    const past = new Date(Date.now() - 100 * 86_400_000);
    const ca = await createCa({ now: past });
    const leaf = await issueLeaf(ca, { commonName: "agent", usage: "server", dnsNames: ["isobar"], validityDays: 30, now: past });
    mkdirSync(join(out, "agent"), { recursive: true });
    writeFileSync(join(out, "ca.crt"), ca.certificatePem);
    writeFileSync(join(out, "agent/ca.crt"), ca.certificatePem);
    writeFileSync(join(out, "agent/tls.crt"), leaf.certificatePem);
    const run = await runAgent(["certs", "inspect", out]);
    expect(run.code).toBe(1);
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toStartWith("OK ");
    expect(lines[1]).toStartWith("EXPIRED ");
  });
});

describe("openssl verify (Debian's openssl)", () => {
  test("accepts the chain, each leaf for its purpose, and refuses the other purpose", async () => {
    const out = join(dir, "openssl");
    expect((await runAgent(["certs", "init", "--out", out, "--key-algorithm", "ecdsa-p256"])).code).toBe(0);
    const ca = join(out, "ca.crt");
    expect(openssl(["verify", "-CAfile", ca, "-purpose", "sslserver", join(out, "agent/tls.crt")])).toEqual({ code: 0, output: `${join(out, "agent/tls.crt")}: OK\n` });
    expect(openssl(["verify", "-CAfile", ca, "-purpose", "sslclient", join(out, "envoy/tls.crt")])).toEqual({ code: 0, output: `${join(out, "envoy/tls.crt")}: OK\n` });
    expect(openssl(["verify", "-CAfile", ca, "-purpose", "sslclient", join(out, "agent/tls.crt")]).code).not.toBe(0);
    expect(openssl(["verify", "-CAfile", ca, "-purpose", "sslserver", join(out, "envoy/tls.crt")]).code).not.toBe(0);
    // The key on disk is the certificate's key, as openssl reads them.
    const publicOf = (args: string[]) => openssl(args).output;
    expect(publicOf(["pkey", "-in", join(out, "agent/tls.key"), "-pubout"])).toBe(publicOf(["x509", "-in", join(out, "agent/tls.crt"), "-noout", "-pubkey"]));
  });

  test("RSA as well, and across a CA rollover both CAs in the bundle verify their leaves", async () => {
    const out = join(dir, "openssl-rsa");
    expect((await runAgent(["certs", "init", "--out", out, "--key-algorithm", "rsa-2048"])).code).toBe(0);
    expect(openssl(["verify", "-CAfile", join(out, "ca.crt"), "-purpose", "sslserver", join(out, "agent/tls.crt")]).code).toBe(0);
    const oldEnvoy = readFileSync(join(out, "envoy/tls.crt"), "utf8");
    writeFileSync(join(dir, "old-envoy.crt"), oldEnvoy);
    expect((await runAgent(["certs", "rotate", "--dir", out, "--rotate-ca"])).code).toBe(0);
    const bundle = join(out, "envoy/ca.crt");
    expect(openssl(["verify", "-CAfile", bundle, "-purpose", "sslclient", join(out, "envoy/tls.crt")]).code).toBe(0);
    expect(openssl(["verify", "-CAfile", bundle, "-purpose", "sslclient", join(dir, "old-envoy.crt")]).code).toBe(0);
  });
});
