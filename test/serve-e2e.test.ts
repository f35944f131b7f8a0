// The whole agent over a real socket: a watched manifest directory → cache → debounce → build →
// snapshot store → xDS server → a delta ADS client. Editing an Ingress file reaches the client as a
// new route config; editing an EndpointSlice reaches it as one load assignment and nothing else.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgent, type Agent } from "../src/agent/agent.ts";
import { connectXds, type XdsClient, type XdsResponse } from "../src/xds/client.ts";
import { decodeToJson } from "../src/xds/registry-decode.ts";
import { TypeUrls } from "../src/xds/types.ts";

const quickstart = join(import.meta.dir, "../examples/quickstart");
let dir: string;
let agent: Agent;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "isobar-e2e-"));
  cpSync(quickstart, dir, { recursive: true });
  agent = await startAgent({
    address: "127.0.0.1",
    port: 0,
    manifests: dir,
    holdoffMs: 20,
    maxDelayMs: 100,
    endpoints: { allowLoopback: true },
    dag: { ingressClassNames: [], rootNamespaces: [], enableExternalNameService: false, now: () => new Date() },
  });
});

afterAll(async () => {
  await agent.close(100);
  rmSync(dir, { recursive: true, force: true });
});

/** Takes responses until one satisfies `match`; fails after `limit` responses. */
async function nextMatching(client: XdsClient, match: (response: XdsResponse) => boolean, limit = 20): Promise<XdsResponse> {
  for (let i = 0; i < limit; i++) {
    const response = await client.next();
    if (match(response)) return response;
  }
  throw new Error("no matching response");
}

function deltaClient(): { client: XdsClient; responses: XdsResponse[] } {
  const responses: XdsResponse[] = [];
  const client = connectXds(`127.0.0.1:${agent.server.port}`, {
    node: { id: "e2e", cluster: "test" },
    delta: true,
    subscriptions: [
      { typeUrl: TypeUrls.cluster },
      { typeUrl: TypeUrls.listener },
      { typeUrl: TypeUrls.route, names: ["ingress_http"] },
      { typeUrl: TypeUrls.endpoint, names: ["quickstart/echo/http", "quickstart/echo-v2/http"] },
    ],
    onResponse: (response) => responses.push(response),
  });
  return { client, responses };
}

const json = (response: XdsResponse, index = 0) => decodeToJson(response.typeUrl, response.resources[index]!.value) as Record<string, any>;

describe("agent serve --manifests, end to end", () => {
  test("the pipeline is ready and the quickstart's objects have statuses", () => {
    expect(agent.pipeline.ready).toBe(true);
    const statuses = agent.pipeline.lastBuild!.statuses;
    const broken = statuses.find((s) => s.ref.name === "broken")!;
    expect(broken.currentStatus).toBe("invalid");
    expect(broken.errors[0]!.reason).toBe("ServiceUnresolvedReference");
    expect(statuses.filter((s) => s.ref.kind === "Ingress" && s.ref.name !== "broken").every((s) => s.currentStatus === "valid")).toBe(true);
  });

  test("an edited Ingress file reaches a delta client as a new route config; an EndpointSlice edit sends one load assignment", async () => {
    const { client, responses } = deltaClient();
    try {
      const route = await nextMatching(client, (r) => r.typeUrl === TypeUrls.route);
      const hosts = (json(route).virtual_hosts as Array<{ name: string }>).map((v) => v.name);
      expect(hosts).toContain("echo.example.com");
      expect(hosts).not.toContain("new.example.com");
      await nextMatching(client, (r) => r.typeUrl === TypeUrls.endpoint);

      // A new host in the Ingress file.
      const ingressFile = join(dir, "ingress.yaml");
      writeFileSync(ingressFile, readFileSync(ingressFile, "utf8").replace("- host: echo.example.com", "- host: new.example.com"));
      const updated = await nextMatching(client, (r) => r.typeUrl === TypeUrls.route);
      const newHosts = (json(updated).virtual_hosts as Array<{ name: string }>).map((v) => v.name);
      expect(newHosts).toContain("new.example.com");
      expect(newHosts).not.toContain("echo.example.com");

      // One endpoint port changes: exactly one load assignment is sent, nothing else.
      const before = responses.length;
      const servicesFile = join(dir, "services.yaml");
      writeFileSync(servicesFile, readFileSync(servicesFile, "utf8").replace("{ name: http, port: 18082, protocol", "{ name: http, port: 18093, protocol"));
      const eds = await nextMatching(client, (r) => r.typeUrl === TypeUrls.endpoint);
      expect(eds.resources.map((r) => r.name)).toEqual(["quickstart/echo-v2/http"]);
      const endpoints = JSON.stringify(json(eds));
      expect(endpoints).toContain('"port_value":18093');
      expect(endpoints).not.toContain('"port_value":18082');
      expect(responses.slice(before).map((r) => r.typeUrl)).toEqual([TypeUrls.endpoint]);
    } finally {
      client.close();
    }
  });

  test("a file that does not parse is reported with its path and line, and everything else keeps serving", async () => {
    const version = agent.store.version(TypeUrls.cluster);
    writeFileSync(join(dir, "broken.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: x\n  bad: [\n");
    const deadline = Date.now() + 5000;
    while (!agent.pipeline.problems().some((p) => p.message.includes("broken.yaml")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const problem = agent.pipeline.problems().find((p) => p.message.includes("broken.yaml"));
    expect(problem?.message).toMatch(/broken\.yaml:\d+/);
    expect(agent.store.version(TypeUrls.cluster)).toBe(version);
    expect(agent.store.resources(TypeUrls.cluster).size).toBeGreaterThan(1);
  });
});
