import { describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCa, issueLeaf, keyMatchesCertificate, parseCertificates, randomSerial, serviceDnsNames, summarize, verifyChain } from "./x509.ts";

const DAY = 86_400_000;

describe("x509", () => {
  test("serials are random, positive and at least 64 bits", () => {
    const a = randomSerial();
    const b = randomSerial();
    expect(a).not.toBe(b);
    expect(a.length).toBeGreaterThanOrEqual(16);
    expect(Number.parseInt(a.slice(0, 2), 16) & 0x80).toBe(0);
  });

  test("a CA issues a server leaf with SANs and serverAuth that verifies against it", async () => {
    const ca = await createCa({ commonName: "test CA" });
    const server = await issueLeaf(ca, { commonName: "isobar", dnsNames: serviceDnsNames("isobar", "projectcontour"), ipAddresses: ["127.0.0.1"], usage: "server" });
    const [leaf] = parseCertificates(server.certificatePem);
    const [caCert] = parseCertificates(ca.certificatePem);
    const summary = summarize(leaf!);
    expect(summary.dnsNames).toEqual(["isobar", "isobar.projectcontour", "isobar.projectcontour.svc", "isobar.projectcontour.svc.cluster.local"]);
    expect(summary.ipAddresses).toEqual(["127.0.0.1"]);
    expect(summary.extendedKeyUsages).toEqual(["serverAuth"]);
    expect(summary.isCa).toBe(false);
    expect(summary.daysLeft).toBe(89);
    expect(summarize(caCert!).isCa).toBe(true);
    expect(await verifyChain(leaf!, [caCert!])).toBeUndefined();
    expect(await keyMatchesCertificate(server.privateKeyPem, leaf!)).toBe(true);
    expect(await keyMatchesCertificate(ca.privateKeyPem, leaf!)).toBe(false);
  });

  test("another CA's leaf, an expired leaf and a not-yet-valid leaf do not verify", async () => {
    const ca = await createCa();
    const other = await createCa({ commonName: "isobar CA" }); // same subject, other key
    const [caCert] = parseCertificates(ca.certificatePem);
    const foreign = parseCertificates((await issueLeaf(other, { commonName: "envoy", usage: "client" })).certificatePem)[0]!;
    expect(await verifyChain(foreign, [caCert!])).toContain("is not signed by the given CA");
    const old = parseCertificates((await issueLeaf(ca, { commonName: "envoy", usage: "client", validityDays: 1, now: new Date(Date.now() - 10 * DAY) })).certificatePem)[0]!;
    expect(await verifyChain(old, [caCert!])).toContain("expired at");
    const future = parseCertificates((await issueLeaf(ca, { commonName: "envoy", usage: "client", validityDays: 1, now: new Date(Date.now() + 2 * DAY) })).certificatePem)[0]!;
    expect(await verifyChain(future, [caCert!])).toContain("is not valid before");
  });

  test("RSA keys work too, and a leaf may not outlive its CA", async () => {
    const ca = await createCa({ keyAlgorithm: "rsa-2048", validityDays: 30 });
    const leaf = await issueLeaf(ca, { commonName: "envoy", usage: "client", keyAlgorithm: "rsa-2048", validityDays: 10 });
    const [leafCert] = parseCertificates(leaf.certificatePem);
    expect(await verifyChain(leafCert!, parseCertificates(ca.certificatePem))).toBeUndefined();
    expect(await keyMatchesCertificate(leaf.privateKeyPem, leafCert!)).toBe(true);
    await expect(issueLeaf(ca, { commonName: "envoy", usage: "client", validityDays: 60 })).rejects.toThrow("outlive its CA");
  });

  test("openssl verify accepts the chain with the right purpose", async () => {
    const ca = await createCa();
    const server = await issueLeaf(ca, { commonName: "isobar", dnsNames: ["isobar"], usage: "server" });
    const client = await issueLeaf(ca, { commonName: "envoy", usage: "client" });
    const dir = mkdtempSync(join(tmpdir(), "isobar-x509-"));
    writeFileSync(join(dir, "ca.crt"), ca.certificatePem);
    writeFileSync(join(dir, "server.crt"), server.certificatePem);
    writeFileSync(join(dir, "client.crt"), client.certificatePem);
    const verify = (file: string, purpose: string) => execFileSync("openssl", ["verify", "-purpose", purpose, "-CAfile", join(dir, "ca.crt"), join(dir, file)], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(verify("server.crt", "sslserver")).toContain("OK");
    expect(verify("client.crt", "sslclient")).toContain("OK");
    expect(() => verify("client.crt", "sslserver")).toThrow();
  });
});
