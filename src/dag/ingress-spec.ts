// Reads an Ingress spec from untyped input (a manifest file need not have passed API-server
// validation): fields of the wrong type are left out and reported, so the processor works on
// well-typed data and never throws on what a user wrote.
import { isRecord } from "../base/values.ts";

export interface IngressBackend {
  service?: { name: string; port?: number | string };
  resource?: { kind: string };
}

export interface IngressPath {
  path?: string;
  pathType?: string;
  backend?: IngressBackend;
}

export interface IngressRule {
  host?: string;
  paths: IngressPath[];
}

export interface IngressTls {
  hosts: string[];
  secretName?: string;
}

export interface IngressSpec {
  defaultBackend?: IngressBackend;
  tls: IngressTls[];
  rules: IngressRule[];
}

type Problems = string[];


function optionalString(record: Record<string, unknown>, key: string, field: string, problems: Problems): string | undefined {
  const value = record[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  problems.push(`${field}.${key} must be a string`);
  return undefined;
}

function list(value: unknown, field: string, problems: Problems): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value;
  problems.push(`${field} must be a list`);
  return [];
}

function readBackend(value: unknown, field: string, problems: Problems): IngressBackend | undefined {
  if (!isRecord(value)) {
    if (value !== undefined && value !== null) problems.push(`${field} must be an object`);
    return undefined;
  }
  const backend: IngressBackend = {};
  if (isRecord(value.service)) {
    const name = optionalString(value.service, "name", `${field}.service`, problems) ?? "";
    const service: NonNullable<IngressBackend["service"]> = { name };
    const port = value.service.port;
    if (isRecord(port)) {
      if (typeof port.name === "string" && port.name !== "") service.port = port.name;
      else if (typeof port.number === "number" && Number.isInteger(port.number) && port.number >= 1 && port.number <= 65535) service.port = port.number;
      else if (typeof port.number === "number" && Number.isInteger(port.number)) problems.push(`${field}.service.port.number must be a port from 1 to 65535, got ${port.number}`);
      else if (port.name !== undefined || port.number !== undefined) problems.push(`${field}.service.port must have a name or an integer number`);
    }
    backend.service = service;
  } else if (value.service !== undefined) problems.push(`${field}.service must be an object`);
  if (isRecord(value.resource)) backend.resource = { kind: typeof value.resource.kind === "string" ? value.resource.kind : "unknown kind" };
  return backend;
}

/** The spec of an Ingress, well-typed, and the fields that were not. */
export function readIngressSpec(raw: unknown): { spec: IngressSpec; problems: string[] } {
  const problems: Problems = [];
  const spec: IngressSpec = { tls: [], rules: [] };
  if (!isRecord(raw)) {
    if (raw !== undefined && raw !== null) problems.push("spec must be an object");
    return { spec, problems };
  }
  const defaultBackend = readBackend(raw.defaultBackend, "spec.defaultBackend", problems);
  if (defaultBackend) spec.defaultBackend = defaultBackend;
  for (const [i, entry] of list(raw.tls, "spec.tls", problems).entries()) {
    const field = `spec.tls[${i}]`;
    if (!isRecord(entry)) {
      problems.push(`${field} must be an object`);
      continue;
    }
    const hosts = list(entry.hosts, `${field}.hosts`, problems).filter((h): h is string => {
      if (typeof h !== "string") problems.push(`${field}.hosts must hold strings`);
      return typeof h === "string";
    });
    const tls: IngressTls = { hosts };
    const secretName = optionalString(entry, "secretName", field, problems);
    if (secretName !== undefined) tls.secretName = secretName;
    else if (entry.secretName !== undefined && entry.secretName !== null) continue;
    spec.tls.push(tls);
  }
  for (const [i, entry] of list(raw.rules, "spec.rules", problems).entries()) {
    const field = `spec.rules[${i}]`;
    if (!isRecord(entry)) {
      problems.push(`${field} must be an object`);
      continue;
    }
    const rule: IngressRule = { paths: [] };
    const host = optionalString(entry, "host", field, problems);
    if (host !== undefined) rule.host = host;
    else if (entry.host !== undefined && entry.host !== null) continue;
    const http = entry.http;
    if (isRecord(http)) {
      for (const [j, rawPath] of list(http.paths, `${field}.http.paths`, problems).entries()) {
        const pathField = `${field}.http.paths[${j}]`;
        if (!isRecord(rawPath)) {
          problems.push(`${pathField} must be an object`);
          continue;
        }
        const before = problems.length;
        const path: IngressPath = {};
        const value = optionalString(rawPath, "path", pathField, problems);
        if (value !== undefined) path.path = value;
        const pathType = optionalString(rawPath, "pathType", pathField, problems);
        if (pathType !== undefined) path.pathType = pathType;
        const backend = readBackend(rawPath.backend, `${pathField}.backend`, problems);
        if (backend) path.backend = backend;
        if (problems.length === before) rule.paths.push(path);
      }
    } else if (http !== undefined && http !== null) problems.push(`${field}.http must be an object`);
    spec.rules.push(rule);
  }
  return { spec, problems };
}
