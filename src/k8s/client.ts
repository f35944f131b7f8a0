// A small Kubernetes API client over node:http(s), on top of client-node's KubeConfig for
// credentials (CA file, client certs, tokens, exec plugins). Requests return plain JSON as the API
// server sends it; watches stream newline-delimited JSON. One keep-alive agent serves every request
// so thousands of status writes reuse a few TLS connections. Runs on Bun, Deno and Node.
import http from "node:http";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";

/** A non-2xx answer from the API server, or a transport failure (statusCode 0). */
export class KubeApiError extends Error {
  readonly code = "KUBE_API";
  constructor(
    message: string,
    readonly statusCode: number,
    readonly reason?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Whole-request timeout; default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface StreamOptions {
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
  /** Called with the JSON values of the complete lines in each chunk received. */
  onLines(values: unknown[]): void;
  /** The stream is considered dead after this long without a byte; default 5 min. */
  idleTimeoutMs?: number;
}

export interface KubeClient {
  readonly server: string;
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /** Resolves when the server ends the stream; rejects with KubeApiError otherwise. */
  stream(path: string, options: StreamOptions): Promise<void>;
  /** Closes idle keep-alive connections. */
  close(): void;
}

interface Credentials {
  headers: Record<string, string>;
  agent: http.Agent;
  expires: number;
}

const credentialsTtlMs = 30_000;

/** A client for the current context of `kubeConfig`. */
export function createKubeClient(kubeConfig: KubeConfig, options: { maxSockets?: number; userAgent?: string } = {}): KubeClient {
  const userAgent = options.userAgent ?? "isobar";
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new KubeApiError("kubeconfig has no current cluster", 0);
  const server = cluster.server.replace(/\/+$/, "");
  const secure = server.startsWith("https:");
  let credentials: Credentials | undefined;
  let pending: Promise<Credentials> | undefined;
  let agentMaterial = "";

  async function loadCredentials(): Promise<Credentials> {
    // client-node re-reads token files and runs exec plugins here; cache briefly, not forever.
    const opts: https.RequestOptions & { headers?: Record<string, string> } = {};
    await kubeConfig.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string> | undefined) };
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
    const material = [opts.ca, opts.cert, opts.key, opts.rejectUnauthorized, opts.servername].map((v) => String(v)).join("|");
    let agent = credentials?.agent;
    if (!agent || material !== agentMaterial) {
      agent?.destroy();
      agentMaterial = material;
      if (cluster!.proxyUrl) agent = opts.agent as http.Agent;
      else if (secure) {
        agent = new https.Agent({
          keepAlive: true,
          maxSockets: options.maxSockets ?? 32,
          ca: opts.ca,
          cert: opts.cert,
          key: opts.key,
          rejectUnauthorized: opts.rejectUnauthorized,
          servername: opts.servername,
        });
      } else agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 32 });
    }
    return { headers, agent: agent!, expires: Date.now() + credentialsTtlMs };
  }

  async function currentCredentials(): Promise<Credentials> {
    if (credentials && credentials.expires > Date.now()) return credentials;
    pending ??= loadCredentials().finally(() => (pending = undefined));
    credentials = await pending;
    return credentials;
  }

  function url(path: string, query?: RequestOptions["query"]): URL {
    const target = new URL(server + path);
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) target.searchParams.set(key, String(value));
    return target;
  }

  async function open(method: string, target: URL, body: string | undefined, extraHeaders: Record<string, string>, signal?: AbortSignal): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
    const { headers, agent } = await currentCredentials();
    const transport = secure ? https : http;
    return new Promise((resolve, reject) => {
      // Aborting through the request's `signal` option makes Bun destroy the TLS socket with an
      // error nobody listens to (an uncaught AbortError): abort by destroying the request instead.
      const req = transport.request(target, { method, agent, headers: { Accept: "application/json", "User-Agent": userAgent, ...headers, ...extraHeaders } });
      const abort = () => req.destroy(new Error("aborted"));
      if (signal?.aborted) abort();
      signal?.addEventListener("abort", abort, { once: true });
      req.on("close", () => signal?.removeEventListener("abort", abort));
      req.on("socket", guardSocket);
      req.on("response", (res) => resolve({ req, res }));
      req.on("error", (error) => reject(transportError(method, target, error)));
      req.end(body);
    });
  }

  /**
   * A pooled keep-alive connection the server closed while idle fails before any answer ("socket
   * hang up"): nothing was processed, so one retry on a fresh connection is safe.
   */
  async function openRetrying(method: string, target: URL, body: string | undefined, headers: Record<string, string>, signal?: AbortSignal) {
    try {
      return await open(method, target, body, headers, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      return await open(method, target, body, headers, signal);
    }
  }

  async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const target = url(path, options.query);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = {};
    if (body !== undefined) {
      headers["Content-Type"] = options.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const { res } = await openRetrying(method, target, body, headers, signal);
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", resolve);
      res.on("error", (error) => reject(transportError(method, target, error)));
      res.on("aborted", () => reject(transportError(method, target, new Error("response aborted"))));
    });
    const text = Buffer.concat(chunks).toString("utf8");
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(method, target, status, text, res.headers["retry-after"]);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async function stream(path: string, options: StreamOptions): Promise<void> {
    const target = url(path, options.query);
    const { req, res } = await openRetrying("GET", target, undefined, {}, options.signal);
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      throw apiError("GET", target, status, Buffer.concat(chunks).toString("utf8"), res.headers["retry-after"]);
    }
    res.setEncoding("utf8");
    let buffered = "";
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const idleMs = options.idleTimeoutMs ?? 300_000;
      let idle = setTimeout(onIdle, idleMs);
      function onIdle(): void {
        finish(transportError("GET", target, new Error(`no data for ${idleMs} ms`)));
        req.destroy();
      }
      function finish(error?: Error): void {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        if (error) reject(error);
        else resolve();
      }
      res.on("data", (chunk: string) => {
        clearTimeout(idle);
        idle = setTimeout(onIdle, idleMs);
        buffered += chunk;
        const end = buffered.lastIndexOf("\n");
        if (end < 0) return;
        const lines = buffered.slice(0, end).split("\n");
        buffered = buffered.slice(end + 1);
        const values: unknown[] = [];
        for (const line of lines) {
          if (!line.trim()) continue;
          try {
            values.push(JSON.parse(line));
          } catch (error) {
            finish(transportError("GET", target, new Error(`watch line is not JSON: ${(error as Error).message}`)));
            req.destroy();
            return;
          }
        }
        if (values.length > 0 && !settled) options.onLines(values);
      });
      res.on("end", () => (buffered.trim() ? finish(transportError("GET", target, new Error("stream ended mid-line"))) : finish()));
      res.on("error", (error) => finish(transportError("GET", target, error)));
      res.on("aborted", () => finish(transportError("GET", target, new Error("stream aborted"))));
      res.on("close", () => finish(res.complete ? undefined : transportError("GET", target, new Error("connection closed mid-stream"))));
      options.signal?.addEventListener("abort", () => finish(transportError("GET", target, new Error("aborted"))), { once: true });
    });
  }

  function close(): void {
    credentials?.agent.destroy();
    credentials = undefined;
  }

  return { server, request, stream, close };
}

