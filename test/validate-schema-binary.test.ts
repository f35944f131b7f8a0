// `agent validate` through the compiled binary on a manifest with a misspelled HTTPProxy field: the
// CRD schema is embedded in the binary (nothing read from examples/ at run time), so it exits 1 and
// names the field. The binary is built only when dist/agent is missing or older than the sources.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureAgentBinary, runAgent } from "./helpers/agent-binary.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

const root = join(import.meta.dir, "..");
const bun = join(root, "node_modules", ".bin", "bun");
let dir: string;

const manifest = `
apiVersion: v1
kind: Service
metadata: { name: api, namespace: default }
spec: { ports: [{ port: 80 }] }
---
apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: typo, namespace: default }
spec:
  virtualhost: { fqdn: typo.example.com }
  routes:
    - conditions: [{ prefx: /api }]
      timeoutPolicy: { respons: 5s }
      services: [{ name: api, port: 80 }]
`;

const gatewayManifest = `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: typo, namespace: default }
spec:
  rules:
    - matches: [{ path: { type: PathPrefix, vaule: /api } }]
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "isobar-schema-"));
  await writeFile(join(dir, "typo.yaml"), manifest);
  await writeFile(join(dir, "gateway.yaml"), gatewayManifest);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `agent validate FILE` on a file of the temporary directory, run from there: the binary must not need the repository's files. */
async function validateInDir(file: string) {
  await ensureAgentBinary();
  return runAgent(["validate", join(dir, file)], { cwd: dir, env: { NO_COLOR: "1" } });
}

test("the compiled binary refuses a misspelled HTTPProxy field, naming it", async () => {
  const { stdout, stderr, code } = await validateInDir("typo.yaml");
  expect(stderr).toBe("");
  expect(code).toBe(1);
  expect(stdout).toContain("HTTPProxy default/typo  invalid");
  expect(stdout).toContain("error    SpecError/SpecNotValid: spec.routes[0].conditions[0].prefx: field not declared in schema");
  expect(stdout).toContain("error    SpecError/SpecNotValid: spec.routes[0].timeoutPolicy.respons: field not declared in schema");
}, 240_000);

test("the compiled binary checks Gateway API objects against the embedded upstream CRD schemas", async () => {
  const { stdout, stderr, code } = await validateInDir("gateway.yaml");
  expect(stderr).toBe("");
  expect(code).toBe(1);
  expect(stdout).toContain(`HTTPRoute default/typo  invalid  ${join(dir, "gateway.yaml")}:2`);
  expect(stdout).toContain("error    SpecError/SpecNotValid: spec.rules[0].matches[0].path.vaule: field not declared in schema");
}, 240_000);
