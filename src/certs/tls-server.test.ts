import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certificateDaysLeft, checkBindAddress, isLoopbackAddress, loadServerTls, maxTlsFileBytes, resolveTlsFiles, TlsSetupError } from "./tls-server.ts";
import { createCa, issueLeaf, parseCertificates, type PemPair } from "./x509.ts";

/** `pem` encrypted with a passphrase: PKCS#8 ("ENCRYPTED PRIVATE KEY") or OpenSSL's legacy SEC1 form. */
function encryptedKey(pem: string, form: "pkcs8" | "sec1"): string {
  return createPrivateKey(pem).export({ format: "pem", type: form, cipher: "aes-256-cbc", passphrase: "secret" }) as string;
}

function setupError(body: () => unknown): TlsSetupError {
  try {
    body();
  } catch (error) {
    expect(error).toBeInstanceOf(TlsSetupError);
    return error as TlsSetupError;
  }
  throw new Error("expected a TlsSetupError");
}

describe("TLS flags", () => {
  test("none given: no TLS; all three from flags, from the environment, or mixed (flags win)", () => {
    expect(resolveTlsFiles({}, {})).toBeUndefined();
    expect(resolveTlsFiles({ caFile: "ca", certFile: "crt", keyFile: "key" }, {})).toEqual({ caFile: "ca", certFile: "crt", keyFile: "key" });
    const env = { ISOBAR_CA_FILE: "/env/ca", ISOBAR_CERT_FILE: "/env/crt", ISOBAR_KEY_FILE: "/env/key" };
    expect(resolveTlsFiles({}, env)).toEqual({ caFile: "/env/ca", certFile: "/env/crt", keyFile: "/env/key" });
    expect(resolveTlsFiles({ keyFile: "/flag/key" }, env)).toEqual({ caFile: "/env/ca", certFile: "/env/crt", keyFile: "/flag/key" });
  });

  test("some but not all: a usage error naming what is missing", () => {
    const error = setupError(() => resolveTlsFiles({ certFile: "crt" }, { ISOBAR_KEY_FILE: "key" }));
    expect(error.code).toBe(2);
    expect(error.message).toBe("--ca-file, --cert-file and --key-file go together: give all three or none (missing --ca-file (ISOBAR_CA_FILE, CONTOUR_CAFILE))");
  });

  test("loopback addresses", () => {
    for (const address of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) expect([address, isLoopbackAddress(address)]).toEqual([address, true]);
    for (const address of ["0.0.0.0", "::", "10.0.0.1", "192.168.1.1", "isobar", "128.0.0.1", "::2"]) expect([address, isLoopbackAddress(address)]).toEqual([address, false]);
  });

  test("plaintext beyond loopback only with --insecure; TLS anywhere", () => {
    expect(() => checkBindAddress("127.0.0.1", { tls: false, insecure: false })).not.toThrow();
    expect(() => checkBindAddress("0.0.0.0", { tls: true, insecure: false })).not.toThrow();
    expect(() => checkBindAddress("0.0.0.0", { tls: false, insecure: true })).not.toThrow();
    const error = setupError(() => checkBindAddress("::", { tls: false, insecure: false }));
    expect(error.code).toBe(2);
    expect(error.message).toStartWith("refusing to serve xDS without TLS on ::");
  });
});

