// No key material in anything the agent prints: `serve` with TLS files at the most verbose level
// (loading, reloading, a half-written rotation, serving a TLS Secret over SDS), and at debug level
// `certs init` (files, Secret YAML, and Secrets created through the fake API server), `issue`,
// `rotate`, `inspect` and `bootstrap` with Envoy's key, all through the compiled binary.
// Their stdout and stderr must hold no PEM block and no fragment of any private key, in any encoding.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCa, issueLeaf } from "../src/certs/x509.ts";
import { connectXds, responseToJson, tlsChannel } from "../src/xds/client.ts";
import { TypeUrls } from "../src/xds/types.ts";
import { ensureAgentBinary, runAgent, startServe } from "./helpers/agent-binary.ts";
import { startFakeApiServer } from "./fake-apiserver/index.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

let dir: string;
const printed: Array<{ command: string; text: string }> = [];
const keys = new Set<string>();
const debug = ["--log-level", "debug"];

beforeAll(async () => {
  await ensureAgentBinary();
  dir = mkdtempSync(join(tmpdir(), "isobar-no-keys-"));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the binary at debug level. */
async function agent(args: string[]): Promise<number> {
  const run = await runAgent([...args, ...debug]);
  printed.push({ command: args.join(" "), text: `${run.stdout}\n${run.stderr}` });
  return run.code;
}

/** Remembers every private key now on disk under `root` (they change with each rotation). */
function collectKeys(root: string): void {
  for (const file of readdirSync(root, { recursive: true }) as string[]) {
    if (file.endsWith(".key")) keys.add(readFileSync(join(root, file), "utf8"));
  }
}

/**
 * Fragments any leak of `pem` would contain: pieces of its base64 body, of the base64 of the whole PEM
 * text (a Secret's data), of the base64url of the key bytes, and of their hex.
 */
function fragments(pem: string): string[] {
  const body = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  const der = Buffer.from(body, "base64");
  const encodings = [body, Buffer.from(pem).toString("base64"), der.toString("base64url"), der.toString("hex")];
  const pieces: string[] = [];
  // The key's secret part sits in the middle of the DER: windows of 20 characters across each encoding.
  for (const text of encodings) for (let at = 0; at + 20 <= text.length; at += 10) pieces.push(text.slice(at, at + 20));
  return pieces;
}

function tlsSecretManifest(name: string, pair: { certificatePem: string; privateKeyPem: string }): string {
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: default }
type: kubernetes.io/tls
data:
  tls.crt: ${b64(pair.certificatePem)}
  tls.key: ${b64(pair.privateKeyPem)}
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec:
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web, namespace: default }
spec:
  tls: [{ hosts: [web.example.com], secretName: ${name} }]
  rules:
    - host: web.example.com
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }
`;
}

describe("no key material in what the agent prints", () => {
  test("certs init, issue, rotate, inspect", async () => {
    const certs = join(dir, "certs");
    expect(await agent(["certs", "init", "--out", certs, "--ip-address", "127.0.0.1"])).toBe(0);
    collectKeys(certs);
    expect(await agent(["certs", "init", "--format", "secrets", "--out", join(dir, "secrets.yaml")])).toBe(0);
    keys.add(readFileSync(join(dir, "secrets.yaml"), "utf8").match(/tls\.key: (\S+)/g)!.map((line) => Buffer.from(line.slice("tls.key: ".length), "base64").toString("utf8")).join("\n"));
    expect(await agent(["certs", "init", "--out", certs])).not.toBe(0); // the refusal message names files, not contents
    expect(await agent(["certs", "issue", "--dir", certs, "--name", "extra", "--usage", "both"])).toBe(0);
    collectKeys(certs);
    expect(await agent(["certs", "rotate", "--dir", certs, "--force"])).toBe(0);
    collectKeys(certs);
    expect(await agent(["certs", "rotate", "--dir", certs, "--rotate-ca", "--key-algorithm", "rsa-2048"])).toBe(0);
    collectKeys(certs);
    expect(await agent(["certs", "inspect", certs, "--output", "json"])).toBe(0);
    expect(await agent(["certs", "inspect", certs])).toBe(0);
    // Debug lines were written (JSON lines: stderr is not a terminal), and they name certificates.
    const initDebug = printed.find((p) => p.command.startsWith("certs init --out"))!.text;
    expect(initDebug).toContain('"level":"debug","component":"certs","msg":"created CA CN=isobar CA');
  }, 30_000);

  test("certs init --format cluster against the fake API server: create, refuse, overwrite", async () => {
    const api = await startFakeApiServer({ bookmarkIntervalMs: 0 });
    try {
      const init = ["certs", "init", "--format", "cluster", "--kubeconfig", api.kubeconfigPath, "--namespace", "isobar-system"];
      const collectSecrets = () => {
        for (const secret of api.list("Secret", "isobar-system") as unknown as Array<{ data: Record<string, string> }>) keys.add(Buffer.from(secret.data["tls.key"]!, "base64").toString("utf8"));
      };
      expect(await agent(init)).toBe(0);
      collectSecrets();
      expect(await agent(init)).toBe(1); // refused: the message names Secrets, not contents
      expect(await agent([...init, "--overwrite"])).toBe(0);
      collectSecrets();
      api.injectFault({ verb: "update", plural: "secrets", fault: { type: "http", status: 500 } });
      expect(await agent([...init, "--overwrite"])).toBe(1); // failed midway: names what was written
      const runs = printed.filter((p) => p.command.includes("--format cluster"));
      expect(runs).toHaveLength(4);
      expect(runs[0]!.text).toContain('"component":"certs","msg":"Secret isobar-system/isobar-ca: absent"');
      expect(runs[3]!.text).toContain("replacing Secret isobar-system/isobar-ca failed");
    } finally {
      await api.close();
    }
  });

  test("bootstrap with Envoy's certificate and key", async () => {
    const certs = join(dir, "certs");
    const flags = ["--xds-address", "isobar.projectcontour", "--envoy-ca-file", join(certs, "envoy/ca.crt"), "--envoy-cert-file", join(certs, "envoy/tls.crt"), "--envoy-key-file", join(certs, "envoy/tls.key")];
    expect(await agent(["bootstrap", join(dir, "envoy/envoy.json"), ...flags])).toBe(0);
    expect(await agent(["bootstrap", "-", "--resources-dir", join(dir, "envoy2"), ...flags])).toBe(0);
    expect(printed.at(-1)!.text).toContain(`"component":"bootstrap","msg":"node `);
    expect(printed.at(-1)!.text).toContain(join(certs, "envoy/tls.key"));
    // What Envoy reads on disk names the key file; it never carries the key.
    for (const file of readdirSync(join(dir, "envoy"), { recursive: true }) as string[]) {
      if (file.endsWith(".json")) printed.push({ command: `file ${file}`, text: readFileSync(join(dir, "envoy", file), "utf8") });
    }
  });

  test("serve with TLS files at trace level: load, reload, a half-written rotation, a TLS Secret served over SDS", async () => {
    const certs = join(dir, "certs");
    const manifests = join(dir, "manifests");
    mkdirSync(manifests);
    const ca = await createCa();
    const site = await issueLeaf(ca, { commonName: "web.example.com", usage: "server", dnsNames: ["web.example.com"] });
    keys.add(site.privateKeyPem);
    writeFileSync(join(manifests, "web.yaml"), tlsSecretManifest("web-tls", site));
    const tls = ["--ca-file", join(certs, "agent/ca.crt"), "--cert-file", join(certs, "agent/tls.crt"), "--key-file", join(certs, "agent/tls.key")];
    const serve = await startServe(["--manifests", manifests, "--log-level", "trace", "--tls-reload-interval", "100ms", ...tls]);
    try {
      const material = {
        ca: readFileSync(join(certs, "envoy/ca.crt")),
        certificate: readFileSync(join(certs, "envoy/tls.crt")),
        privateKey: readFileSync(join(certs, "envoy/tls.key")),
      };
      const { credentials, channelOptions } = tlsChannel(`127.0.0.1:${serve.port}`, material);
      const client = connectXds(`127.0.0.1:${serve.port}`, { node: { id: "envoy" }, subscriptions: [{ typeUrl: TypeUrls.listener }], credentials, channelOptions });
      try {
        const listeners = JSON.stringify(responseToJson(await client.next()));
        const secretName = /"tls_certificate_sds_secret_configs":\[\{"name":"([^"]+)"/.exec(listeners)![1]!;
        client.subscribe(TypeUrls.secret, [secretName]);
        const secrets = await client.next();
        expect(secrets.resources.map((r) => r.name)).toEqual([secretName]);
      } finally {
        client.close();
      }
      // A rotation caught half-way: the new key beside the old certificate is refused (and logged), then completed.
      let mark = serve.lineCount();
      const other = await issueLeaf(ca, { commonName: "agent", usage: "server" });
      keys.add(other.privateKeyPem);
      writeFileSync(join(certs, "agent/tls.key"), other.privateKeyPem);
      await serve.waitForLine(/not usable yet/, { after: mark });
      mark = serve.lineCount();
      expect(await agent(["certs", "rotate", "--dir", certs, "--force"])).toBe(0);
      collectKeys(certs);
      await serve.waitForLine(/TLS reloaded/, { after: mark });
    } finally {
      await serve.stop();
      printed.push({ command: "serve", text: serve.output() });
    }
  }, 30_000);

  test("none of it holds a PEM block or a fragment of any private key", () => {
    expect(printed.length).toBeGreaterThan(14);
    expect(keys.size).toBeGreaterThan(10);
    const leaks: string[] = [];
    const pieces = [...keys].flatMap((pem) => pem.split(/(?=-----BEGIN)/).filter((block) => block.includes("PRIVATE KEY")).flatMap(fragments));
    for (const { command, text } of printed) {
      if (text.includes("-----BEGIN")) leaks.push(`${command}: a PEM block`);
      const found = pieces.find((piece) => text.includes(piece));
      if (found) leaks.push(`${command}: key bytes ${found}`);
    }
    expect(leaks).toEqual([]);
  });
});
