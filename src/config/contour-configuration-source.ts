// Finding the ContourConfiguration `serve --contour-config-name NAME` names: in the manifest
// directory (manifest mode), or from the API server in the agent's namespace (cluster mode), as
// Contour reads it at startup.
import type { KubeConfig } from "@kubernetes/client-node";
import { createKubeClient, KubeApiError, objectPath } from "../k8s/client.ts";
import { loadManifests } from "../sources/manifests.ts";
import type { KubeObject } from "../sources/types.ts";
import { ConfigError } from "./types.ts";

const contourConfigurationResource = { group: "projectcontour.io", version: "v1alpha1", plural: "contourconfigurations" };

/** The namespace Contour reads its ContourConfiguration from: $CONTOUR_NAMESPACE, else the agent's own, else projectcontour. */
export function contourConfigurationNamespace(own: string | undefined): string {
  return process.env.CONTOUR_NAMESPACE || own || "projectcontour";
}

async function findInManifests(path: string, name: string, namespace: string | undefined): Promise<{ object: KubeObject; file?: string; several: boolean } | undefined> {
  const { objects } = await loadManifests(path);
  const matching = objects.filter((o) => o.object.kind === "ContourConfiguration" && o.object.metadata.name === name);
  const found = matching.length === 1 ? matching[0] : matching.find((o) => o.object.metadata.namespace === namespace);
  return found ? { object: found.object, file: found.origin.file, several: matching.length > 1 } : undefined;
}

/**
 * A reader of the ContourConfiguration named `name` among the manifests of `dir` (in `namespace`
 * when several match). After the first read it re-reads only the file that held it, and the whole
 * directory again when the object left that file.
 */
export function contourConfigurationInManifests(dir: string, name: string, namespace: string | undefined): () => Promise<KubeObject> {
  let file: string | undefined;
  return async () => {
    const found = (file && (await findInManifests(file, name, namespace).catch(() => undefined))) || (await findInManifests(dir, name, namespace));
    if (!found) throw new ConfigError(`no ContourConfiguration named ${JSON.stringify(name)} in ${dir}${namespace ? ` (namespace ${namespace} when several)` : ""}`);
    file = found.several ? undefined : found.file;
    return found.object;
  };
}

/** The ContourConfiguration `namespace/name` from the API server. */
export async function contourConfigurationFromCluster(kubeConfig: KubeConfig, namespace: string, name: string): Promise<KubeObject> {
  const client = createKubeClient(kubeConfig);
  try {
    return await client.request<KubeObject>("GET", objectPath(contourConfigurationResource, namespace, name), { timeoutMs: 15_000 });
  } catch (error) {
    if (error instanceof KubeApiError && error.statusCode === 404) throw new ConfigError(`ContourConfiguration ${namespace}/${name} does not exist`);
    throw new ConfigError(`cannot read ContourConfiguration ${namespace}/${name}: ${(error as Error).message}`);
  } finally {
    client.close();
  }
}

/** Writes `condition` as the object's only condition (status subresource, merge patch). */
export async function reportContourConfiguration(kubeConfig: KubeConfig, object: KubeObject, condition: Record<string, unknown>): Promise<void> {
  const client = createKubeClient(kubeConfig);
  try {
    const path = objectPath(contourConfigurationResource, object.metadata.namespace, object.metadata.name);
    await client.request("PATCH", `${path}/status`, { body: { status: { conditions: [condition] } }, contentType: "application/merge-patch+json", timeoutMs: 15_000 });
  } finally {
    client.close();
  }
}