const guarded = new WeakSet<object>();

/** A pooled socket's late errors (after its request settled) are answered by the request, not thrown. */
function guardSocket(socket: import("node:net").Socket): void {
  if (guarded.has(socket)) return;
  guarded.add(socket);
  socket.on("error", () => {});
}

function transportError(method: string, target: URL, error: Error): KubeApiError {
  return new KubeApiError(`${method} ${target.pathname}: ${error.message}`, 0, (error as { code?: string }).code);
}

function apiError(method: string, target: URL, statusCode: number, text: string, retryAfter: string | string[] | undefined): KubeApiError {
  let message = text.slice(0, 300);
  let reason: string | undefined;
  try {
    const status = JSON.parse(text) as { message?: string; reason?: string };
    message = status.message ?? message;
    reason = status.reason;
  } catch {
    // Not a Status object (a proxy's HTML page, say): keep the start of the text.
  }
  const seconds = Number(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  return new KubeApiError(`${method} ${target.pathname}: ${statusCode} ${message}`, statusCode, reason, Number.isFinite(seconds) ? seconds : undefined);
}

/** The API path of a collection: `/api/v1/namespaces/ns/services`, `/apis/g/v/httpproxies`. */
export function collectionPath(resource: { group: string; version: string; plural: string }, namespace?: string): string {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${resource.plural}` : `${base}/${resource.plural}`;
}

/** The API path of one object. */
export function objectPath(resource: { group: string; version: string; plural: string }, namespace: string | undefined, name: string): string {
  return `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}`;
}
