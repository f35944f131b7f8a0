// The fake API server's HTTP surface, as kube-apiserver answers it: list (paginated, selectors),
// watch (newline-delimited JSON, replay from a resourceVersion, bookmarks, 410 when compacted),
// get/create/update/delete, the status subresource (PUT and merge PATCH, 409 on a stale
// resourceVersion), groups that can be switched off (404, a CRD not installed), injected faults,
// bearer-token auth, and a log of every request.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { KubeObject } from "../../src/sources/types.ts";
import { type ResourceType, apiVersionOf, builtInGroups, fieldSelector, labelSelector, mergePatch, resourceByPath, resourceTypes } from "./resources.ts";
import { type Store, type StoredEvent, StoreError } from "./store.ts";

/** A fault the next matching request meets. */
export type Fault =
  | { type: "http"; status: number; retryAfterSeconds?: number }
  /** Watch: after `afterEvents` events, an in-stream ERROR 410 and the end of the stream. */
  | { type: "stream410"; afterEvents?: number }
  /** Watch: after `afterEvents` events, half a line and a reset connection. */
  | { type: "drop"; afterEvents?: number };

export interface FaultRule {
  verb: "list" | "watch" | "get" | "create" | "update" | "patch" | "delete" | "any";
  /** Resource plural (`services`); any when absent. */
  plural?: string;
  fault: Fault;
  /** How many matching requests meet the fault; default 1. */
  times?: number;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  verb: string;
  plural?: string;
  subresource?: string;
  status: number;
  contentType?: string;
  userAgent?: string;
  body?: unknown;
}

export interface HandlerState {
  store: Store;
  token: string;
  faults: FaultRule[];
  log: LoggedRequest[];
  logBodies: boolean;
  uninstalledGroups: Set<string>;
  bookmarkIntervalMs: number;
  openWatches: Set<{ close(): void; bookmark(): void; group: string }>;
  /** Versions served per kind where a test changed them (as when a CRD of another release is installed). */
  servedVersions: Map<string, string[]>;
  onRequest?: (entry: LoggedRequest) => void;
}

/** The versions a type is served at now. */
export function servedVersions(state: Pick<HandlerState, "servedVersions">, type: ResourceType): string[] {
  return state.servedVersions.get(type.kind) ?? type.versions ?? [type.version];
}

interface Route {
  resource: ResourceType;
  /** The version asked for: objects are answered at it. */
  version: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function parseRoute(path: string, served: (type: ResourceType) => string[]): Route | { error: number } {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) [group, version, rest] = ["", parts[1]!, parts.slice(2)];
  else if (parts[0] === "apis" && parts.length >= 4) [group, version, rest] = [parts[1]!, parts[2]!, parts.slice(3)];
  else return { error: 404 };
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = resourceByPath(group, version, rest[0]!, served);
  if (!resource || rest.length > 3) return { error: 404 };
  if (namespace !== undefined && !resource.namespaced) return { error: 404 };
  return { resource, version, namespace, name: rest[1], subresource: rest[2] };
}

