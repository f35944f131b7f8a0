// The deployment examples (examples/colocated, examples/split, examples/split/deployment) hold
// together: the YAML parses, every `agent` command line in them (containers, init containers,
// preStop hooks) is accepted by the binary's parser, bootstrap and certs init run as written (certs
// against the fake API server), every Envoy has Contour's shutdown-manager beside it, the names line
// up (Secrets the Job creates are the ones mounted, the agent certificate's SANs cover the address
// Envoy dials and the SAN it pins), and the Job's Role authorizes every request it makes and nothing
// more. (Contour's own example args run through the binary in contour-flags.test.ts; the preStop
// hook drains a real Envoy in e2e/envoy-shutdown.e2e.test.ts.)
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { parseCertificates, summarize } from "../src/certs/x509.ts";
import { ensureAgentBinary, runAgent } from "./helpers/agent-binary.ts";
import { startFakeApiServer, type FakeApiServer, type LoggedRequest } from "./fake-apiserver/index.ts";
import { agentCommandLines, commandLineProblem, examplesDir, loadExample, podContainers, type Container, type ExampleObject } from "./helpers/examples.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
type KubeObject = ExampleObject & {
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
};

let dir: string;

const load = (folder: string) => loadExample(folder) as KubeObject[];
const containers = podContainers;
const examples = examplesDir;

const agentRuns = (objects: KubeObject[], subcommand: string) => containers(objects).filter((c) => c.command?.[0] === "agent" && c.args?.[0] === subcommand);

/** Runs a container's `agent` args through the binary, with its output paths moved under `dir`. */
function relocate(args: string[], from: string, to: string): string[] {
  return args.map((arg) => arg.replace(from, to));
}

/** The rules bound to a ServiceAccount by the (Cluster)RoleBindings among `objects`, with their scope. */
function grantsOf(objects: KubeObject[], account: { name: string; namespace: string }): Array<{ rules: Rule[]; namespace?: string }> {
  return objects
    .filter((o) => (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") && o.subjects!.some((s) => s.kind === "ServiceAccount" && s.name === account.name && s.namespace === account.namespace))
    .map((binding) => {
      const role = objects.find((o) => o.kind === binding.roleRef!.kind && o.metadata.name === binding.roleRef!.name)!;
      return { rules: role.rules!, namespace: binding.kind === "RoleBinding" ? binding.metadata.namespace : undefined };
    });
}

/** Whether a request to the core API (Secrets here) is allowed by the grants, as the RBAC authorizer decides. */
function allowed(grants: Array<{ rules: Rule[]; namespace?: string }>, request: LoggedRequest): boolean {
  const [, namespace, name] = /^\/api\/v1\/namespaces\/([^/]+)\/[^/]+(?:\/([^/]+))?$/.exec(request.path) ?? [];
  return grants.some(
    (grant) =>
      (grant.namespace === undefined || grant.namespace === namespace) &&
      grant.rules.some(
        (rule) =>
          rule.apiGroups.includes("") &&
          rule.resources.includes(request.plural!) &&
          rule.verbs.includes(request.verb) &&
          (!rule.resourceNames || (name !== undefined && rule.resourceNames.includes(decodeURIComponent(name)))),
      ),
  );
}

let api: FakeApiServer;

beforeAll(async () => {
  await ensureAgentBinary();
  dir = mkdtempSync(join(tmpdir(), "isobar-examples-"));
  api = await startFakeApiServer({ bookmarkIntervalMs: 0 });
}, 120_000);

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await api.close();
});

