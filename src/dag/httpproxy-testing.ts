// Test helpers for the HTTPProxy processor: HTTPProxy objects from a spec, a build through
// buildDag with only this processor, and a status lookup. Used by the httpproxy*.test.ts files.
import type { KubeObject } from "../sources/types.ts";
import { buildDag } from "./builder.ts";
import { httpProxyProcessor } from "./httpproxy.ts";
import type { DagOptions } from "./processor.ts";
import type { ObjectStatus } from "./status.ts";
import { fakeInput, testOptions } from "./testing.ts";
import type { Dag, Route } from "./types.ts";

/** An HTTPProxy in `namespace` with the given spec. */
export function proxy(namespace: string, name: string, spec: Record<string, unknown>, generation = 1): KubeObject {
  return { apiVersion: "projectcontour.io/v1", kind: "HTTPProxy", metadata: { namespace, name, generation }, spec };
}

/** A root proxy for `fqdn` with one route to `service:80`. */
export function simpleRoot(namespace: string, name: string, fqdn: string, service = "app"): KubeObject {
  return proxy(namespace, name, { virtualhost: { fqdn }, routes: [{ services: [{ name: service, port: 80 }] }] });
}

/** Runs only the HTTPProxy processor over `objects`. */
export function build(objects: KubeObject[], options: Partial<DagOptions> = {}): Dag {
  return buildDag(fakeInput(objects), testOptions(options), [httpProxyProcessor]);
}

export function statusOf(dag: Dag, namespace: string, name: string): ObjectStatus | undefined {
  return dag.status.get({ kind: "HTTPProxy", namespace, name });
}

/** The routes of the plaintext virtual host `fqdn` (empty when there is none). */
export function routesOf(dag: Dag, fqdn: string): Route[] {
  return dag.virtualHosts.get(fqdn)?.routes ?? [];
}

/** Route paths as `kind:value`, for compact assertions. */
export function paths(routes: Route[]): string[] {
  return routes.map((r) => `${r.pathMatch.kind}:${r.pathMatch.value}`);
}