function statusBody(code: number, reason: string, message: string) {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

const reasons: Record<number, string> = { 401: "Unauthorized", 404: "NotFound", 409: "Conflict", 410: "Expired", 429: "TooManyRequests", 500: "InternalError" };

export function createHandler(state: HandlerState) {
  const snapshots = new Map<string, KubeObject[]>();
  let snapshotId = 0;

  function takeFault(verb: string, plural: string | undefined): Fault | undefined {
    const index = state.faults.findIndex((rule) => (rule.verb === "any" || rule.verb === verb) && (!rule.plural || rule.plural === plural));
    if (index < 0) return undefined;
    const rule = state.faults[index]!;
    rule.times = (rule.times ?? 1) - 1;
    if (rule.times <= 0) state.faults.splice(index, 1);
    return rule.fault;
  }

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    const query = Object.fromEntries(url.searchParams);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const entry: LoggedRequest = { method: req.method ?? "GET", path: url.pathname, query, verb: "unknown", status: 0, contentType: req.headers["content-type"], userAgent: req.headers["user-agent"] };
    state.log.push(entry);
    function send(status: number, body: unknown): void {
      entry.status = status;
      const json = JSON.stringify(body);
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(json) });
      res.end(json);
      state.onRequest?.(entry);
    }
    function fail(status: number, message: string, reason = reasons[status] ?? "Unknown"): void {
      send(status, statusBody(status, reason, message));
    }

    if (req.headers.authorization !== `Bearer ${state.token}`) return fail(401, "Unauthorized");
    const served = (type: ResourceType) => servedVersions(state, type);
    const discovery = /^\/apis\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
    if (discovery && req.method === "GET") {
      // Discovery of one group version: the resources it serves (404 when none, or the group is off).
      entry.verb = "discovery";
      const [, group, version] = discovery as unknown as [string, string, string];
      const types = state.uninstalledGroups.has(group) ? [] : resourceTypes.filter((t) => t.group === group && served(t).includes(version));
      if (types.length === 0) return fail(404, "the server could not find the requested resource");
      return send(200, { kind: "APIResourceList", apiVersion: "v1", groupVersion: `${group}/${version}`, resources: types.map((t) => ({ name: t.plural, kind: t.kind, namespaced: t.namespaced, verbs: ["get", "list", "watch"] })) });
    }
    const route = parseRoute(url.pathname, served);
    if ("error" in route) return fail(404, "the server could not find the requested resource");
    const { resource, namespace, name, subresource } = route;
    const atVersion = <T extends KubeObject | undefined>(object: T): T => (object && !builtInGroups.has(resource.group) ? { ...object, apiVersion: `${resource.group}/${route.version}` } : object);
    entry.plural = resource.plural;
    entry.subresource = subresource;
    const method = entry.method;
    entry.verb =
      method === "GET" ? (name ? "get" : query.watch === "true" || query.watch === "1" ? "watch" : "list") : method === "POST" ? "create" : method === "PUT" ? "update" : method === "PATCH" ? "patch" : method === "DELETE" ? "delete" : "unknown";
    let body: KubeObject | undefined;
    if (text) {
      try {
        body = JSON.parse(text) as KubeObject;
      } catch {
        return fail(400, "request body is not JSON", "BadRequest");
      }
      if (state.logBodies) entry.body = body;
    }
    if (state.uninstalledGroups.has(resource.group)) return fail(404, "the server could not find the requested resource");
    if (subresource && (subresource !== "status" || !resource.hasStatus)) return fail(404, "the server could not find the requested resource");

    const fault = takeFault(entry.verb, resource.plural);
    if (fault?.type === "http") {
      if (fault.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(fault.retryAfterSeconds));
      return fail(fault.status, fault.status === 410 ? "too old resource version" : `injected ${fault.status}`);
    }

    try {
      switch (entry.verb) {
        case "list":
          return list(resource, namespace, query, send, fail, atVersion);
        case "watch":
          return watch(resource, namespace, query, fault, req, res, entry, atVersion);
        case "get": {
          const object = atVersion(state.store.get(resource, namespace, name!));
          return object ? send(200, object) : fail(404, `${resource.plural} "${name}" not found`);
        }
        case "create": {
          if (!body) return fail(400, "no body", "BadRequest");
          body.metadata = { ...body.metadata, namespace: namespace ?? body.metadata?.namespace };
          return send(201, state.store.create(resource, body));
        }
        case "update": {
          if (!body || body.metadata?.name !== name) return fail(400, "name in body does not match the URL", "BadRequest");
          body.metadata.namespace = namespace;
          // As the real API server: Secrets allow an unconditional update (no resourceVersion); the others here do not.
          if (!body.metadata.resourceVersion && resource.plural !== "secrets") return fail(422, "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update", "Invalid");
          const status = subresource === "status";
          return send(200, state.store.update(resource, body, { statusOnly: status, keepStatus: !status && resource.hasStatus }));
        }
        case "patch": {
          if (req.headers["content-type"] !== "application/merge-patch+json") return fail(415, `unsupported patch type ${req.headers["content-type"]}`, "UnsupportedMediaType");
          const before = state.store.get(resource, namespace, name!);
          if (!before) return fail(404, `${resource.plural} "${name}" not found`);
          const next = mergePatch(before, body) as KubeObject;
          const status = subresource === "status";
          return send(200, state.store.update(resource, next, { statusOnly: status, keepStatus: !status && resource.hasStatus }));
        }
        case "delete":
          return send(200, state.store.delete(resource, namespace, name!));
        default:
          return fail(405, `method ${method} not allowed`, "MethodNotAllowed");
      }
    } catch (error) {
      if (error instanceof StoreError) return fail(error.statusCode, error.message, error.reason);
      return fail(400, (error as Error).message, "BadRequest");
    }
  };

  function list(resource: ResourceType, namespace: string | undefined, query: Record<string, string>, send: (s: number, b: unknown) => void, fail: (s: number, m: string, r?: string) => void, atVersion: (o: KubeObject) => KubeObject): void {
    const limit = Number(query.limit ?? 0);
    let items: KubeObject[];
    let offset = 0;
    let listVersion: number;
    let id: string;
    if (query.continue) {
      let token: { rv: number; offset: number; id: string };
      try {
        token = JSON.parse(Buffer.from(query.continue, "base64url").toString("utf8"));
      } catch {
        return fail(400, "continue key is not valid", "BadRequest");
      }
      const snapshot = snapshots.get(token.id);
      if (!snapshot || token.rv < state.store.compactedAt()) {
        return fail(410, "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.", "Expired");
      }
      [items, offset, listVersion, id] = [snapshot, token.offset, token.rv, token.id];
    } else {
      const fields = fieldSelector(resource, query.fieldSelector ?? null);
      const labels = labelSelector(query.labelSelector ?? null);
      items = state.store.list(resource, namespace).filter((o) => fields(o) && labels(o));
      listVersion = state.store.resourceVersion();
      id = String(++snapshotId);
    }
    const end = limit > 0 ? Math.min(items.length, offset + limit) : items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(listVersion) };
    if (end < items.length) {
      snapshots.set(id, items);
      metadata.continue = Buffer.from(JSON.stringify({ rv: listVersion, offset: end, id })).toString("base64url");
      metadata.remainingItemCount = items.length - end;
    } else snapshots.delete(id);
    const page = items.slice(offset, end).map(atVersion);
    const apiVersion = page[0]?.apiVersion ?? apiVersionOf(resource);
    // Built-in list items carry no apiVersion/kind; CRD items (unstructured) do.
    const shaped = builtInGroups.has(resource.group) ? page.map(({ apiVersion: _a, kind: _k, ...rest }) => rest) : page;
    send(200, { kind: `${resource.kind}List`, apiVersion, metadata, items: shaped });
  }

  function watch(resource: ResourceType, namespace: string | undefined, query: Record<string, string>, fault: Fault | undefined, req: IncomingMessage, res: ServerResponse, entry: LoggedRequest, atVersion: (o: KubeObject) => KubeObject): void {
    const fields = fieldSelector(resource, query.fieldSelector ?? null);
    const labels = labelSelector(query.labelSelector ?? null);
    const matches = (event: StoredEvent) =>
      event.resource === resource && (!namespace || event.object.metadata.namespace === namespace) && fields(event.object) && labels(event.object);
    const from = query.resourceVersion ?? "";
    let backlog: { type: string; object: KubeObject }[];
    let expired: string | undefined;
    if (from === "" || from === "0") {
      backlog = state.store.list(resource, namespace).filter((o) => fields(o) && labels(o)).map((object) => ({ type: "ADDED", object }));
    } else {
      try {
        backlog = state.store.since(Number(from)).filter(matches);
      } catch (error) {
        if (!(error instanceof StoreError)) throw error;
        expired = error.message;
        backlog = [];
      }
    }
    entry.status = 200;
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    state.onRequest?.(entry);
    let sent = 0;
    let closed = false;
    const apiVersion = apiVersionOf(resource);
    const bookmarksAllowed = query.allowWatchBookmarks === "true";
    const handle = { group: resource.group, close, bookmark };
    function bookmark(): void {
      if (bookmarksAllowed) write("BOOKMARK", { kind: resource.kind, apiVersion, metadata: { resourceVersion: String(state.store.resourceVersion()) } });
    }
    function close(): void {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(bookmarks);
      clearTimeout(timeout);
      state.openWatches.delete(handle);
      res.end();
    }
    /** Trips the injected fault once its event count is reached; true if the stream is over. */
    function tripFault(): boolean {
      if (closed) return true;
      if (fault?.type === "drop" && sent >= (fault.afterEvents ?? 0)) {
        closed = true;
        unsubscribe();
        clearInterval(bookmarks);
        clearTimeout(timeout);
        state.openWatches.delete(handle);
        res.write('{"type":"ADDED","object":{"kind":');
        setTimeout(() => res.socket?.destroy(), 5);
        return true;
      }
      if (fault?.type === "stream410" && sent >= (fault.afterEvents ?? 0)) {
        res.write(JSON.stringify({ type: "ERROR", object: statusBody(410, "Expired", `too old resource version: ${from} (${state.store.compactedAt()})`) }) + "\n");
        close();
        return true;
      }
      return false;
    }
    function write(type: string, object: unknown): void {
      if (tripFault()) return;
      res.write(JSON.stringify({ type, object: type === "BOOKMARK" ? object : atVersion(object as KubeObject) }) + "\n");
      sent++;
      tripFault();
    }
    const unsubscribe = state.store.subscribe((event) => {
      if (matches(event)) write(event.type, event.object);
    });
    const bookmarks = bookmarksAllowed && state.bookmarkIntervalMs > 0 ? setInterval(bookmark, state.bookmarkIntervalMs) : undefined;
    const timeout = query.timeoutSeconds ? setTimeout(close, Number(query.timeoutSeconds) * 1000) : undefined;
    state.openWatches.add(handle);
    req.socket.on("close", close);
    if (expired) {
      res.write(JSON.stringify({ type: "ERROR", object: statusBody(410, "Expired", expired) }) + "\n");
      close();
      return;
    }
    for (const event of backlog) write(event.type, event.object);
    tripFault();
  }
}
