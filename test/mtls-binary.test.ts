// mTLS between Envoy and the agent, against the compiled binary with real handshakes (Bun has had
// server-side client-certificate checks silently off, so nothing here is trusted to the sources):
// who is refused, who is served, rotation on disk without a restart and without dropping streams,
// TLS 1.2 refused, and plaintext beyond loopback only with --insecure.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCa } from "../src/certs/layout.ts";
import { issueLeaf, parseCertificates } from "../src/certs/x509.ts";
import { connectXds, tlsChannel, type XdsClient, type XdsResponse } from "../src/xds/client.ts";
import { TypeUrls } from "../src/xds/types.ts";
import { ensureAgentBinary, runAgent, startServe, type RunningBinary } from "./helpers/agent-binary.ts";
import { serviceAndIngress } from "./helpers/service-ingress.ts";
import { normalizeSerial, probeTls } from "./helpers/tls-probe.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

let dir: string;
let certs: string;
let manifests: string;
let serve: RunningBinary & { port: number };

const read = (path: string) => readFileSync(path, "utf8");
const envoy = () => ({ ca: read(join(certs, "envoy/ca.crt")), cert: read(join(certs, "envoy/tls.crt")), key: read(join(certs, "envoy/tls.key")) });
const serialOf = (path: string) => normalizeSerial(parseCertificates(read(path))[0]!.serialNumber);

function tlsFlags(base: string, who: "agent" | "envoy"): string[] {
  return ["--ca-file", join(base, who, "ca.crt"), "--cert-file", join(base, who, "tls.crt"), "--key-file", join(base, who, "tls.key")];
}

