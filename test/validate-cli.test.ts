// `agent validate` as a user runs it: a child process on manifest fixtures written to a temporary
// directory. Exit codes (0 valid, 1 invalid or unparsable, 2 bad flags or a missing path), the JSON
// document's shape, the route table's rows for HTTP and HTTPS hosts, and once through the compiled
// binary (built only when dist/agent is missing or older than the sources).
import { afterAll, beforeAll, expect, test, setDefaultTimeout } from "bun:test";
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureAgentBinary } from "./helpers/agent-binary.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

const root = join(import.meta.dir, "..");
const bun = join(root, "node_modules", ".bin", "bun");
let dir: string;
let validDir: string;
let invalidDir: string;

const app = `
apiVersion: v1
kind: Service
metadata: { name: echo, namespace: quickstart }
spec: { ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: echo-canary, namespace: quickstart }
spec: { ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: app, namespace: quickstart }
spec:
  virtualhost: { fqdn: app.example.com }
  routes:
    - conditions: [{ prefix: /api }, { header: { name: x-env, exact: canary } }]
      services: [{ name: echo-canary, port: 80 }]
    - conditions: [{ prefix: /api }, { queryParameter: { name: debug, exact: "1" } }]
      services: [{ name: echo, port: 80, weight: 90 }, { name: echo-canary, port: 80, weight: 10 }]
    - services: [{ name: echo, port: 80 }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: secure
  namespace: quickstart
  annotations: { ingress.kubernetes.io/force-ssl-redirect: "true" }
spec:
  tls: [{ hosts: [secure.example.com], secretName: secure-example-tls }]
  rules:
    - host: secure.example.com
      http:
        paths:
          - { path: /healthz, pathType: Exact, backend: { service: { name: echo, port: { number: 80 } } } }
`;

