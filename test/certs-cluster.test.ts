// `agent certs init --format cluster` through the compiled binary against the fake API server (HTTPS,
// its own CA, a bearer token, reached through a kubeconfig): the three Secrets are created and their
// data make a chain that verifies; an existing Secret is refused with nothing written; --overwrite
// replaces (a conditional PUT, or delete and create when the type differs); a failure midway names
// what was written; bad flag combinations are one-line usage errors.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver/index.ts";
import type { KubeObject } from "../src/sources/types.ts";
import { keyMatchesCertificate, parseCertificates, summarize, verifyChain } from "../src/certs/x509.ts";
import { ensureAgentBinary, runAgent } from "./helpers/agent-binary.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

const names = ["isobar-ca", "isobarcert", "envoycert"];
let api: FakeApiServer;

beforeAll(async () => {
  await ensureAgentBinary();
  api = await startFakeApiServer({ bookmarkIntervalMs: 0 });
}, 120_000);

afterAll(async () => {
  await api.close();
});

function init(extra: string[] = []) {
  return runAgent(["certs", "init", "--format", "cluster", "--kubeconfig", api.kubeconfigPath, "--namespace", "certs-test", ...extra]);
}

function secret(name: string, namespace = "certs-test"): KubeObject & { type?: string; data?: Record<string, string> } {
  const found = api.get("Secret", namespace, name);
  if (!found) throw new Error(`no Secret ${namespace}/${name}`);
  return found as KubeObject & { type?: string; data?: Record<string, string> };
}

const decode = (s: { data?: Record<string, string> }, key: string) => Buffer.from(s.data![key]!, "base64").toString("utf8");

function clear(namespace = "certs-test"): void {
  for (const name of names) if (api.get("Secret", namespace, name)) api.delete("Secret", namespace, name);
}

/** The Secrets hold a CA with its key and two leaves it signed, with the usages and SANs of `certs init`. */
async function expectValidSet(namespace = "certs-test"): Promise<string> {
  for (const name of names) expect(secret(name, namespace).type).toBe("kubernetes.io/tls");
  const ca = secret("isobar-ca", namespace);
  const caCert = parseCertificates(decode(ca, "tls.crt"))[0]!;
  expect(summarize(caCert).isCa).toBe(true);
  expect(await keyMatchesCertificate(decode(ca, "tls.key"), caCert)).toBe(true);
  const bundle = parseCertificates(decode(ca, "ca.crt"));
  for (const [name, usage] of [["isobarcert", "serverAuth"], ["envoycert", "clientAuth"]] as const) {
    const leafSecret = secret(name, namespace);
    expect(decode(leafSecret, "ca.crt")).toBe(decode(ca, "ca.crt"));
    const leaf = parseCertificates(decode(leafSecret, "tls.crt"))[0]!;
    expect(await verifyChain(leaf, bundle)).toBeUndefined();
    expect(await keyMatchesCertificate(decode(leafSecret, "tls.key"), leaf)).toBe(true);
    expect(summarize(leaf).extendedKeyUsages).toEqual([usage]);
  }
  expect(summarize(parseCertificates(decode(secret("isobarcert", namespace), "tls.crt"))[0]!).dnsNames).toContain(`isobar.${namespace}.svc`);
  return caCert.serialNumber;
}