beforeAll(async () => {
  await ensureAgentBinary();
  dir = mkdtempSync(join(tmpdir(), "isobar-mtls-"));
  certs = join(dir, "certs");
  manifests = join(dir, "manifests");
  mkdirSync(manifests);
  writeFileSync(join(manifests, "a.yaml"), serviceAndIngress("a"));
  const init = await runAgent(["certs", "init", "--out", certs, "--ip-address", "127.0.0.1"]);
  expect(init.code).toBe(0);
  serve = await startServe(["--manifests", manifests, "--tls-reload-interval", "100ms", ...tlsFlags(certs, "agent")]);
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits for the next response (on an open stream) whose cluster names include `name`. */
async function untilCluster(client: XdsClient, name: string): Promise<XdsResponse> {
  for (;;) {
    const response = await client.next();
    if (response.resources.some((r) => r.name.startsWith(name))) return response;
  }
}

describe("agent serve with TLS (compiled binary)", () => {
  test("a client certificate from the CA is served: `agent xds` with the client files, end to end", async () => {
    const run = await runAgent(["xds", "--server", `127.0.0.1:${serve.port}`, "--type", "cds", ...tlsFlags(certs, "envoy")]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const names = (JSON.parse(run.stdout) as { resources: Array<{ name: string }> }).resources.map((r) => r.name);
    expect(names.some((name) => name.startsWith("default/a/80/"))).toBe(true);
    const probe = await probeTls(serve.port, envoy());
    expect(probe).toMatchObject({ accepted: true, protocol: "TLSv1.3", serverSerial: serialOf(join(certs, "agent/tls.crt")) });
  });

  test("no client certificate: refused, and `agent xds` without TLS files cannot get anything", async () => {
    const probe = await probeTls(serve.port, { ca: envoy().ca });
    expect(probe.accepted).toBe(false);
    const run = await runAgent(["xds", "--server", `127.0.0.1:${serve.port}`, "--type", "cds", "--timeout", "1s"]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
  });

  test("a certificate from another CA: refused, also through `agent xds`", async () => {
    const other = join(dir, "other");
    expect((await runAgent(["certs", "init", "--out", other])).code).toBe(0);
    const probe = await probeTls(serve.port, { ca: envoy().ca, cert: read(join(other, "envoy/tls.crt")), key: read(join(other, "envoy/tls.key")) });
    expect(probe.accepted).toBe(false);
    // Our CA to check the server, the other CA's client certificate.
    const flags = ["--ca-file", join(certs, "envoy/ca.crt"), "--cert-file", join(other, "envoy/tls.crt"), "--key-file", join(other, "envoy/tls.key")];
    const run = await runAgent(["xds", "--server", `127.0.0.1:${serve.port}`, "--type", "cds", "--timeout", "1s", ...flags]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
  });

  test("an expired client certificate from the right CA: refused", async () => {
    const { current } = await loadCa(certs);
    const expired = await issueLeaf(current, { commonName: "envoy", usage: "client", validityDays: 1, now: new Date(Date.now() - 3 * 86_400_000) });
    const probe = await probeTls(serve.port, { ca: envoy().ca, cert: expired.certificatePem, key: expired.privateKeyPem });
    expect(probe.accepted).toBe(false);
  });

  test("a server-only certificate (serverAuth, no clientAuth) presented as a client: refused", async () => {
    const issued = await runAgent(["certs", "issue", "--dir", certs, "--name", "server-only", "--usage", "server"]);
    expect(issued.code).toBe(0);
    const probe = await probeTls(serve.port, { ca: envoy().ca, cert: read(join(certs, "server-only/tls.crt")), key: read(join(certs, "server-only/tls.key")) });
    expect(probe.accepted).toBe(false);
  });

  test("a TLS 1.2 client is refused, even with a good certificate", async () => {
    const probe = await probeTls(serve.port, { ...envoy(), maxVersion: "TLSv1.2" });
    expect(probe.accepted).toBe(false);
    expect(probe.protocol).toBeUndefined();
  });

  test("rotated files: new handshakes get the new certificate, an established stream keeps receiving updates", async () => {
    const { credentials, channelOptions } = tlsChannel(`127.0.0.1:${serve.port}`, { ca: Buffer.from(envoy().ca), certificate: Buffer.from(envoy().cert), privateKey: Buffer.from(envoy().key) });
    const watcher = connectXds(`127.0.0.1:${serve.port}`, { node: { id: "envoy-1" }, subscriptions: [{ typeUrl: TypeUrls.cluster }], delta: true, credentials, channelOptions });
    try {
      await untilCluster(watcher, "default/a/");
      const before = serialOf(join(certs, "agent/tls.crt"));

      // Leaves renewed by the same CA.
      let mark = serve.lineCount();
      expect((await runAgent(["certs", "rotate", "--dir", certs, "--force"])).code).toBe(0);
      const renewed = serialOf(join(certs, "agent/tls.crt"));
      expect(renewed).not.toBe(before);
      await serve.waitForLine(new RegExp(`TLS reloaded: serving CN=agent \\(serial 0*${renewed}`, "i"), { after: mark });
      expect(await probeTls(serve.port, envoy())).toMatchObject({ accepted: true, serverSerial: renewed });
      writeFileSync(join(manifests, "b.yaml"), serviceAndIngress("b"));
      await untilCluster(watcher, "default/b/");

      // A CA rollover: a new CA signs new leaves, both CAs are trusted during the overlap.
      const oldClient = envoy();
      mark = serve.lineCount();
      expect((await runAgent(["certs", "rotate", "--dir", certs, "--rotate-ca"])).code).toBe(0);
      const rolled = serialOf(join(certs, "agent/tls.crt"));
      await serve.waitForLine(new RegExp(`TLS reloaded: serving CN=agent \\(serial 0*${rolled}.*trusting 2 CA`, "i"), { after: mark });
      expect(await probeTls(serve.port, envoy())).toMatchObject({ accepted: true, serverSerial: rolled });
      expect(await probeTls(serve.port, { ...oldClient, ca: envoy().ca })).toMatchObject({ accepted: true, serverSerial: rolled });
      writeFileSync(join(manifests, "c.yaml"), serviceAndIngress("c"));
      await untilCluster(watcher, "default/c/");

      // The rollover ends: the old CA's client certificates are refused from now on.
      mark = serve.lineCount();
      expect((await runAgent(["certs", "rotate", "--dir", certs, "--finish-ca-rollover"])).code).toBe(0);
      await serve.waitForLine(/TLS reloaded: .*trusting 1 CA/, { after: mark });
      expect((await probeTls(serve.port, { ...oldClient, ca: envoy().ca })).accepted).toBe(false);
      expect((await probeTls(serve.port, envoy())).accepted).toBe(true);
      // A replaced context keeps every rule: a client certificate required, TLS 1.3 only.
      expect((await probeTls(serve.port, { ca: envoy().ca })).accepted).toBe(false);
      expect((await probeTls(serve.port, { ...envoy(), maxVersion: "TLSv1.2" })).accepted).toBe(false);
      // The stream opened before all of this, with the old CA's certificate, is still served.
      writeFileSync(join(manifests, "d.yaml"), serviceAndIngress("d"));
      await untilCluster(watcher, "default/d/");
    } finally {
      watcher.close();
    }
  }, 30_000);
});

describe("agent serve flags (compiled binary)", () => {
  test("without TLS, a non-loopback address is refused unless --insecure", async () => {
    const refused = await runAgent(["serve", "--address", "0.0.0.0", "--port", "0"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split("\n")).toEqual([
      "agent: refusing to serve xDS without TLS on 0.0.0.0: give --ca-file, --cert-file and --key-file, bind a loopback address, or pass --insecure",
    ]);
    const insecure = await startServe(["--address", "0.0.0.0", "--insecure", "--manifests", manifests]);
    try {
      expect(insecure.output()).toContain("serving xDS WITHOUT TLS on 0.0.0.0 (--insecure)");
    } finally {
      await insecure.stop();
    }
  });

  test("the TLS files go together: one or two of them is a one-line usage error", async () => {
    const run = await runAgent(["serve", "--port", "0", "--ca-file", join(certs, "agent/ca.crt")]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([
      "agent: --ca-file, --cert-file and --key-file go together: give all three or none (missing --cert-file (ISOBAR_CERT_FILE, CONTOUR_CERT_FILE), --key-file (ISOBAR_KEY_FILE, CONTOUR_KEY_FILE))",
    ]);
    const unreadable = await runAgent(["serve", "--port", "0", "--ca-file", join(dir, "nope.crt"), "--cert-file", join(certs, "agent/tls.crt"), "--key-file", join(certs, "agent/tls.key")]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr.trim().split("\n")).toEqual([`agent: TLS files unusable: cannot read ${join(dir, "nope.crt")}: ENOENT`]);
  });

  test("the TLS files from ISOBAR_CA_FILE, ISOBAR_CERT_FILE and ISOBAR_KEY_FILE: TLS on a non-loopback address", async () => {
    const env = { ISOBAR_CA_FILE: join(certs, "agent/ca.crt"), ISOBAR_CERT_FILE: join(certs, "agent/tls.crt"), ISOBAR_KEY_FILE: join(certs, "agent/tls.key") };
    const served = await startServe(["--address", "0.0.0.0", "--manifests", manifests], { env });
    try {
      expect(served.output()).toContain("TLS loaded: serving CN=agent");
      expect((await probeTls(served.port, envoy())).accepted).toBe(true);
      expect((await probeTls(served.port, { ca: envoy().ca })).accepted).toBe(false);
    } finally {
      await served.stop();
    }
  });
});
