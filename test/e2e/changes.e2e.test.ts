// Changes through a real Envoy: an edited, an added and a removed Ingress and HTTPProxy, and an
// EndpointSlice moving a Service to another backend, are each served, while a request loop to an
// unrelated host keeps getting its answer from its own backend with no error at any moment.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { tlsRequest, serverCertificate, testCa, tlsSecret, type PemPair } from "./pki.ts";
import { eventually, send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";

let stack: Stack;
const backends: Record<string, EchoBackend> = {};
let siteCa: PemPair;
let siteSecret: string;

function ingress(name: string, host: string, service: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: changes }
spec:
  rules:
    - host: ${host}
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: ${service}, port: { number: 80 } } } }] }
`;
}

function httpProxy(name: string, host: string, service: string, virtualhostExtra = ""): string {
  return `apiVersion: projectcontour.io/v1
kind: HTTPProxy
metadata: { name: ${name}, namespace: changes }
spec:
  virtualhost: { fqdn: ${host}${virtualhostExtra} }
  routes: [{ services: [{ name: ${service}, port: 80 }] }]
`;
}

/** Requests to `steady.changes.test`, one after another, until stopped: every answer must be its backend's 200. */
function requestLoop() {
  let running = true;
  const failures: string[] = [];
  let count = 0;
  const done = (async () => {
    while (running) {
      try {
        const answer = await send(stack.httpPort, `/loop/${count}`, { host: "steady.changes.test" });
        if (answer.status !== 200 || answer.json().backend !== "steady") failures.push(`#${count}: ${answer.status} ${answer.body.slice(0, 80)}`);
      } catch (error) {
        failures.push(`#${count}: ${(error as Error).message}`);
      }
      count++;
      await Bun.sleep(5);
    }
  })();
  return {
    count: () => count,
    async stop() {
      running = false;
      await done;
      return { count, failures };
    },
  };
}

/** Runs `change` with the loop going (requests before it, during it and after it landed), then checks the loop saw no error. */
async function duringLoop(change: () => void, served: () => Promise<boolean>, what: string): Promise<void> {
  const loop = requestLoop();
  await eventually(() => loop.count() >= 5, { what: "the request loop going" });
  change();
  await eventually(served, { what });
  // More rounds after the change landed, so a late listener drain would show too.
  const landed = loop.count();
  await eventually(() => loop.count() >= landed + 20, { what: "the request loop going on after the change" });
  const { failures } = await loop.stop();
  expect(failures).toEqual([]);
}

const backendOf = async (host: string) => {
  const answer = await send(stack.httpPort, "/", { host });
  return answer.status === 200 ? answer.json().backend : answer.status;
};

beforeAll(async () => {
  for (const name of ["steady", "one", "two", "m1", "m2"]) backends[name] = await startEcho(name);
  siteCa = await testCa("e2e changes CA");
  siteSecret = tlsSecret("changes", "secure-cert", await serverCertificate(siteCa, ["secure.changes.test"]));
});

afterAll(async () => {
  await Promise.all(Object.values(backends).map((backend) => backend.close()));
});