describe("certs init --format cluster", () => {
  test("creates the three Secrets; their data is a CA and two leaves that chain to it; nothing secret is printed", async () => {
    clear();
    const run = await init();
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(names.map((n) => `Secret certs-test/${n} created\n`).join(""));
    await expectValidSet();
    const labels = secret("isobarcert").metadata.labels;
    expect(labels?.["app.kubernetes.io/managed-by"]).toBe("isobar");
  });

  test("refuses when any Secret exists: exit 1, one line naming it, nothing written", async () => {
    clear();
    api.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "envoycert", namespace: "certs-test" }, type: "kubernetes.io/tls", data: { "tls.crt": "eA==" } } as KubeObject);
    const since = api.requests.length;
    const run = await init();
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe("agent: Secret certs-test/envoycert already exists: nothing was written (--overwrite replaces them)\n");
    expect(api.requests.slice(since).map((r) => r.verb)).toEqual(["get", "get", "get"]);
    expect(api.get("Secret", "certs-test", "isobar-ca")).toBeUndefined();
    expect(api.get("Secret", "certs-test", "isobarcert")).toBeUndefined();
    expect(secret("envoycert").data).toEqual({ "tls.crt": "eA==" });
  });

  test("a second run over a complete set refuses, naming all three, and leaves them as they were", async () => {
    clear();
    expect((await init()).code).toBe(0);
    const before = names.map((n) => secret(n).metadata.resourceVersion);
    const run = await init();
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("agent: Secrets certs-test/isobar-ca, certs-test/isobarcert, certs-test/envoycert already exist: nothing was written (--overwrite replaces them)\n");
    expect(names.map((n) => secret(n).metadata.resourceVersion)).toEqual(before);
  });

  test("--overwrite replaces them with a conditional PUT (a new CA), and a Secret of another type by delete and create", async () => {
    clear();
    expect((await init()).code).toBe(0);
    const oldSerial = parseCertificates(decode(secret("isobar-ca"), "tls.crt"))[0]!.serialNumber;
    api.delete("Secret", "certs-test", "envoycert");
    api.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "envoycert", namespace: "certs-test" }, type: "Opaque", data: { other: "eA==" } } as KubeObject);
    const uid = secret("isobarcert").metadata.uid;
    const since = api.requests.length;
    const run = await init(["--overwrite"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(names.map((n) => `Secret certs-test/${n} replaced\n`).join(""));
    const writes = api.requests.slice(since).filter((r) => r.verb !== "get");
    expect(writes.map((r) => `${r.verb} ${r.path}`)).toEqual([
      "update /api/v1/namespaces/certs-test/secrets/isobar-ca",
      "update /api/v1/namespaces/certs-test/secrets/isobarcert",
      "delete /api/v1/namespaces/certs-test/secrets/envoycert",
      "create /api/v1/namespaces/certs-test/secrets",
    ]);
    for (const update of writes.filter((r) => r.verb === "update")) expect((update.body as KubeObject).metadata.resourceVersion).toMatch(/^\d+$/);
    expect(secret("isobarcert").metadata.uid).toBe(uid);
    expect(await expectValidSet()).not.toBe(oldSerial);
  });

  test("a write failing midway names the Secret and what was written before it", async () => {
    clear();
    api.create({ apiVersion: "v1", kind: "Secret", metadata: { name: "isobar-ca", namespace: "certs-test" }, type: "kubernetes.io/tls", data: { "tls.crt": "eA==" } } as KubeObject);
    api.injectFault({ verb: "create", plural: "secrets", fault: { type: "http", status: 500 } });
    const run = await init(["--overwrite"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "agent: creating Secret certs-test/isobarcert failed: POST /api/v1/namespaces/certs-test/secrets: 500 injected 500; written before it: certs-test/isobar-ca (replaced)\n",
    );
    expect(api.get("Secret", "certs-test", "isobarcert")).toBeUndefined();
    expect(api.get("Secret", "certs-test", "envoycert")).toBeUndefined();
  });

  test("a refused lookup writes nothing", async () => {
    clear();
    api.injectFault({ verb: "get", plural: "secrets", fault: { type: "http", status: 403 } });
    const run = await init();
    expect(run.code).toBe(1);
    expect(run.stderr).toBe("agent: cannot look up Secret certs-test/isobar-ca, nothing was written: GET /api/v1/namespaces/certs-test/secrets/isobar-ca: 403 injected 403\n");
    for (const name of names) expect(api.get("Secret", "certs-test", name)).toBeUndefined();
  });

  test("the Secret names and namespace come from the same flags as --format secrets", async () => {
    const run = await runAgent(["certs", "init", "--format", "cluster", "--kubeconfig", api.kubeconfigPath, "--namespace", "edge", "--ca-secret", "my-ca", "--agent-secret", "my-agent", "--envoy-secret", "my-envoy"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("Secret edge/my-ca created\nSecret edge/my-agent created\nSecret edge/my-envoy created\n");
    expect(api.list("Secret", "edge").map((s) => s.metadata.name)).toEqual(["my-agent", "my-ca", "my-envoy"]);
  });

  test("bad flag combinations and missing credentials: one line, exit 2, before any key is made", async () => {
    const cases: Array<[string[], string]> = [
      [["--format", "cluster", "--kubeconfig", api.kubeconfigPath, "--out", "x"], "--out does not go with --format cluster: the Secrets are written to the cluster"],
      [["--format", "secrets", "--kubeconfig", api.kubeconfigPath], "--kubeconfig, --context and --incluster go with --format cluster"],
      [["--incluster"], "--kubeconfig, --context and --incluster go with --format cluster"],
      [["--format", "cluster", "--incluster", "--kubeconfig", api.kubeconfigPath], "--incluster uses the pod's service account: give it without --kubeconfig and --context"],
      [["--format", "cluster", "--kubeconfig", `${api.dir}/missing`], `kubeconfig ${api.dir}/missing does not exist`],
      [["--format", "cluster", "--kubeconfig", api.kubeconfigPath, "--context", "elsewhere"], "context elsewhere is not in the kubeconfig"],
      [["--format", "kube"], '--format must be one of files, secrets, cluster, got "kube"'],
    ];
    for (const [args, message] of cases) {
      const run = await runAgent(["certs", "init", ...args]);
      expect({ args, stderr: run.stderr, code: run.code }).toEqual({ args, stderr: `agent: ${message}\n`, code: 2 });
    }
    const inPod = await runAgent(["certs", "init", "--format", "cluster", "--incluster"], { env: { KUBERNETES_SERVICE_HOST: "" } });
    expect(inPod.stderr).toBe("agent: in-cluster: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)\n");
    expect(inPod.code).toBe(2);
  });
});
