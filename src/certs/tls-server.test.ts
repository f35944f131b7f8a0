import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CliError } from "../cli/errors.ts";
import { certificateDaysLeft, checkBindAddress, isLoopbackAddress, loadServerTls, resolveTlsFiles } from "./tls-server.ts";
import { createCa, issueLeaf, parseCertificates, type PemPair } from "./x509.ts";

function cliError(body: () => unknown): CliError {
  try {
    body();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error("expected a CliError");
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
    const error = cliError(() => resolveTlsFiles({ certFile: "crt" }, { ISOBAR_KEY_FILE: "key" }));
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
    const error = cliError(() => checkBindAddress("::", { tls: false, insecure: false }));
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
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toBe(`TLS files unusable: ${files().keyFile} is not the key of the certificate in ${files().certFile}`);
    writeFileSync(join(dir, "ca.crt"), "not a certificate");
    const garbled = await loadServerTls(files()).catch((e: unknown) => e as Error);
    expect((garbled as Error).message).toBe(`TLS files unusable: ${files().caFile}: no PEM certificate found`);
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
