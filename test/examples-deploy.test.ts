// The deployment examples (examples/colocated, examples/split) hold together: the YAML parses, every
// `agent` invocation in them runs as written (bootstrap, certs init), the names line up (Secrets the
// Job creates are the ones mounted, the agent certificate's SANs cover the address Envoy dials and
// the SAN it pins), and `agent serve` knows every flag they pass.
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import serve from "../src/cli/serve.ts";
import { parseCertificates, summarize } from "../src/certs/x509.ts";
import { ensureAgentBinary, runAgent } from "./helpers/agent-binary.ts";

// Spawns processes: on a loaded 2-core machine they take seconds to start.
setDefaultTimeout(30_000);

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
}
interface KubeObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { template?: { spec: { initContainers?: Container[]; containers: Container[]; volumes?: Array<{ name: string; secret?: { secretName: string } }> } } };
}

const examples = join(import.meta.dir, "../examples");
let dir: string;

function load(folder: string): KubeObject[] {
  const files = readdirSync(join(examples, folder)).filter((f) => f.endsWith(".yaml"));
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(examples, folder, file), "utf8")).map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJS() as KubeObject;
    }),
  );
}

function containers(objects: KubeObject[]): Container[] {
  return objects.flatMap((o) => [...(o.spec?.template?.spec.initContainers ?? []), ...(o.spec?.template?.spec.containers ?? [])]);
}

const agentRuns = (objects: KubeObject[], subcommand: string) => containers(objects).filter((c) => c.command?.[0] === "agent" && c.args?.[0] === subcommand);

function flagNames(args: string[]): string[] {
  return args.filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=")[0]!);
}

/** Runs a container's `agent` args through the binary, with its output paths moved under `dir`. */
function relocate(args: string[], from: string, to: string): string[] {
  return args.map((arg) => arg.replace(from, to));
}

beforeAll(async () => {
  await ensureAgentBinary();
  dir = mkdtempSync(join(tmpdir(), "isobar-examples-"));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(["colocated", "split"])("examples/%s", (folder) => {
  test("parses; every agent container uses the placeholder image and `agent` as its command", () => {
    const objects = load(folder);
    expect(objects.length).toBeGreaterThan(2);
    for (const container of containers(objects)) {
      if (container.image.includes("isobar")) {
        expect(container.image).toBe("ghcr.io/isobar/agent:latest");
        expect(container.command).toEqual(["agent"]);
      }
    }
    expect(readFileSync(join(examples, folder, "README.md"), "utf8")).toContain("ghcr.io/isobar/agent:latest");
  });

  test("the bootstrap init container runs as written and writes a valid bootstrap", async () => {
    const [bootstrap] = agentRuns(load(folder), "bootstrap");
    const out = join(dir, folder);
    const run = await runAgent(relocate(bootstrap!.args!, "/config/", `${out}/`));
    expect(run.stderr).toContain(`wrote ${out}/envoy.json`);
    expect(run.code).toBe(0);
    const config = JSON.parse(readFileSync(join(out, "envoy.json"), "utf8")) as { admin: unknown };
    expect(JSON.stringify(config.admin)).toContain("/admin/admin.sock");
  });

  test("`agent serve` knows every flag passed to it", () => {
    const known = new Set(Object.keys((serve as { args: Record<string, unknown> }).args));
    const unknown = new Set(agentRuns(load(folder), "serve").flatMap((c) => flagNames(c.args!)).filter((flag) => !known.has(flag)));
    expect([...unknown].sort()).toEqual([]);
  });
});

describe("examples/split names line up", () => {
  test("the Job's certs init runs as written; its Secrets are the ones mounted; the SANs cover Envoy's --xds-address and pinned name", async () => {
    const objects = load("split");
    const [certs] = agentRuns(objects, "certs");
    const secretsFile = join(dir, "secrets.yaml");
    const run = await runAgent(relocate(certs!.args!, "/work/secrets.yaml", secretsFile));
    expect(run.code).toBe(0);
    const secrets = parseAllDocuments(readFileSync(secretsFile, "utf8")).map((d) => d.toJS() as { metadata: { name: string; namespace: string }; data: Record<string, string> });
    expect(secrets.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort()).toEqual(["isobar-system/envoycert", "isobar-system/isobar-ca", "isobar-system/isobarcert"]);

    const mounted = (name: string) => objects.find((o) => o.metadata.name === name && o.kind !== "Service")!.spec!.template!.spec.volumes!.find((v) => v.secret)!.secret!.secretName;
    expect(mounted("isobar")).toBe("isobarcert");
    expect(mounted("envoy")).toBe("envoycert");

    const agentSecret = secrets.find((s) => s.metadata.name === "isobarcert")!;
    const sans = summarize(parseCertificates(Buffer.from(agentSecret.data["tls.crt"]!, "base64").toString("utf8"))[0]!).dnsNames;
    const bootstrapArgs = agentRuns(objects, "bootstrap")[0]!.args!;
    const flag = (name: string) => bootstrapArgs.find((a) => a.startsWith(`--${name}=`))!.split("=")[1]!;
    expect(sans).toContain(flag("xds-address"));
    expect(sans).toContain(flag("xds-server-name"));
    const service = objects.find((o) => o.kind === "Service" && o.metadata.name === "isobar")!;
    expect(`${service.metadata.name}.${service.metadata.namespace}`).toBe(flag("xds-address"));
  });
});