describe.each(["colocated", "split", "split/deployment"])("examples/%s", (folder) => {
  test("parses; every agent container uses the placeholder image and `agent` as its command", () => {
    const objects = load(folder);
    expect(objects.length).toBeGreaterThanOrEqual(2);
    for (const container of containers(objects)) {
      if (container.image.includes("isobar")) {
        expect(container.image).toBe("ghcr.io/isobar/agent:latest");
        expect(container.command).toEqual(["agent"]);
      }
    }
    expect(readFileSync(join(examples, folder.split("/")[0]!, "README.md"), "utf8")).toContain("ghcr.io/isobar/agent:latest");
  });

  test("the bootstrap init container runs as written and writes a valid bootstrap", async () => {
    const [bootstrap] = agentRuns(load(folder), "bootstrap");
    const out = join(dir, folder.replace("/", "-"));
    const run = await runAgent(relocate(bootstrap!.args!, "/config/", `${out}/`));
    expect(run.stderr).toContain(`wrote ${out}/envoy.json`);
    expect(run.code).toBe(0);
    const config = JSON.parse(readFileSync(join(out, "envoy.json"), "utf8")) as { admin: unknown };
    expect(JSON.stringify(config.admin)).toContain("/admin/admin.sock");
  });

  test("every agent command line in it (containers, init containers, preStop hooks) is accepted by the binary's parser", async () => {
    const lines = agentCommandLines(load(folder));
    const problems = await Promise.all(lines.map(async ({ where, argv }) => ({ where, argv, problem: await commandLineProblem(argv) })));
    expect(problems.filter((p) => p.problem !== undefined)).toEqual([]);
    // The parser does refuse: a misspelt flag in the same place would be caught.
    expect(await commandLineProblem([...lines[0]!.argv, "--no-such-flag"])).toMatch(/^unknown flag --no-such-flag/);
    expect(await commandLineProblem(["bootstrap", "-", "--xds-resource-version=v2"])).toBe('--xds-resource-version: xDS resource version "v2" is not served: only v3');
  });

  test("every Envoy has Contour's shutdown-manager beside it: its preStop hook drains Envoy through the shared admin socket, Envoy's waits on /shutdown", () => {
    const pods = load(folder).filter((o) => o.spec?.template?.spec.containers.some((c) => c.name === "envoy"));
    expect(pods.length).toBe(1);
    const pod = pods[0]!.spec!.template!.spec;
    const envoy = pod.containers.find((c) => c.name === "envoy")!;
    const manager = pod.containers.find((c) => c.name === "shutdown-manager")!;
    expect(manager.command).toEqual(["agent"]);
    expect(manager.args).toEqual(["envoy", "shutdown-manager"]);
    expect(manager.lifecycle?.preStop?.exec?.command).toEqual(["agent", "envoy", "shutdown"]);
    // The defaults line up: the hook dials /admin/admin.sock (where the bootstrap puts Envoy's admin)
    // and writes /admin/ok, which the manager waits for; both see the volume Envoy's socket is in.
    const adminVolume = (c: Container) => c.volumeMounts?.find((m) => m.mountPath === "/admin")?.name;
    expect(adminVolume(envoy)).toBeDefined();
    expect(adminVolume(manager)).toBe(adminVolume(envoy));
    expect(envoy.lifecycle?.preStop?.httpGet).toMatchObject({ path: "/shutdown", port: 8090 });
  });
});

