// The harness itself, through a real Envoy: one Ingress routes a request to the right local backend.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { send, serviceFor, startEcho, startStack, type EchoBackend, type Stack } from "./harness.ts";

let stack: Stack;
let a: EchoBackend;
let b: EchoBackend;

beforeAll(async () => {
  [a, b] = [await startEcho("a"), await startEcho("b")];
  stack = await startStack({
    manifests: {
      "svc.yaml": `${serviceFor("default", "a", [a])}---\n${serviceFor("default", "b", [b])}`,
      "ingress.yaml": `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: smoke, namespace: default }
spec:
  rules:
    - host: smoke.example.com
      http:
        paths:
          - { path: /b, pathType: Prefix, backend: { service: { name: b, port: { number: 80 } } } }
          - { path: /, pathType: Prefix, backend: { service: { name: a, port: { number: 80 } } } }
`,
    },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await a?.close();
  await b?.close();
});

test("a request through the real Envoy reaches the backend its path names", async () => {
  const root = await send(stack.httpPort, "/hello", { host: "smoke.example.com" });
  expect(root.status).toBe(200);
  expect(root.json().backend).toBe("a");
  expect(root.json().path).toBe("/hello");
  const second = await send(stack.httpPort, "/b/x", { host: "smoke.example.com" });
  expect(second.json().backend).toBe("b");
  const unknown = await send(stack.httpPort, "/", { host: "nobody.example.com" });
  expect(unknown.status).toBe(404);
});