const broken = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: broken, namespace: quickstart }
spec:
  rules:
    - host: broken.example.com
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: no-such-service, port: { number: 80 } } } }
`;

async function agent(args: string[], options: { binary?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const command = options.binary ? [options.binary, ...args] : [bun, join(root, "src", "main.ts"), ...args];
  const child = Bun.spawn(command, { cwd: dir, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "isobar-validate-"));
  validDir = join(dir, "valid");
  invalidDir = join(dir, "invalid");
  await mkdir(validDir);
  await mkdir(invalidDir);
  // The quickstart's self-signed certificate for secure.example.com (valid until 2036).
  const secret = await readFile(join(root, "examples", "quickstart", "tls-secret.yaml"), "utf8");
  await writeFile(join(validDir, "secret.yaml"), secret);
  await writeFile(join(validDir, "app.yaml"), app);
  await writeFile(join(invalidDir, "app.yaml"), app);
  await writeFile(join(invalidDir, "secret.yaml"), secret);
  await writeFile(join(invalidDir, "broken.yaml"), broken);
  await writeFile(join(invalidDir, "unparsable.yaml"), "apiVersion: v1\nkind: Service\nmetadata: { name: a, namespace: quickstart }\nspec: { ports: [ { port: 80 }\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a directory of valid objects: exit 0, one block per object, a summary", async () => {
  const { code, stdout, stderr } = await agent(["validate", validDir]);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(stdout).toContain(`HTTPProxy quickstart/app  valid  ${join(validDir, "app.yaml")}:`);
  expect(stdout).toContain("  Valid HTTPProxy\n");
  expect(stdout).toContain("Ingress quickstart/secure  valid");
  expect(stdout).toContain("2 objects: 2 valid, 0 invalid, 0 orphaned");
  expect(stdout).not.toContain("\u001b[");
});

test("an invalid object or a file that does not parse: exit 1, and the JSON names both", async () => {
  const { code, stdout } = await agent(["validate", invalidDir, "--output", "json"]);
  expect(code).toBe(1);
  const report = JSON.parse(stdout);
  expect(Object.keys(report)).toEqual(["valid", "objects", "rejected", "problems", "ignored"]);
  expect(report.ignored).toEqual([]);
  expect(report.valid).toBe(false);
  expect(report.objects.map((o: { kind: string; name: string; currentStatus: string }) => [o.kind, o.name, o.currentStatus])).toEqual([
    ["HTTPProxy", "app", "valid"],
    ["Ingress", "broken", "invalid"],
    ["Ingress", "secure", "valid"],
  ]);
  const brokenObject = report.objects[1];
  expect(Object.keys(brokenObject)).toEqual(["kind", "namespace", "name", "currentStatus", "description", "errors", "warnings", "file", "line"]);
  expect(brokenObject).toMatchObject({ namespace: "quickstart", description: "At least one error present, see Errors for details", warnings: [], file: join(invalidDir, "broken.yaml"), line: 2 });
  expect(brokenObject.errors).toEqual([
    {
      type: "ServiceError",
      reason: "ServiceUnresolvedReference",
      message: 'spec.rules[0].http.paths[0] (host "broken.example.com" path Prefix "/"): unresolved service reference: service "quickstart/no-such-service" not found; the route answers 503',
    },
  ]);
  expect(report.rejected).toEqual([]);
  expect(report.problems).toHaveLength(1);
  expect(report.problems[0]).toMatchObject({ file: join(invalidDir, "unparsable.yaml"), line: 5 });
  expect(report.problems[0].message).toStartWith(`${join(invalidDir, "unparsable.yaml")}:5:1: does not parse:`);
});

test("files may be named one by one; text output of an invalid object shows its error", async () => {
  const { code, stdout } = await agent(["validate", join(invalidDir, "broken.yaml"), join(invalidDir, "app.yaml")]);
  expect(code).toBe(1);
  expect(stdout).toContain("Ingress quickstart/broken  invalid");
  expect(stdout).toContain('  error    ServiceError/ServiceUnresolvedReference: spec.rules[0].http.paths[0] (host "broken.example.com" path Prefix "/")');
  // The Secret is not among the files: the TLS Ingress says so.
  expect(stdout).toContain("Ingress quickstart/secure  invalid");
});

test("flags mean what they mean for serve: root namespaces, ingress classes", async () => {
  const rooted = await agent(["validate", validDir, "--root-namespaces", "other"]);
  expect(rooted.code).toBe(1);
  expect(rooted.stdout).toContain("HTTPProxy quickstart/app  invalid");
  expect(rooted.stdout).toContain("  error    RootNamespaceError/RootProxyNotAllowedInNamespace: root HTTPProxy cannot be defined in this namespace\n");
  const classed = await agent(["validate", validDir, "--ingress-class-name", "other", "--output", "json"]);
  expect(classed.code).toBe(0);
  const report = JSON.parse(classed.stdout);
  const reason = "its ingress class is not one this agent serves (see --ingress-class-name)";
  expect(report.objects).toEqual([]);
  expect(report.ignored).toEqual([
    { kind: "HTTPProxy", namespace: "quickstart", name: "app", reason },
    { kind: "Ingress", namespace: "quickstart", name: "secure", reason },
  ]);
});

test("bad flags and missing paths: exit 2 with one line on stderr", async () => {
  expect(await agent(["validate", validDir, "--output", "xml"])).toEqual({ code: 2, stdout: "", stderr: 'agent: --output must be one of text, json, got "xml"\n' });
  expect(await agent(["validate", validDir, "--fallback-certificate", "no-slash"])).toEqual({ code: 2, stdout: "", stderr: 'agent: --fallback-certificate must be namespace/name, got "no-slash"\n' });
  expect(await agent(["validate", join(dir, "missing")])).toEqual({ code: 2, stdout: "", stderr: `agent: ${join(dir, "missing")}: no such file or directory\n` });
  expect(await agent(["validate"])).toEqual({ code: 2, stdout: "", stderr: "agent: validate needs at least one manifest file or directory\n" });
});

const expectedRoutes = [
  { scheme: "http", host: "app.example.com", match: "prefix /api, header x-env = canary", backend: "quickstart/echo-canary:80", weight: "100%" },
  { scheme: "http", host: "app.example.com", match: "prefix /api, query debug = 1", backend: "quickstart/echo:80", weight: "90%" },
  { scheme: "http", host: "app.example.com", match: "prefix /api, query debug = 1", backend: "quickstart/echo-canary:80", weight: "10%" },
  { scheme: "http", host: "app.example.com", match: "prefix /", backend: "quickstart/echo:80", weight: "100%" },
  { scheme: "http", host: "secure.example.com", match: "exact /healthz", backend: "redirect to https", weight: "" },
  { scheme: "https", host: "secure.example.com", match: "exact /healthz", backend: "quickstart/echo:80", weight: "100%" },
];

test("--routes: the route table for HTTP and HTTPS hosts, as JSON rows and as an aligned table", async () => {
  const json = await agent(["validate", validDir, "--routes", "--output", "json"]);
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout).routes).toEqual(expectedRoutes);

  const text = await agent(["validate", validDir, "--routes"]);
  expect(text.code).toBe(0);
  const lines = text.stdout.split("\n");
  const header = lines.findIndex((line) => line.startsWith("SCHEME"));
  const table = lines.slice(header, header + 1 + expectedRoutes.length);
  expect(table[0]).toMatch(/^SCHEME {2}HOST {16}MATCH {31}BACKEND {20}WEIGHT$/);
  // Every column starts where its header does.
  const starts = ["HOST", "MATCH", "BACKEND", "WEIGHT"].map((column) => table[0]!.indexOf(column));
  table.slice(1).forEach((line, i) => {
    const row = expectedRoutes[i]!;
    const cells = [row.host, row.match, row.backend, row.weight];
    expect(line.startsWith(row.scheme)).toBe(true);
    cells.forEach((cell, c) => {
      if (cell !== "") expect(line.slice(starts[c]!, starts[c]! + cell.length)).toBe(cell);
    });
  });
});

test("the compiled binary validates the same way", async () => {
  const binary = await ensureAgentBinary();
  const fromBinary = await agent(["validate", validDir, "--routes", "--output", "json"], { binary });
  expect(fromBinary.stderr).toBe("");
  expect(fromBinary.code).toBe(0);
  expect(JSON.parse(fromBinary.stdout).routes).toEqual(expectedRoutes);
  expect((await agent(["validate", invalidDir], { binary })).code).toBe(1);
  expect((await agent(["validate", join(dir, "missing")], { binary })).code).toBe(2);
}, 240_000);
