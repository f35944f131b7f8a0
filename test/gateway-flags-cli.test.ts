// --gateway-controller-name and --gateway-ref on `agent serve` and `agent validate`: documented in
// --help, a bad value is one line on stderr and exit 2 before anything starts, and `validate`
// serves the Gateway they select.
import { expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { runSource } from "./helpers/agent-process.ts";

// Spawns the agent from source: seconds each on a loaded 2-core machine.
setDefaultTimeout(60_000);

const valid = join(import.meta.dir, "gateway-api-manifests", "valid.yaml");
const serve = ["serve", "--manifests", join(import.meta.dir, "..", "examples", "quickstart"), "--port", "0", "--metrics-port", "0", "--debug-port", "0"];

test("both flags are in --help of serve and validate", async () => {
  for (const command of ["serve", "validate"]) {
    const help = await runSource([command, "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--gateway-controller-name");
    expect(help.stdout).toContain("projectcontour.io/gateway-controller");
    expect(help.stdout).toContain("--gateway-ref");
  }
});

test("a bad value is one line naming the flag, exit 2", async () => {
  const cases: [string[], string][] = [
    [["--gateway-ref", "web"], 'agent: --gateway-ref must be NAMESPACE/NAME of a Gateway, got "web"\n'],
    [["--gateway-ref", "infra/web/x"], 'agent: --gateway-ref must be NAMESPACE/NAME of a Gateway, got "infra/web/x"\n'],
    [["--gateway-ref", "Infra/web"], 'agent: --gateway-ref must be NAMESPACE/NAME of a Gateway, got "Infra/web"\n'],
    [["--gateway-controller-name", "no-slash"], 'agent: --gateway-controller-name must be a domain-prefixed path such as example.com/gateway-controller, got "no-slash"\n'],
  ];
  for (const [flags, stderr] of cases) {
    expect({ flags, ...(await runSource([...serve, ...flags])) }).toEqual({ flags, code: 2, stdout: "", stderr });
    expect({ flags, ...(await runSource(["validate", valid, ...flags])) }).toEqual({ flags, code: 2, stdout: "", stderr });
  }
});

test("validate: --gateway-ref and --gateway-controller-name decide which Gateway gets status", async () => {
  const json = async (flags: string[]) => {
    const run = await runSource(["validate", valid, "--output", "json", ...flags]);
    expect(run.stderr).toBe("");
    return JSON.parse(run.stdout) as { objects: Array<{ kind: string; name: string; conditions?: unknown[] }>; ignored: Array<{ kind: string; name: string }> };
  };
  const selected = await json(["--gateway-ref", "infra/web"]);
  expect(selected.objects.find((o) => o.kind === "Gateway" && o.name === "web")?.conditions).toHaveLength(2);
  const elsewhere = await json(["--gateway-ref", "infra/missing"]);
  expect(elsewhere.objects.filter((o) => o.kind === "Gateway" || o.kind === "GatewayClass")).toEqual([]);
  expect(elsewhere.ignored.map((o) => `${o.kind} ${o.name}`)).toEqual(["Gateway web", "GatewayClass contour"]);
  const otherController = await json(["--gateway-controller-name", "example.com/other"]);
  expect(otherController.ignored.map((o) => `${o.kind} ${o.name}`)).toEqual(["Gateway web", "GatewayClass contour"]);
});
