// The manifest directory as a user meets it, through dist/agent serve: one bad file (an alias that
// names no anchor) never takes anything from the other files, is reported by its path and line, and
// once removed, fixed or broken again every object is where it should be; a directory the agent
// cannot list holds back the first snapshot (/readyz 503 with the reason) instead of publishing a
// partial one; symbolic links out of the directory are not followed.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { Buffer } from "node:buffer";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureAgentBinary, runAgent, startServe, type RunningBinary } from "./helpers/agent-binary.ts";
import { eventually } from "./e2e/harness.ts";

const quickstart = join(import.meta.dir, "../examples/quickstart");
const running: RunningBinary[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  await ensureAgentBinary();
}, 300_000);

afterEach(async () => {
  while (running.length > 0) await running.pop()!.stop();
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

function quickstartCopy(): string {
  const dir = tempDir("isobar-manifests-bin-");
  cpSync(quickstart, dir, { recursive: true });
  return dir;
}

interface Served {
  agent: RunningBinary;
  debugPort: number;
  metricsPort: number;
}

async function serve(dir: string, wrapper?: string[]): Promise<Served> {
  const agent = await startServe(["--manifests", dir, "--holdoff", "20ms"], wrapper ? { wrapper } : {});
  running.push(agent);
  const debugPort = Number((await agent.waitForLine(/debug views on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
  const metricsPort = Number((await agent.waitForLine(/metrics and health on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
  return { agent, debugPort, metricsPort };
}

/** What the agent serves, by type: resource names (clusters) and virtual host names (routes). */
async function snapshot(served: Served): Promise<{ clusters: string[]; hosts: string[] }> {
  const body = (await (await fetch(`http://127.0.0.1:${served.debugPort}/debug/xds`)).json()) as {
    types: { type: string; resources: { name: string; resource: { virtual_hosts?: { domains: string[] }[] } }[] }[];
  };
  const of = (type: string) => body.types.find((t) => t.type === type)?.resources ?? [];
  return {
    clusters: of("CDS").map((r) => r.name).sort(),
    hosts: of("RDS")
      .flatMap((r) => (r.resource.virtual_hosts ?? []).flatMap((v) => v.domains))
      .filter((domain) => !domain.endsWith(":*"))
      .sort(),
  };
}

async function readyz(served: Served): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${served.metricsPort}/readyz`);
  return { status: response.status, text: (await response.text()).trim() };
}

const typoIngress = [
  "apiVersion: networking.k8s.io/v1",
  "kind: Ingress",
  "metadata: {name: typo, namespace: quickstart}",
  "spec:",
  "  ingressClassName: contour",
  "  rules:",
  "    - host: typo.example.com",
  "      http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: typo, port: {number: 80}}}}]}",
  "---",
].join("\n");
const brokenTypo = `${typoIngress}\napiVersion: v1\nkind: Service\nmetadata: {name: typo, namespace: quickstart}\nspec: { ports: [ *http ] }\n`;
const fixedTypo = `${typoIngress}\napiVersion: v1\nkind: Service\nmetadata: {name: typo, namespace: quickstart}\nspec: { ports: [ &http {name: http, port: 80} ] }\n`;

describe("agent serve --manifests with a bad file", () => {
  test("an unresolved alias in one file: every other object is served, the file is named with its line; remove, fix, touch", async () => {
    const pristine = await serve(quickstartCopy());
    await pristine.agent.waitForLine(/first snapshot published/);
    const expected = await snapshot(pristine);
    expect(expected.clusters.length).toBeGreaterThan(5);

    const dir = quickstartCopy();
    const typo = join(dir, "zz-typo.yaml");
    writeFileSync(typo, brokenTypo);
    const served = await serve(dir);
    await served.agent.waitForLine(/first snapshot published/);
    expect(served.agent.output()).toContain(`${typo}:13:18: does not parse: an alias names no anchor defined before it`);
    expect(await snapshot(served)).toEqual(expected);
    expect((await readyz(served)).status).toBe(200);

    // touch: another file changes while the bad one is still there; the change is served.
    writeFileSync(join(dir, "aa-new.yaml"), typoIngress.replaceAll("typo", "fresh").replace("{name: fresh, port", "{name: echo, port"));
    await eventually(async () => (await snapshot(served)).hosts.includes("fresh.example.com"), { what: "fresh.example.com served" });
    unlinkSync(join(dir, "aa-new.yaml"));
    await eventually(async () => !(await snapshot(served)).hosts.includes("fresh.example.com"), { what: "fresh.example.com gone" });

    // fix: the file's objects are served.
    writeFileSync(typo, fixedTypo);
    await eventually(async () => (await snapshot(served)).hosts.includes("typo.example.com"), { what: "typo.example.com served" });
    const fixed = (await snapshot(served)).clusters;
    expect(fixed.filter((name) => !name.startsWith("quickstart/typo/80/"))).toEqual(expected.clusters);
    expect(fixed).toHaveLength(expected.clusters.length + 1);

    // broken again: its last good objects stay; removed: they go, and nothing else does.
    const before = served.agent.lineCount();
    writeFileSync(typo, brokenTypo);
    await served.agent.waitForLine(/zz-typo\.yaml:13:18: does not parse/, { after: before });
    expect((await snapshot(served)).hosts).toContain("typo.example.com");
    unlinkSync(typo);
    await eventually(async () => !(await snapshot(served)).hosts.includes("typo.example.com"), { what: "typo.example.com gone" });
    expect(await snapshot(served)).toEqual(expected);
  }, 60_000);

  test("alias bombs and files with hundreds of aliases: the bomb is refused, the legitimate file served", async () => {
    const dir = quickstartCopy();
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
    writeFileSync(join(dir, "bomb.yaml"), ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb, namespace: quickstart}", "data:", ...bomb.map((l) => `  ${l}`)].join("\n"));
    const ingresses = Array.from({ length: 150 }, (_, i) =>
      [
        "  - apiVersion: networking.k8s.io/v1",
        "    kind: Ingress",
        `    metadata: {name: many-${i}, namespace: quickstart, annotations: *annotations}`,
        `    spec: {ingressClassName: contour, rules: [{host: many-${i}.example.com, http: *echo}]}`,
      ].join("\n"),
    );
    const many = [
      "apiVersion: v1",
      "kind: List",
      "x-annotations: &annotations {projectcontour.io/num-retries: '2'}",
      "x-echo: &echo {paths: [{path: /, pathType: Prefix, backend: {service: {name: echo, port: {name: http}}}}]}",
      "items:",
      ...ingresses,
    ].join("\n");
    writeFileSync(join(dir, "many.yaml"), many);
    const served = await serve(dir);
    await served.agent.waitForLine(/first snapshot published/);
    expect(served.agent.output()).toMatch(/bomb\.yaml:\d+:\d+: does not parse: aliases expand to more than 1000000 nodes/);
    const { hosts } = await snapshot(served);
    expect(hosts.filter((h) => h.startsWith("many-"))).toHaveLength(150);
    expect(hosts).toContain("echo.example.com");
  }, 60_000);
});

describe("agent serve --manifests: a scan that cannot see the whole directory", () => {
  // Root reads every directory: the agent runs as nobody for the unreadable one to be unreadable.
  const wrapper = process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] : [];

  test("publishes no first snapshot (/readyz 503 naming the directory) until the directory can be listed", async () => {
    const dir = quickstartCopy();
    const locked = join(dir, "locked");
    mkdirSync(locked);
    writeFileSync(join(locked, "typo.yaml"), fixedTypo);
    chmodSync(join(locked, "typo.yaml"), 0o644);
    chmodSync(locked, 0o000);
    const served = await serve(dir, wrapper);
    await served.agent.waitForLine(/locked: cannot be listed \(EACCES\)/);
    const notReady = await readyz(served);
    expect(notReady.status).toBe(503);
    expect(notReady.text).toContain(`waiting for sources to sync: manifests (${locked}: cannot be listed (EACCES)`);
    expect(served.agent.output()).not.toContain("first snapshot published");

    chmodSync(locked, 0o755);
    await served.agent.waitForLine(/first snapshot published/);
    expect((await snapshot(served)).hosts).toContain("typo.example.com");
    expect((await readyz(served)).status).toBe(200);

    // Unreadable again while serving: what it held is kept, not deleted.
    const before = served.agent.lineCount();
    chmodSync(locked, 0o000);
    await served.agent.waitForLine(/locked: cannot be listed \(EACCES\)/, { after: before });
    writeFileSync(join(dir, "aa-new.yaml"), typoIngress.replaceAll("typo", "fresh").replace("{name: fresh, port", "{name: echo, port"));
    await eventually(async () => (await snapshot(served)).hosts.includes("fresh.example.com"), { what: "fresh.example.com served" });
    expect((await snapshot(served)).hosts).toContain("typo.example.com");
    chmodSync(locked, 0o755);
  }, 60_000);
});

describe("agent serve --manifests and symbolic links", () => {
  test("a link to a file or a directory outside the manifest directory is not followed, and its content is never logged", async () => {
    const dir = quickstartCopy();
    const outside = tempDir("isobar-outside-");
    const token = "ghp_Zq8xR2vN5tL0pK7wY3mB9cF1dH6jS4aE2uI";
    writeFileSync(join(outside, "token"), `${token}\n`);
    mkdirSync(join(outside, "more"));
    writeFileSync(join(outside, "more", "typo.yaml"), fixedTypo);
    symlinkSync(join(outside, "token"), join(dir, "token.json"));
    symlinkSync(join(outside, "more"), join(dir, "more"));
    // Inside the directory, as in a ConfigMap mount: followed.
    mkdirSync(join(dir, "..data"));
    writeFileSync(join(dir, "..data", "fresh.yaml"), readFileSync(join(dir, "ingress.yaml"), "utf8").split("---")[0]!.replaceAll("echo.example.com", "fresh.example.com").replace("name: echo\n", "name: fresh\n"));
    symlinkSync(join(dir, "..data", "fresh.yaml"), join(dir, "fresh.yaml"));
    const served = await serve(dir);
    await served.agent.waitForLine(/first snapshot published/);
    const output = served.agent.output();
    expect(output).toContain(`${join(dir, "token.json")}: a symbolic link to ${join(outside, "token")}, outside the manifest directory; not followed`);
    expect(output).toContain(`${join(dir, "more")}: a symbolic link to ${join(outside, "more")}, outside the manifest directory; not followed`);
    expect(output).not.toContain(token.slice(0, 8));
    const { hosts } = await snapshot(served);
    expect(hosts).toContain("fresh.example.com");
    expect(hosts).not.toContain("typo.example.com");
  }, 60_000);

  test("agent validate: the same links are not followed, and a token named on the command line is not echoed", async () => {
    const dir = quickstartCopy();
    const outside = tempDir("isobar-outside-");
    const token = "ghp_Zq8xR2vN5tL0pK7wY3mB9cF1dH6jS4aE2uI";
    writeFileSync(join(outside, "token.json"), `${token}\n`);
    symlinkSync(join(outside, "token.json"), join(dir, "token.json"));
    const run = await runAgent(["validate", dir]);
    expect(run.stdout + run.stderr).toContain(`${join(dir, "token.json")}: a symbolic link to ${join(outside, "token.json")}, outside the manifest directory; not followed`);
    const named = await runAgent(["validate", join(outside, "token.json")]);
    expect(named.stdout + named.stderr).toContain(`${join(outside, "token.json")}:1:1: does not parse: invalid JSON: unexpected character`);
    for (const output of [run.stdout, run.stderr, named.stdout, named.stderr]) expect(output).not.toContain(token.slice(0, 8));
  }, 60_000);
});

describe("agent serve --manifests: big files", () => {
  async function rssMiB(served: Served): Promise<number> {
    const metrics = await (await fetch(`http://127.0.0.1:${served.metricsPort}/metrics`)).text();
    return Number(/^process_resident_memory_bytes (\S+)$/m.exec(metrics)![1]) / (1024 * 1024);
  }

  test("a file over 16 MiB is refused by name without being read; memory returns near its baseline after a big file is removed", async () => {
    const dir = quickstartCopy();
    const served = await serve(dir);
    await served.agent.waitForLine(/first snapshot published/);
    const baseline = await rssMiB(served);

    const huge = join(dir, "huge.yaml");
    writeFileSync(huge, Buffer.alloc(50 * 1024 * 1024, "a: b\n"));
    await served.agent.waitForLine(/huge\.yaml: 52428800 bytes, over the 16 MiB limit for a manifest file; not read/);
    expect(await rssMiB(served)).toBeLessThan(baseline + 100);
    unlinkSync(huge);

    // 4 MiB of Services and, last, an Ingress: once its host is served the whole file was read.
    const services = [];
    for (let i = 0; services.length * 200 < 4 * 1024 * 1024; i++) {
      services.push(`apiVersion: v1\nkind: Service\nmetadata:\n  name: s${i}\n  namespace: big\n  labels: {app: web-${i}, tier: frontend}\nspec:\n  ports: [{name: http, port: 80, targetPort: 8080}]\n---\n`);
    }
    const big = join(dir, "big.yaml");
    writeFileSync(big, services.join("") + typoIngress.replaceAll("typo", "big").replace("{name: big, port", "{name: echo, port").replace("---", ""));
    await eventually(async () => (await snapshot(served)).hosts.includes("big.example.com"), { what: "big.example.com served", timeoutMs: 120_000, intervalMs: 500 });
    const loaded = await rssMiB(served);
    unlinkSync(big);
    await eventually(async () => !(await snapshot(served)).hosts.includes("big.example.com"), { what: "big.example.com gone", timeoutMs: 60_000 });
    // Garbage is returned to the system when the runtime gets to it: wait for that, with a generous bound.
    const after = await eventually(async () => {
      const rss = await rssMiB(served);
      return rss < baseline + 50 ? rss : undefined;
    }, { what: `RSS back under ${baseline.toFixed(0)} + 50 MiB (loaded: ${loaded.toFixed(0)} MiB)`, timeoutMs: 90_000, intervalMs: 1000 });
    expect(after).toBeLessThan(baseline + 50);
    console.log(`RSS: ${baseline.toFixed(0)} MiB at start, ${loaded.toFixed(0)} MiB with 4 MiB of Services, ${after.toFixed(0)} MiB after it was removed`);
  }, 300_000);
});

