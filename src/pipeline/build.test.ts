import { expect, test } from "bun:test";
import { loadAssignments } from "../envoy/endpoint.ts";
import { resourceOwners } from "../envoy/ownership.ts";
import { testRef, testRoute, testDag, testSecret, testSecureVirtualHost, testVirtualHost } from "../envoy/testing.ts";
import { translate } from "../envoy/translate.ts";
import { validateSnapshot } from "../xds/validate-snapshot.ts";
import { recordRejections } from "./build.ts";

const bad = testRef("bad", "Ingress");
const good = testRef("good", "Ingress");
const lookaround = { kind: "regex" as const, value: "^/a(?=b)" };

test("a virtual host or filter chain the validator leaves out is blamed on its own objects, looked up by its name", () => {
  const dag = testDag({
    plain: [
      testVirtualHost("bad.com", [testRoute("/", { pathMatch: lookaround, source: bad })], { sources: [bad] }),
      testVirtualHost("good.com", [testRoute("/", { source: good })], { sources: [good] }),
    ],
    secure: [
      testSecureVirtualHost("nosecret.com", [testRoute("/", { source: bad })], { sources: [bad], secret: testSecret("default/gone/1") }),
      testSecureVirtualHost("good.com", [testRoute("/", { source: good })], { sources: [good] }),
    ],
  });
  const translation = translate(dag);
  // The certificate of nosecret.com is missing from the set: its filter chain is left out.
  const secrets = translation.secrets.filter((s) => s.name !== "default/gone/1");
  const { rejected } = validateSnapshot({ ...translation, secrets, endpoints: loadAssignments(dag.clusters.values(), () => []) });
  expect(rejected.map((r) => [r.name, r.partial, r.parts?.map((p) => p.name)])).toEqual([
    ["ingress_http", true, ["bad.com"]],
    ["ingress_https", true, ["https/nosecret.com"]],
  ]);
  recordRejections(dag, resourceOwners(dag), rejected);
  expect(dag.status.get(good)).toBeUndefined();
  expect(dag.status.get(bad)?.errors.map((e) => [e.reason, e.message.split(":")[0]])).toEqual([
    ["ResourceRejected", 'Envoy would reject RouteConfiguration "ingress_http" (the rest of it is still served)'],
    ["ResourceRejected", 'Envoy would reject Listener "ingress_https" (the rest of it is still served)'],
  ]);
});