// The same changes with each way an Envoy can fetch its configuration.
for (const xdsMode of ["delta", "sotw", "per-type"] as const) {
  describe(`xDS ${xdsMode}`, () => {
    beforeAll(async () => {
      stack = await startStack({
        xdsMode,
        manifests: {
          "services.yaml": ["steady", "one", "two"].map((name) => serviceFor("changes", name, [backends[name]!])).join("---\n"),
          "moving.yaml": serviceFor("changes", "moving", [backends.m1!]),
          "steady.yaml": ingress("steady", "steady.changes.test", "steady"),
          "edited-ingress.yaml": ingress("edited", "edited-ingress.changes.test", "one"),
          "edited-proxy.yaml": httpProxy("edited", "edited-proxy.changes.test", "one"),
          "removed-ingress.yaml": ingress("removed", "removed-ingress.changes.test", "one"),
          "removed-proxy.yaml": httpProxy("removed", "removed-proxy.changes.test", "one"),
          "moving-route.yaml": ingress("moving", "moving.changes.test", "moving"),
        },
      });
      await eventually(async () => (await backendOf("steady.changes.test")) === "steady", { what: "the steady host served" });
    }, 60_000);

    afterAll(async () => {
      await stack?.stop();
    });

    test("an edited Ingress is served", async () => {
      expect(await backendOf("edited-ingress.changes.test")).toBe("one");
      await duringLoop(() => stack.write("edited-ingress.yaml", ingress("edited", "edited-ingress.changes.test", "two")), async () => (await backendOf("edited-ingress.changes.test")) === "two", "the edited Ingress served");
    });

    test("an edited HTTPProxy is served", async () => {
      expect(await backendOf("edited-proxy.changes.test")).toBe("one");
      await duringLoop(() => stack.write("edited-proxy.yaml", httpProxy("edited", "edited-proxy.changes.test", "two")), async () => (await backendOf("edited-proxy.changes.test")) === "two", "the edited HTTPProxy served");
    });

    test("an added Ingress is served", async () => {
      expect(await backendOf("added-ingress.changes.test")).toBe(404);
      await duringLoop(() => stack.write("added-ingress.yaml", ingress("added", "added-ingress.changes.test", "two")), async () => (await backendOf("added-ingress.changes.test")) === "two", "the added Ingress served");
    });

    test("an added HTTPProxy whose CORS policy changes the listener's filters is served", async () => {
      expect(await backendOf("added-proxy.changes.test")).toBe(404);
      const cors = ", corsPolicy: { allowOrigin: ['https://origin.example'], allowMethods: [GET] }";
      const listenerUpdates = await stack.envoy.stat("listener_manager.lds.update_success");
      await duringLoop(() => stack.write("added-proxy.yaml", httpProxy("added", "added-proxy.changes.test", "two", cors)), async () => {
        const answer = await send(stack.httpPort, "/", { host: "added-proxy.changes.test", headers: { origin: "https://origin.example" } });
        return answer.status === 200 && answer.json().backend === "two" && answer.headers["access-control-allow-origin"] === "https://origin.example";
      }, "the added HTTPProxy served with CORS");
      expect(await stack.envoy.stat("listener_manager.lds.update_success")).toBeGreaterThan(listenerUpdates!);
    });

    test("a removed Ingress and a removed HTTPProxy are no longer served", async () => {
      expect(await backendOf("removed-ingress.changes.test")).toBe("one");
      expect(await backendOf("removed-proxy.changes.test")).toBe("one");
      await duringLoop(() => stack.remove("removed-ingress.yaml"), async () => (await backendOf("removed-ingress.changes.test")) === 404, "the removed Ingress gone");
      await duringLoop(() => stack.remove("removed-proxy.yaml"), async () => (await backendOf("removed-proxy.changes.test")) === 404, "the removed HTTPProxy gone");
    });

    test("the first TLS host adds the HTTPS listener, and removing it removes the listener", async () => {
      const secure = () => tlsRequest(stack.httpsPort, { servername: "secure.changes.test", ca: siteCa.certificatePem });
      expect((await secure()).status).toBeUndefined();
      await duringLoop(() => stack.write("secure.yaml", `${siteSecret}---\n${httpProxy("secure", "secure.changes.test", "two", ", tls: { secretName: secure-cert }")}`), async () => {
        const answer = await secure();
        return answer.status === 200 && JSON.parse(answer.body!).backend === "two";
      }, "the TLS host served over HTTPS");
      await duringLoop(() => stack.remove("secure.yaml"), async () => (await secure()).status === undefined, "the HTTPS listener gone");
    });

    test("an endpoint change moves a Service's traffic to its new backend", async () => {
      expect(await backendOf("moving.changes.test")).toBe("m1");
      // The Service stays as it was; only its EndpointSlice now names the other backend.
      const service = serviceFor("changes", "moving", [backends.m1!]).split("\n---\n")[0]!;
      const slice = serviceFor("changes", "moving", [backends.m2!]).split("\n---\n")[1]!;
      await duringLoop(() => stack.write("moving.yaml", `${service}\n---\n${slice}`), async () => (await backendOf("moving.changes.test")) === "m2", "the new endpoint served");
      // Once moved, it stays moved: the old backend gets nothing more.
      const before = backends.m1!.received.length;
      for (let i = 0; i < 5; i++) expect(await backendOf("moving.changes.test")).toBe("m2");
      expect(backends.m1!.received.length).toBe(before);
    });
  });
}
