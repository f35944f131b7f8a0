// TLS files as a user meets them, against the compiled binary: an encrypted private key is named as
// encrypted (not as "not the key of the certificate") by `serve`, `xds` and `certs issue`, and a CA
// bundle larger than a TLS file may be is refused with its size, before it is read.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { createPrivateKey } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { maxTlsFileBytes } from "../src/certs/tls-server.ts";
import { ensureAgentBinary, runAgent } from "./helpers/agent-binary.ts";

setDefaultTimeout(60_000);

let dir: string;
let certs: string;
const encrypted = "holds an encrypted private key: isobar needs an unencrypted PEM key (decrypt it first, for example with `openssl pkey -in KEY -out PLAIN-KEY`)";

/** `path`'s key encrypted with a passphrase (PKCS#8), written to `out`. */
function encryptKey(path: string, out: string): string {
  writeFileSync(out, createPrivateKey(readFileSync(path)).export({ format: "pem", type: "pkcs8", cipher: "aes-256-cbc", passphrase: "secret" }) as string, { mode: 0o600 });
  return out;
}

beforeAll(async () => {
  await ensureAgentBinary();
  dir = mkdtempSync(join(tmpdir(), "isobar-tls-files-"));
  certs = join(dir, "certs");
  expect((await runAgent(["certs", "init", "--out", certs, "--ip-address", "127.0.0.1"])).code).toBe(0);
  mkdirSync(join(dir, "manifests"));
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("serve --key-file with an encrypted key: one line saying it is encrypted, exit 2", async () => {
  const key = encryptKey(join(certs, "agent/tls.key"), join(dir, "agent-encrypted.key"));
  const run = await runAgent(["serve", "--manifests", join(dir, "manifests"), "--port", "0", "--metrics-port", "0", "--debug-port", "0", "--ca-file", join(certs, "agent/ca.crt"), "--cert-file", join(certs, "agent/tls.crt"), "--key-file", key]);
  expect(run.stderr).toBe(`agent: TLS files unusable: ${key} ${encrypted}\n`);
  expect(run.code).toBe(2);
});

test("xds --key-file with an encrypted key: one line saying it is encrypted, exit 2", async () => {
  const key = encryptKey(join(certs, "envoy/tls.key"), join(dir, "envoy-encrypted.key"));
  const run = await runAgent(["xds", "--server", "127.0.0.1:1", "--type", "cds", "--ca-file", join(certs, "envoy/ca.crt"), "--cert-file", join(certs, "envoy/tls.crt"), "--key-file", key]);
  expect(run.stderr).toBe(`agent: --key-file ${key} ${encrypted}\n`);
  expect(run.code).toBe(2);
});

test("certs issue with an encrypted CA key: says the CA key is encrypted", async () => {
  const caDir = join(dir, "encrypted-ca");
  mkdirSync(caDir);
  writeFileSync(join(caDir, "ca.crt"), readFileSync(join(certs, "ca.crt")));
  encryptKey(join(certs, "ca.key"), join(caDir, "ca.key"));
  const run = await runAgent(["certs", "issue", "--dir", caDir, "--name", "someone", "--usage", "client"]);
  expect(run.stderr).toContain(`${join(caDir, "ca.key")} ${encrypted}`);
  expect(run.code).not.toBe(0);
});

test("serve with a CA bundle larger than a TLS file may be: refused with its size, exit 2", async () => {
  const bundle = join(dir, "huge-ca.crt");
  const ca = readFileSync(join(certs, "agent/ca.crt"), "utf8");
  writeFileSync(bundle, ca.repeat(Math.ceil((maxTlsFileBytes + 1) / ca.length)));
  const size = ca.length * Math.ceil((maxTlsFileBytes + 1) / ca.length);
  const run = await runAgent(["serve", "--manifests", join(dir, "manifests"), "--port", "0", "--metrics-port", "0", "--debug-port", "0", "--ca-file", bundle, "--cert-file", join(certs, "agent/tls.crt"), "--key-file", join(certs, "agent/tls.key")]);
  expect(run.stderr).toBe(`agent: TLS files unusable: ${bundle} is ${size} bytes, more than a TLS file may be (${maxTlsFileBytes} bytes)\n`);
  expect(run.code).toBe(2);
});