describe("examples/split names line up", () => {
  test("the Job's certs init runs as written; its Secrets are the ones mounted; the SANs cover Envoy's --xds-address and pinned name", async () => {
    const objects = load("split");
    const [certs] = agentRuns(objects, "certs");
    // In the pod it reaches the API server with its service account; here the fake's kubeconfig.
    expect(certs!.args).toContain("--incluster");
    const run = await runAgent(certs!.args!.flatMap((arg) => (arg === "--incluster" ? ["--kubeconfig", api.kubeconfigPath] : [arg])));
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const secrets = api.list("Secret") as unknown as Array<{ metadata: { name: string; namespace: string }; data: Record<string, string> }>;
    expect(secrets.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort()).toEqual(["isobar-system/envoycert", "isobar-system/isobar-ca", "isobar-system/isobarcert"]);

    const mounted = (name: string) => objects.find((o) => o.metadata.name === name && o.kind !== "Service")!.spec!.template!.spec.volumes!.find((v) => v.secret)!.secret!.secretName;
    expect(mounted("isobar")).toBe("isobarcert");
    expect(mounted("envoy")).toBe("envoycert");

    const agentSecret = secrets.find((s) => s.metadata.name === "isobarcert")!;
    const sans = summarize(parseCertificates(Buffer.from(agentSecret.data["tls.crt"]!, "base64").toString("utf8"))[0]!).dnsNames;
    const bootstrapArgs = agentRuns(objects, "bootstrap")[0]!.args!;
    const flag = (name: string) => bootstrapArgs.find((a) => a.startsWith(`--${name}=`))!.split("=")[1]!;
    expect(sans).toContain(flag("xds-address"));
    // The name Envoy pins (the SNI of its xDS cluster, isobar's default here, as in Contour's args).
    const out = join(dir, "split-names");
    expect((await runAgent(relocate(bootstrapArgs, "/config/", `${out}/`))).code).toBe(0);
    const sni = /"sni":\s*"([^"]+)"/.exec(readFileSync(join(out, "envoy.json"), "utf8"))?.[1];
    expect(sni).toBe("isobar");
    expect(sans).toContain(sni!);
    const service = objects.find((o) => o.kind === "Service" && o.metadata.name === "isobar")!;
    expect(`${service.metadata.name}.${service.metadata.namespace}`).toBe(flag("xds-address"));
  });

  test("the Job's Role allows every request its certs init makes (first run, refused re-run, --overwrite) in isobar-system only; the agent cannot write Secrets", async () => {
    const objects = load("split");
    const job = objects.find((o) => o.kind === "Job")!;
    const account = { name: job.spec!.template!.spec.serviceAccountName!, namespace: job.metadata.namespace! };
    expect(account).toEqual({ name: "isobar-certgen", namespace: "isobar-system" });
    const grants = grantsOf(objects, account);
    expect(grants.map((g) => g.namespace)).toEqual(["isobar-system"]);
    for (const rule of grants.flatMap((g) => g.rules)) {
      expect(rule.apiGroups).toEqual([""]);
      expect(rule.resources).toEqual(["secrets"]);
      expect([...rule.verbs, ...rule.resourceNames ?? []]).not.toContain("*");
      for (const verb of rule.verbs) expect(["get", "create", "update"]).toContain(verb);
    }

    for (const name of ["isobar-ca", "isobarcert", "envoycert"]) if (api.get("Secret", "isobar-system", name)) api.delete("Secret", "isobar-system", name);
    const since = api.requests.length;
    const args = agentRuns(objects, "certs")[0]!.args!.flatMap((arg) => (arg === "--incluster" ? ["--kubeconfig", api.kubeconfigPath] : [arg]));
    expect((await runAgent(args)).code).toBe(0);
    expect((await runAgent(args)).code).toBe(1); // the Secrets exist: refused, nothing written
    expect((await runAgent([...args, "--overwrite"])).code).toBe(0);
    const made = api.requests.slice(since);
    expect(new Set(made.map((r) => r.verb))).toEqual(new Set(["get", "create", "update"]));
    expect(made.filter((r) => !allowed(grants, r)).map((r) => `${r.verb} ${r.path}`)).toEqual([]);
    // Another Secret in the namespace, or these in another namespace, stay out of reach.
    const probe = (verb: string, path: string) => allowed(grants, { method: "", path, query: {}, verb, plural: "secrets", status: 0 });
    expect(probe("get", "/api/v1/namespaces/isobar-system/secrets/other")).toBe(false);
    expect(probe("update", "/api/v1/namespaces/default/secrets/isobarcert")).toBe(false);
    expect(probe("create", "/api/v1/namespaces/default/secrets")).toBe(false);

    // The agent's ServiceAccount (examples/rbac) is not bound to the Job's Role, and holds no write on Secrets.
    const rbac = readdirSync(join(examples, "rbac"))
      .filter((f) => f.endsWith(".yaml"))
      .flatMap((f) => parseAllDocuments(readFileSync(join(examples, "rbac", f), "utf8")).map((d) => d.toJS() as KubeObject));
    const agentAccount = rbac.find((o) => o.kind === "ServiceAccount")!;
    const agentGrants = grantsOf([...rbac, ...objects], { name: agentAccount.metadata.name, namespace: agentAccount.metadata.namespace! });
    expect(agentGrants.length).toBeGreaterThan(0);
    const secretVerbs = agentGrants.flatMap((g) => g.rules).filter((r) => r.resources.includes("secrets")).flatMap((r) => r.verbs);
    expect(secretVerbs.sort()).toEqual(["get", "list", "watch"]);
  });
});
