// `agent certs init --format cluster`: writes a cert set's Secrets through the Kubernetes API.
// Every Secret is looked up first, so without `overwrite` one that exists means nothing is written.
// With `overwrite` an existing Secret is replaced by a PUT conditional on its resourceVersion (or
// deleted and created again when its type is not kubernetes.io/tls: the API server refuses to change
// a Secret's type). Logs names and actions, never data. Contour's certgen (`agent certgen --kube`)
// writes as Contour does instead (writeSecretsAsContour), so Contour's Role for its Job, which grants
// create and update on Secrets and nothing else, is enough.
import { consola } from "consola";
import { type KubeClient, KubeApiError } from "../k8s/client.ts";
import type { TlsSecret } from "./layout.ts";

const log = consola.withTag("certs");

/** A Secret exists where it must not, or a request failed; the message is one line and names the Secrets. */
export class SecretWriteError extends Error {
  readonly code = "SECRET_WRITE";
}

export interface SecretWrite {
  name: string;
  action: "created" | "replaced" | "kept";
}

interface Found {
  resourceVersion: string;
  type?: string;
}

function secretsPath(namespace: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
}

function secretPath(secret: TlsSecret): string {
  return `${secretsPath(secret.metadata.namespace)}/${encodeURIComponent(secret.metadata.name)}`;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message.split("\n")[0]! : String(error);
}

async function find(client: KubeClient, secret: TlsSecret): Promise<Found | undefined> {
  try {
    const found = await client.request<{ metadata?: { resourceVersion?: string }; type?: string }>("GET", secretPath(secret));
    return { resourceVersion: found.metadata?.resourceVersion ?? "", type: found.type };
  } catch (error) {
    if (error instanceof KubeApiError && error.statusCode === 404) return undefined;
    throw new SecretWriteError(`cannot look up Secret ${secret.metadata.namespace}/${secret.metadata.name}, nothing was written: ${reason(error)}`);
  }
}

/** Creates (or with `overwrite` replaces) the Secrets, in order; returns what was done to each. */
export async function writeSecretsToCluster(client: KubeClient, secrets: TlsSecret[], options: { overwrite: boolean }): Promise<SecretWrite[]> {
  const found = new Map<TlsSecret, Found>();
  for (const secret of secrets) {
    const existing = await find(client, secret);
    log.debug(`Secret ${secret.metadata.namespace}/${secret.metadata.name}: ${existing ? `exists (resourceVersion ${existing.resourceVersion})` : "absent"}`);
    if (existing) found.set(secret, existing);
  }
  if (found.size > 0 && !options.overwrite) {
    const names = [...found.keys()].map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
    throw new SecretWriteError(`Secret${names.length > 1 ? "s" : ""} ${names.join(", ")} already exist${names.length > 1 ? "" : "s"}: nothing was written (--overwrite replaces them)`);
  }
  const done: SecretWrite[] = [];
  for (const secret of secrets) {
    const existing = found.get(secret);
    const name = `${secret.metadata.namespace}/${secret.metadata.name}`;
    try {
      if (!existing) {
        await client.request("POST", secretsPath(secret.metadata.namespace), { body: secret });
      } else if (existing.type === secret.type) {
        await client.request("PUT", secretPath(secret), { body: { ...secret, metadata: { ...secret.metadata, resourceVersion: existing.resourceVersion } } });
      } else {
        log.debug(`Secret ${name} has type ${existing.type ?? "(none)"}, which cannot be changed: deleting it to create it again`);
        await client.request("DELETE", secretPath(secret), { body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { resourceVersion: existing.resourceVersion } } });
        await client.request("POST", secretsPath(secret.metadata.namespace), { body: secret });
      }
    } catch (error) {
      const written = done.length > 0 ? `; written before it: ${done.map((d) => `${d.name} (${d.action})`).join(", ")}` : "; nothing was written";
      throw new SecretWriteError(`${existing ? "replacing" : "creating"} Secret ${name} failed: ${reason(error)}${written}`);
    }
    done.push({ name, action: existing ? "replaced" : "created" });
    log.debug(`Secret ${name}: ${existing ? "replaced" : "created"}`);
  }
  return done;
}

/**
 * Contour's certgen (internal/certgen/certgen.go): creates each Secret; one that already exists is
 * kept, or with `overwrite` replaced by an unconditional update. Never reads a Secret.
 */
export async function writeSecretsAsContour(client: KubeClient, secrets: TlsSecret[], options: { overwrite: boolean }): Promise<SecretWrite[]> {
  const done: SecretWrite[] = [];
  for (const secret of secrets) {
    const name = `${secret.metadata.namespace}/${secret.metadata.name}`;
    let action: SecretWrite["action"] = "created";
    try {
      try {
        await client.request("POST", secretsPath(secret.metadata.namespace), { body: secret });
      } catch (error) {
        if (!(error instanceof KubeApiError && error.statusCode === 409)) throw error;
        action = options.overwrite ? "replaced" : "kept";
        if (options.overwrite) await client.request("PUT", secretPath(secret), { body: secret });
      }
    } catch (error) {
      const written = done.length > 0 ? `; written before it: ${done.map((d) => `${d.name} (${d.action})`).join(", ")}` : "; nothing was written";
      throw new SecretWriteError(`writing Secret ${name} failed: ${reason(error)}${written}`);
    }
    done.push({ name, action });
    log.debug(`Secret ${name}: ${action}`);
  }
  return done;
}
