// Make before break with a real Envoy (src/xds/cluster-warming.ts): an edited Ingress adds a path to a
// Service no route used before, so its cluster is new to Envoy. Requests for that path, asked over and
// over while the change travels, are answered by the old route (backend a) and then by the new one
// (backend b), never by an error: Envoy gets the route only once the new cluster has its endpoints.
// Before, the route came right behind the cluster and its path answered 503 (NC, no cluster) while
// Envoy rebuilt its route table and only then asked for the endpoints; 2000 other hosts make that
// rebuild long enough to be seen. On delta ADS (VHDS) and state-of-the-world ADS (the whole route configuration).
// And break after make, on delta ADS: a path switched from one Service to another, the old one used
// by nothing else, is answered by the old backend then the new one: the old cluster is removed only
// after the route that stopped pointing at it (before, it answered 503 while Envoy rebuilt its table).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";

const stacks: Partial<Record<"delta" | "sotw", Stack>> = {};
let a: EchoBackend;
let b: EchoBackend;
let c: EchoBackend;
const others = 2000;

const paths = (extra: string) => `
          - { path: /static, pathType: Prefix, backend: { service: { name: a, port: { number: 80 } } } }
          - { path: /api, pathType: Prefix, backend: { service: { name: a, port: { number: 80 } } } }${extra}
          - { path: /, pathType: Prefix, backend: { service: { name: a, port: { number: 80 } } } }`;

const ingress = (name: string, host: string, extra = "") => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${name}, namespace: default }
spec:
  rules:
    - host: ${host}
      http:
        paths:${paths(extra)}
`;

/** The edited Ingress: `/changed-<n>` goes to Service b<n> for each n up to `generation`. */
const edited = (generation: number) =>
  ingress("edited", "edited.example.com", Array.from({ length: generation }, (_, i) => `\n          - { path: /changed-${i + 1}, pathType: Prefix, backend: { service: { name: b${i + 1}, port: { number: 80 } } } }`).join(""));

/** An Ingress whose every path goes to `service`, used by no other route. */
const switched = (service: string) => ingress("switched", "switched.example.com").replaceAll("name: a,", `name: ${service},`);

beforeAll(async () => {
  [a, b, c] = [await startEcho("a"), await startEcho("b"), await startEcho("c")];
});

afterAll(async () => {
  await Promise.all(Object.values(stacks).map((stack) => stack.stop()));
  await Promise.all([a, b, c].map((backend) => backend?.close()));
});

function manifests(): Record<string, string> {
  const services = [serviceFor("default", "a", [a]), ...[1, 2, 3].map((n) => serviceFor("default", `b${n}`, [b])), serviceFor("default", "b", [b]), serviceFor("default", "c", [c])];
  return {
    "svc.yaml": services.join("---\n"),
    "others.yaml": Array.from({ length: others }, (_, i) => ingress(`other-${i}`, `other-${i}.example.com`)).join("---\n"),
    "edited.yaml": edited(0),
    "switched.yaml": switched("b"),
  };
}

/** One stack per mode, started by the first test that needs it. */
const stackFor = async (xdsMode: "delta" | "sotw") => (stacks[xdsMode] ??= await startStack({ manifests: manifests(), xdsMode }));

const answerOf = async (stack: Stack, path: string, host = "edited.example.com") => {
  const response = await send(stack.httpPort, path, { host });
  return response.status === 200 ? (response.json().backend as string) : `<${response.status}> ${response.body.slice(0, 60)}`.trim();
};

for (const xdsMode of ["delta", "sotw"] as const) {
  describe(`${xdsMode} ADS`, () => {
    test("a path to a Service no route used before is answered by the old route, then the new one, never an error", async () => {
      const stack = await stackFor(xdsMode);
      expect(await answerOf(stack, "/")).toBe("a");
      for (const generation of [1, 2, 3]) {
        const path = `/changed-${generation}/x`;
        expect(await answerOf(stack, path)).toBe("a");
        stack.write("edited.yaml", edited(generation));
        const answers: string[] = [];
        const deadline = performance.now() + 30_000;
        while (answers.at(-1) !== "b" && performance.now() < deadline) answers.push(await answerOf(stack, path));
        expect(answers.at(-1)).toBe("b");
        expect(answers.filter((answer) => answer !== "a" && answer !== "b")).toEqual([]);
      }
    }, 120_000);

    if (xdsMode === "delta") {
      test("a path switched to another Service is answered by the old backend, then the new one, never an error", async () => {
        const stack = await stackFor(xdsMode);
        for (const [from, to] of [["b", "c"], ["c", "b"], ["b", "c"]] as const) {
          expect(await answerOf(stack, "/x", "switched.example.com")).toBe(from);
          stack.write("switched.yaml", switched(to));
          const answers: string[] = [];
          const deadline = performance.now() + 30_000;
          while (answers.at(-1) !== to && performance.now() < deadline) answers.push(await answerOf(stack, "/x", "switched.example.com"));
          expect(answers.at(-1)).toBe(to);
          expect(answers.filter((answer) => answer !== from && answer !== to)).toEqual([]);
        }
      }, 120_000);
    }
  });
}