describe("loadServerTls", () => {
  let dir: string;
  let ca: PemPair;
  const files = () => ({ caFile: join(dir, "ca.crt"), certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key") });
  const serialOf = (pair: PemPair) => parseCertificates(pair.certificatePem)[0]!.serialNumber;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "isobar-tls-server-"));
    ca = await createCa({ validityDays: 365 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function write(pair: PemPair, caPem = ca.certificatePem) {
    writeFileSync(join(dir, "ca.crt"), caPem);
    writeFileSync(join(dir, "tls.crt"), pair.certificatePem);
    writeFileSync(join(dir, "tls.key"), pair.privateKeyPem);
  }

  test("refuses files that do not fit together, with a one-line reason", async () => {
    const a = await issueLeaf(ca, { commonName: "agent", usage: "server" });
    const b = await issueLeaf(ca, { commonName: "agent", usage: "server" });
    write({ certificatePem: a.certificatePem, privateKeyPem: b.privateKeyPem });
    const error = await loadServerTls(files()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TlsSetupError);
    expect((error as TlsSetupError).message).toBe(`TLS files unusable: ${files().keyFile} is not the key of the certificate in ${files().certFile}`);
    writeFileSync(join(dir, "ca.crt"), "not a certificate");
    const garbled = await loadServerTls(files()).catch((e: unknown) => e as Error);
    expect((garbled as Error).message).toBe(`TLS files unusable: ${files().caFile}: no PEM certificate found`);
  });

  test("an encrypted key is reported as encrypted, not as the wrong key", async () => {
    const leaf = await issueLeaf(ca, { commonName: "agent", usage: "server" });
    for (const form of ["pkcs8", "sec1"] as const) {
      write({ certificatePem: leaf.certificatePem, privateKeyPem: encryptedKey(leaf.privateKeyPem, form) });
      const error = await loadServerTls(files()).catch((e: unknown) => e as Error);
      expect((error as Error).message).toBe(
        `TLS files unusable: ${files().keyFile} holds an encrypted private key: isobar needs an unencrypted PEM key (decrypt it first, for example with \`openssl pkey -in KEY -out PLAIN-KEY\`)`,
      );
    }
  });

  test("a file larger than a TLS file may be is refused before it is read", async () => {
    const leaf = await issueLeaf(ca, { commonName: "agent", usage: "server" });
    write(leaf, ca.certificatePem + "\n".repeat(maxTlsFileBytes));
    const error = await loadServerTls(files()).catch((e: unknown) => e as Error);
    expect((error as Error).message).toBe(`TLS files unusable: ${files().caFile} is ${maxTlsFileBytes + ca.certificatePem.length} bytes, more than a TLS file may be (${maxTlsFileBytes} bytes)`);
  });

  test("reload reads the files only when their stat changed", async () => {
    const leaf = await issueLeaf(ca, { commonName: "agent", usage: "server" });
    write(leaf);
    // A CA certificate of exactly the same size, so that replacing the bundle in place keeps its size.
    let other = await createCa({ validityDays: 365 });
    while (other.certificatePem.length !== ca.certificatePem.length) other = await createCa({ validityDays: 365 });
    const past = new Date(Date.now() - 60_000);
    for (const name of ["ca.crt", "tls.crt", "tls.key"]) utimesSync(join(dir, name), past, past);
    const tls = await loadServerTls(files(), { reloadIntervalMs: 3_600_000 });
    try {
      const inode = statSync(files().caFile).ino;
      writeFileSync(files().caFile, other.certificatePem);
      utimesSync(files().caFile, past, past);
      expect(statSync(files().caFile).ino).toBe(inode);
      // Same device, inode, size and mtime: not read, the old bundle is still trusted.
      expect(await tls.reload()).toBe(false);
      expect(tls.certificateDaysLeft()[0]!.serialNumber).toBe(parseCertificates(ca.certificatePem)[0]!.serialNumber);
      // The mtime moves: read, installed.
      const later = new Date(past.getTime() + 1_000);
      utimesSync(files().caFile, later, later);
      expect(await tls.reload()).toBe(true);
      expect(tls.certificateDaysLeft()[0]!.serialNumber).toBe(parseCertificates(other.certificatePem)[0]!.serialNumber);
    } finally {
      tls.close();
    }
  });

  test("reload: unchanged files change nothing, a half-written rotation is skipped, a complete one is installed", async () => {
    const first = await issueLeaf(ca, { commonName: "agent", usage: "server", validityDays: 30 });
    write(first);
    const tls = await loadServerTls(files(), { reloadIntervalMs: 3_600_000 });
    try {
      const days = tls.certificateDaysLeft();
      expect(days.map((d) => [d.file, d.subject, d.serialNumber])).toEqual([
        [files().caFile, "CN=isobar CA", parseCertificates(ca.certificatePem)[0]!.serialNumber],
        [files().certFile, "CN=agent", serialOf(first)],
      ]);
      expect(days[1]!.daysLeft).toBe(29);
      expect(days[0]!.daysLeft).toBe(364);
      expect(certificateDaysLeft()).toEqual(days);
      expect(await tls.reload()).toBe(false);

      const second = await issueLeaf(ca, { commonName: "agent", usage: "server", validityDays: 60 });
      writeFileSync(join(dir, "tls.crt"), second.certificatePem); // the key is not there yet
      expect(await tls.reload()).toBe(false);
      expect(tls.certificateDaysLeft()[1]!.serialNumber).toBe(serialOf(first));
      writeFileSync(join(dir, "tls.key"), second.privateKeyPem);
      expect(await tls.reload()).toBe(true);
      expect(tls.certificateDaysLeft()[1]).toMatchObject({ serialNumber: serialOf(second), daysLeft: 59 });
      expect(tls.credentials._getSecureContextOptions()).toMatchObject({ minVersion: "TLSv1.3", cert: Buffer.from(second.certificatePem) });
      expect(tls.credentials._getConstructorOptions()).toMatchObject({ requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.3" });
    } finally {
      tls.close();
    }
    expect(certificateDaysLeft()).toEqual([]);
  });
});
