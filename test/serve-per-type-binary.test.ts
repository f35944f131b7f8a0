// An Envoy bootstrapped for the per-type services (`agent bootstrap --xds-mode per-type`) has no ADS
// stream: served with `--envoy-xds-mode per-type`, every RDS/EDS/SDS reference points at the
// bootstrap's xDS cluster instead of ADS. Through the compiled binary, over the per-type services.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { ensureAgentBinary, runAgent, startServe, type RunningBinary } from "./helpers/agent-binary.ts";

setDefaultTimeout(30_000);
const quickstart = join(import.meta.dir, "../examples/quickstart");
let agent: RunningBinary & { port: number };

beforeAll(async () => {
  await ensureAgentBinary();
  agent = await startServe(["--manifests", quickstart, "--envoy-xds-mode", "per-type"]);
}, 60_000);

afterAll(async () => {
  expect(await agent?.stop()).toBe(0);
});

async function fetchPerType(type: string): Promise<string> {
  const run = await runAgent(["xds", "--server", `127.0.0.1:${agent.port}`, "--no-ads", "--type", type, "--timeout", "10s"]);
  expect(run.code).toBe(0);
  return run.stdout;
}

test("listeners and clusters name the xDS cluster's per-type services, never ADS", async () => {
  const perType = { api_config_source: { api_type: "GRPC", grpc_services: [{ envoy_grpc: { cluster_name: "isobar" } }], transport_api_version: "V3" }, resource_api_version: "V3" };
  for (const type of ["lds", "cds"]) {
    const out = await fetchPerType(type);
    expect(out).not.toContain('"ads":{}');
    expect(out).toContain(JSON.stringify(perType.api_config_source.grpc_services));
  }
  const bootstrap = await runAgent(["bootstrap", "-", "--xds-mode", "per-type"]);
  expect(bootstrap.code).toBe(0);
  expect(JSON.parse(bootstrap.stdout).static_resources.clusters[0].name).toBe("isobar");
});

test("a bad --envoy-xds-mode is one line and exit 2", async () => {
  const run = await runAgent(["serve", "--manifests", quickstart, "--envoy-xds-mode", "delta"]);
  expect(run.code).toBe(2);
  expect(run.stderr).toBe('agent: --envoy-xds-mode must be one of ads, per-type, got "delta"\n');
});
