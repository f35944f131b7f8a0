// The NACK loop with a real Envoy, from the compiled agent on a manifest directory. Envoy's operator
// lowered its regex program size limit at run time (admin /runtime_modify), so a regex the agent's
// validator accepts is one this Envoy rejects: a new HTTPProxy using it is NACKed by Envoy, its status
// names Envoy's error, Envoy keeps serving the last good config, a later unrelated change is still
// delivered, and once the HTTPProxy changes (with the limit back) it is tried again and served.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { admin, eventually, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";

let a: EchoBackend;
let b: EchoBackend;
beforeAll(async () => {
  [a, b] = [await startEcho("a"), await startEcho("b")];
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

const proxy = (name: string, fqdn: string, service: string, regex?: string) => `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: ${name}, namespace: default }
spec:
  virtualhost: { fqdn: ${fqdn} }
  routes:
    - services: [{ name: ${service}, port: 80 }]
${regex ? `      conditions: [{ regex: ${JSON.stringify(regex)} }]\n` : ""}`;

const ingress = (service: string) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: other, namespace: default }
spec:
  rules:
    - host: other.example.com
      http:
        paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${service}, port: { number: 80 } } } }]
`;

interface Condition {
  type: string;
  reason: string;
  message: string;
}

for (const xdsMode of ["delta", "sotw"] as const) {
  describe(`${xdsMode} ADS`, () => {
    let stack: Stack;
    let debugPort: number;

    beforeAll(async () => {
      stack = await startStack({
        xdsMode,
        manifests: {
          "svc.yaml": `${serviceFor("default", "a", [a])}---\n${serviceFor("default", "b", [b])}`,
          "good.yaml": proxy("good", "good.example.com", "a"),
          "other.yaml": ingress("a"),
        },
      });
      debugPort = Number((await stack.agent.waitForLine(/debug views on http:\/\/[^ ]+:(\d+)\//))[1]);
    }, 60_000);

    afterAll(async () => {
      await stack?.stop();
    });

    const statusOf = async (kind: string, name: string) => {
      const all = (await (await fetch(`http://127.0.0.1:${debugPort}/debug/status`)).json()) as Array<{ kind: string; name: string; currentStatus: string; errors: Condition[] }>;
      return all.find((s) => s.kind === kind && s.name === name);
    };
    const backendOf = async (host: string, path = "/") => {
      const response = await send(stack.httpPort, path, { host });
      return response.status === 200 ? response.json().backend : response.status;
    };

    test("a config Envoy rejects: NACKed, named in the object's status, the last good config still served, later changes delivered", async () => {
      expect(await backendOf("good.example.com")).toBe("a");
      expect(await backendOf("other.example.com")).toBe("a");
      // Over delta ADS Envoy takes ingress_http's hosts over VHDS (src/xds/vhds.ts): a bad host is a rejected VHDS update.
      const rejectedStat = xdsMode === "delta" ? "http.ingress_http.rds.vhds.ingress_http.update_rejected" : "http.ingress_http.rds.ingress_http.update_rejected";
      const rejectedBefore = (await stack.envoy.stat(rejectedStat)) ?? 0;

      // This Envoy now refuses any regex whose RE2 program is bigger than 3 (the agent allows 1000).
      expect((await admin(stack.envoy.adminSocket, "/runtime_modify?re2.max_program_size.error_level=3", "POST")).status).toBe(200);
      stack.write("regex.yaml", proxy("regex", "regex.example.com", "b", "/r/[a-z]+"));

      const status = await eventually(async () => {
        const found = await statusOf("HTTPProxy", "regex");
        return found?.errors.some((e) => e.reason === "ResourceNacked") ? found : false;
      }, { what: "the HTTPProxy's status to name Envoy's error" });
      expect(status.currentStatus).toBe("invalid");
      const condition = status.errors.find((e) => e.reason === "ResourceNacked")!;
      expect(condition.type).toBe("EnvoyConfigError");
      expect(condition.message).toStartWith('Envoy rejected RouteConfiguration "ingress_http": ');
      expect(condition.message).toContain("RE2 program size");
      expect(condition.message).toContain("max program size of 3");
      // Envoy itself rejected an update of the route config (or of its host), and kept serving the last good one.
      expect((await stack.envoy.stat(rejectedStat))!).toBeGreaterThan(rejectedBefore);
      expect(await backendOf("good.example.com")).toBe("a");
      expect(await backendOf("regex.example.com", "/r/x")).toBe(404);
      // The other objects are untouched by it.
      expect((await statusOf("HTTPProxy", "good"))?.currentStatus).toBe("valid");

      // An unrelated change made afterwards still reaches Envoy.
      stack.write("other.yaml", ingress("b"));
      await eventually(async () => (await backendOf("other.example.com")) === "b", { what: "the Ingress change to be served" });
      expect(await backendOf("good.example.com")).toBe("a");
      expect(await backendOf("regex.example.com", "/r/x")).toBe(404);

      // The limit back, and the HTTPProxy changed: its new content is tried, accepted and served.
      expect((await admin(stack.envoy.adminSocket, "/runtime_modify?re2.max_program_size.error_level=1000", "POST")).status).toBe(200);
      stack.write("regex.yaml", proxy("regex", "regex.example.com", "b", "/r/[a-z0-9]+"));
      await eventually(async () => (await backendOf("regex.example.com", "/r/x1")) === "b", { what: "the fixed HTTPProxy to be served" });
      expect((await statusOf("HTTPProxy", "regex"))?.currentStatus).toBe("valid");
    }, 60_000);
  });
}
