import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertFileError, writeFilesAtomically } from "./files.ts";
import { inspectPaths } from "./inspect.ts";
import { certSetFiles, certSetSecrets, createCertSet, planRotation } from "./layout.ts";
import { parseCertificates, verifyChain } from "./x509.ts";

const DAY = 86_400_000;
const initOptions = { namespace: "ns", serviceName: "isobar", extraDnsNames: ["xds.example.com"], ipAddresses: [], keyAlgorithm: "ecdsa-p256" as const, caDays: 3650, leafDays: 90 };
const rotateOptions = { beforeDays: 30, force: false, rotateCa: false, finishRollover: false, keyAlgorithm: "ecdsa-p256" as const, caDays: 3650, leafDays: 90, identities: ["agent", "envoy"] };

async function initDir(now?: Date): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "isobar-certs-"));
  writeFilesAtomically(certSetFiles(dir, await createCertSet({ ...initOptions, now })), { overwrite: false });
  return dir;
}

const leaf = (dir: string, name: string) => parseCertificates(readFileSync(join(dir, name, "tls.crt"), "utf8"))[0]!;
const bundle = (path: string) => parseCertificates(readFileSync(path, "utf8"));

describe("certificate directory", () => {
  test("init writes keys 0600, certificates 0644, and leaves that chain to the CA", async () => {
    const dir = await initDir();
    expect(statSync(join(dir, "ca.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "agent/tls.key")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "envoy/tls.crt")).mode & 0o777).toBe(0o644);
    expect(await verifyChain(leaf(dir, "agent"), bundle(join(dir, "ca.crt")))).toBeUndefined();
    const results = await inspectPaths([dir], { warnDays: 30 });
    expect(results.map((r) => r.status)).toEqual(["ok", "ok", "ok"]);
    expect(results[1]!.dnsNames).toContain("isobar.ns.svc.cluster.local");
    expect(results[1]!.dnsNames).toContain("xds.example.com");
  });

  test("nothing is overwritten without asking, and nothing partial is left", async () => {
    const dir = mkdtempSync(join(tmpdir(), "isobar-certs-"));
    writeFileSync(join(dir, "b.key"), "keep");
    const files = [
      { path: join(dir, "a.crt"), content: "A", mode: 0o644 },
      { path: join(dir, "b.key"), content: "B", mode: 0o600 },
    ];
    expect(() => writeFilesAtomically(files, { overwrite: false })).toThrow(CertFileError);
    expect(existsSync(join(dir, "a.crt"))).toBe(false);
    expect(readFileSync(join(dir, "b.key"), "utf8")).toBe("keep");
    writeFilesAtomically(files, { overwrite: true });
    expect(readFileSync(join(dir, "b.key"), "utf8")).toBe("B");
  });

  test("rotate renews only leaves due, and inspect flags expiring and expired ones", async () => {
    const dir = await initDir(new Date(Date.now() - 70 * DAY)); // 20 days left
    const before = leaf(dir, "envoy").serialNumber;
    expect((await inspectPaths([dir], { warnDays: 30 })).map((r) => r.status)).toEqual(["ok", "expiring", "expiring"]);
    expect((await inspectPaths([dir], { warnDays: 30, now: new Date(Date.now() + 30 * DAY) }))[2]!.status).toBe("expired");
    const plan = await planRotation(dir, rotateOptions);
    writeFilesAtomically(plan.files, { overwrite: true });
    expect(plan.actions).toEqual(["agent: renewed (had 19 days left)", "envoy: renewed (had 19 days left)"]);
    expect(leaf(dir, "envoy").serialNumber).not.toBe(before);
    expect((await planRotation(dir, rotateOptions)).files).toEqual([]);
  });

  test("a CA rollover trusts both CAs during the overlap, then only the new one", async () => {
    const dir = await initDir();
    const oldCa = bundle(join(dir, "ca.crt"))[0]!;
    const oldEnvoy = leaf(dir, "envoy");
    writeFilesAtomically((await planRotation(dir, { ...rotateOptions, rotateCa: true })).files, { overwrite: true });
    const overlap = bundle(join(dir, "agent/ca.crt"));
    expect(overlap).toHaveLength(2);
    expect(await verifyChain(oldEnvoy, overlap)).toBeUndefined(); // an Envoy not yet rotated still gets in
    expect(await verifyChain(leaf(dir, "envoy"), overlap)).toBeUndefined();
    expect(await verifyChain(leaf(dir, "envoy"), [oldCa])).toContain("not signed");
    writeFilesAtomically((await planRotation(dir, { ...rotateOptions, finishRollover: true })).files, { overwrite: true });
    const after = bundle(join(dir, "envoy/ca.crt"));
    expect(after).toHaveLength(1);
    expect(await verifyChain(oldEnvoy, after)).toContain("not signed");
    expect(await verifyChain(leaf(dir, "agent"), after)).toBeUndefined();
  });

  test("Secrets follow cert-manager's layout", async () => {
    const set = await createCertSet(initOptions);
    const secrets = certSetSecrets(set, { namespace: "ns", agentSecret: "isobarcert", envoySecret: "envoycert", caSecret: "isobar-ca" }) as Array<{ metadata: { name: string }; type: string; data: Record<string, string> }>;
    expect(secrets.map((s) => s.metadata.name)).toEqual(["isobar-ca", "isobarcert", "envoycert"]);
    expect(secrets.every((s) => s.type === "kubernetes.io/tls")).toBe(true);
    expect(Object.keys(secrets[2]!.data).sort()).toEqual(["ca.crt", "tls.crt", "tls.key"]);
    expect(Buffer.from(secrets[2]!.data["tls.crt"]!, "base64").toString()).toBe(set.identities[1]!.pair.certificatePem);
  });
});
