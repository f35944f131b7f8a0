// `agent xds` for a type Envoy asks for by name (RDS, EDS, SDS) with no names: the server would rightly
// send nothing, so the command says at once why and how to ask; '*' asks for every resource of the type.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { CliError } from "../src/cli/errors.ts";
import { runSource } from "./helpers/agent-process.ts";
import { runXdsCommand, type XdsCommandFlags } from "../src/cli/xds.ts";
import { createSnapshotStore } from "../src/xds/snapshot.ts";
import { startXdsServer } from "../src/xds/server.ts";

function loadAssignment(name: string): object {
  return { cluster_name: name, endpoints: [{ locality: { zone: "a" }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: 8080 } } } }] }] };
}

let server: Awaited<ReturnType<typeof startXdsServer>>;
let flags: XdsCommandFlags;

beforeAll(async () => {
  const store = createSnapshotStore();
  store.publish({ listeners: [], routes: [], clusters: [], endpoints: [loadAssignment("default/a"), loadAssignment("default/b")], secrets: [] });
  server = await startXdsServer({ store, address: "127.0.0.1", port: 0 });
  flags = { server: `127.0.0.1:${server.port}`, nodeId: "audit", nodeCluster: "", type: "eds", names: [], delta: false, ads: true, watch: false, output: "json", timeout: "300ms" };
});

afterAll(async () => {
  await server?.close();
});

test("no names for RDS, EDS or SDS: one line at once saying names are needed and offering '*', exit 2", async () => {
  for (const type of ["rds", "eds", "sds"]) {
    const error = await runXdsCommand({ ...flags, type, timeout: "1m" }, () => {}).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).toBe(`--type ${type} resources are sent by name: give their names, or '*' for all of them`);
    expect((error as CliError).code).toBe(2);
  }
  // Through the binary: no connection is even tried (the server named does not exist).
  expect(await runSource(["xds", "--type", "rds", "--server", "127.0.0.1:1"])).toEqual({ code: 2, stdout: "", stderr: "agent: --type rds resources are sent by name: give their names, or '*' for all of them\n" });
});

test("'*' gets every load assignment, state-of-the-world and delta", async () => {
  for (const delta of [false, true]) {
    const lines: string[] = [];
    await runXdsCommand({ ...flags, names: ["*"], delta, timeout: "5s" }, (line) => lines.push(line));
    const response = JSON.parse(lines[0]!);
    const names = response.resources.map((r: { cluster_name?: string; name?: string }) => r.name ?? r.cluster_name).sort();
    expect({ delta, names }).toEqual({ delta, names: ["default/a", "default/b"] });
  }
});
