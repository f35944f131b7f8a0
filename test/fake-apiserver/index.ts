// A faithful fake Kubernetes API server for tests and benchmarks: HTTPS with its own CA (the agent
// connects through a kubeconfig or a service-account directory, exactly as in a pod) or plain
// HTTP. Tests change objects through this API (every change is a watch event with a new
// resourceVersion), inject faults, switch CRD groups off, compact history, and read the request log.
import http from "node:http";
import https from "node:https";
import { rmSync } from "node:fs";
import type { Socket } from "node:net";
import type { KubeObject } from "../../src/sources/types.ts";
import { type CredentialFiles, makeServingCertificate, writeCredentialFiles } from "./certs.ts";
import { type FaultRule, type HandlerState, type LoggedRequest, createHandler } from "./handler.ts";
import { resourceByKind } from "./resources.ts";
import { type Store, createStore } from "./store.ts";

export type { Fault, FaultRule, LoggedRequest } from "./handler.ts";

export interface FakeApiServerOptions {
  /** HTTPS with a fresh CA (default) or plain HTTP. */
  tls?: boolean;
  /** BOOKMARK period for watches that allow them; 0 disables. Default 1000 ms. */
  bookmarkIntervalMs?: number;
  /** Keep request bodies in the log (default true; benchmarks turn it off). */
  logBodies?: boolean;
  /** Add managedFields to stored objects, as a real server does (default true). */
  managedFields?: boolean;
  token?: string;
}

export interface FakeApiServer extends CredentialFiles {
  url: string;
  token: string;
  store: Store;
  /** Every request served, in order. */
  requests: LoggedRequest[];
  create(object: KubeObject): KubeObject;
  /** Replaces an object (status kept for kinds with a status subresource); conditional if it carries a resourceVersion. */
  update(object: KubeObject): KubeObject;
  /** Writes an object's status, as its controller would through the status subresource. */
  setStatus(kind: string, namespace: string | undefined, name: string, status: unknown): KubeObject;
  delete(kind: string, namespace: string | undefined, name: string): KubeObject;
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(kind: string, namespace?: string): KubeObject[];
  injectFault(rule: FaultRule): void;
  /** A group switched off answers 404 everywhere, as when its CRDs are not installed. */
  setGroupInstalled(group: string, installed: boolean): void;
  /** Serves a kind at these versions only (as a CRD of an older release would), closing its watches. */
  setServedVersions(kind: string, versions: string[]): void;
  /** Drops all history: watches from an older resourceVersion get 410. */
  compact(): void;
  /** Ends every open watch, as an API server restart or watch timeout does. */
  closeWatches(): void;
  openWatchCount(): number;
  /** Sends a BOOKMARK (the current resourceVersion) on every open watch that allows them. */
  sendBookmarks(): void;
  /** Resolves with the first request logged from index `since` on (default: from now) that matches. */
  waitForRequest(predicate: (request: LoggedRequest) => boolean, since?: number): Promise<LoggedRequest>;
  close(): Promise<void>;
}

export async function startFakeApiServer(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
  const tls = options.tls ?? true;
  const token = options.token ?? `token-${Math.random().toString(36).slice(2)}`;
  const store = createStore({ managedFields: options.managedFields });
  const state: HandlerState = {
    store,
    token,
    faults: [],
    log: [],
    logBodies: options.logBodies ?? true,
    uninstalledGroups: new Set(),
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
    openWatches: new Set(),
    servedVersions: new Map(),
  };
  const waiters: { predicate: (request: LoggedRequest) => boolean; resolve: (request: LoggedRequest) => void }[] = [];
  state.onRequest = (entry) => {
    for (const waiter of [...waiters]) {
      if (!waiter.predicate(entry)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(entry);
    }
  };
  const handle = createHandler(state);
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code: 500, reason: "InternalError", message: error.message }));
    });
  };
  const certificate = tls ? await makeServingCertificate() : undefined;
  const server = certificate ? https.createServer({ key: certificate.keyPem, cert: certificate.certPem }, listener) : http.createServer(listener);
  const sockets = new Set<Socket>();
  server.on(tls ? "secureConnection" : "connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  const files = writeCredentialFiles({ url, token, caPem: certificate?.caPem });

  return {
    ...files,
    url,
    token,
    store,
    requests: state.log,
    create: (object) => store.create(resourceByKind(object.kind), object),
    update(object) {
      const resource = resourceByKind(object.kind);
      return store.update(resource, object, { keepStatus: resource.hasStatus });
    },
    setStatus(kind, namespace, name, status) {
      const resource = resourceByKind(kind);
      const current = store.get(resource, namespace, name);
      if (!current) throw new Error(`fake API server: no ${kind} ${namespace}/${name}`);
      return store.update(resource, { ...current, metadata: { ...current.metadata, resourceVersion: undefined }, status }, { statusOnly: true });
    },
    delete: (kind, namespace, name) => store.delete(resourceByKind(kind), namespace, name),
    get: (kind, namespace, name) => store.get(resourceByKind(kind), namespace, name),
    list: (kind, namespace) => store.list(resourceByKind(kind), namespace),
    injectFault: (rule) => void state.faults.push({ ...rule }),
    setGroupInstalled(group, installed) {
      if (installed) state.uninstalledGroups.delete(group);
      else {
        state.uninstalledGroups.add(group);
        for (const watch of [...state.openWatches]) if (watch.group === group) watch.close();
      }
    },
    setServedVersions(kind, versions) {
      state.servedVersions.set(kind, versions);
      const group = resourceByKind(kind).group;
      for (const watch of [...state.openWatches]) if (watch.group === group) watch.close();
    },
    compact: () => store.compact(),
    closeWatches() {
      for (const watch of [...state.openWatches]) watch.close();
    },
    openWatchCount: () => state.openWatches.size,
    sendBookmarks() {
      for (const watch of [...state.openWatches]) watch.bookmark();
    },
    waitForRequest(predicate, since = state.log.length) {
      const found = state.log.slice(since).find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    async close() {
      for (const watch of [...state.openWatches]) watch.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(files.dir, { recursive: true, force: true });
    },
  };
}
