// HTTP echo backends for the real-Envoy tests: each answers every request with its own name and what
// it received (method, path, host, headers, body, HTTP version, whether over TLS) as JSON, and records
// the requests so a test can see copies (mirrors) and retries. Behaviour per request is steerable by
// the test: `fail` the next N requests with a status, `delayMs` every answer, or answer one path with
// a fixed status (a failing health check). Every backend also accepts a WebSocket upgrade and then
// echoes the bytes it receives. Protocols: HTTP/1.1 (default), h2c (HTTP/2 in cleartext), TLS
// (HTTP/1.1 over TLS) and h2 (HTTP/2 over TLS, HTTP/1.1 also accepted).
import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createH2cServer, createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import { connect as connectNet, createServer as createNetServer } from "node:net";
import type { Duplex } from "node:stream";
import { connect as connectTls } from "node:tls";

export interface EchoReply {
  backend: string;
  method: string;
  path: string;
  host: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** "1.1" or "2.0". */
  httpVersion: string;
  /** The request arrived over TLS. */
  tls: boolean;
  /** The SNI the client sent (TLS only; false or null when none). */
  sni?: string | false | null;
}

export type EchoProtocol = "http1" | "h2c" | "tls" | "h2";

export interface EchoOptions {
  port?: number;
  protocol?: EchoProtocol;
  /** The server certificate and key (PEM) for `tls` and `h2`. */
  certificate?: { certificatePem: string; privateKeyPem: string };
}

export interface EchoBackend {
  name: string;
  port: number;
  server: Server | import("node:http2").Http2Server | import("node:http2").Http2SecureServer | import("node:https").Server;
  /** Every request this backend received, in order (health checks included). */
  received: EchoReply[];
  /** Answer the next `count` requests with `status` instead of echoing. */
  failNext(count: number, status?: number): void;
  /** Delay every answer by this many milliseconds (0 to stop). */
  delay(ms: number): void;
  /** Answer every request for exactly `path` with `status` and `headers` (status undefined: echo it again). */
  answerPath(path: string, status: number | undefined, headers?: Record<string, string>): void;
  close(): Promise<void>;
}

const websocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** An echo backend on 127.0.0.1 (ephemeral port unless `port` is given), HTTP/1.1 unless `protocol` says otherwise. */
export function startEcho(name: string, options: EchoOptions = {}): Promise<EchoBackend> {
  const protocol = options.protocol ?? "http1";
  const received: EchoReply[] = [];
  const pathStatus = new Map<string, { status: number; headers: Record<string, string> }>();
  let failures = 0;
  let failStatus = 503;
  let delayMs = 0;
  const handle = (request: IncomingMessage | Http2ServerRequest, response: ServerResponse | Http2ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const host = request.headers.host ?? String(request.headers[":authority"] ?? "");
      const tls = "encrypted" in request.socket && request.socket.encrypted === true;
      const sni = tls ? (request.socket as import("node:tls").TLSSocket).servername : undefined;
      const reply: EchoReply = { backend: name, method: request.method ?? "", path: request.url ?? "", host, headers: request.headers, body: Buffer.concat(chunks).toString("utf8"), httpVersion: request.httpVersion, tls, sni };
      received.push(reply);
      const answer = () => {
        const fixed = pathStatus.get(reply.path);
        if (failures > 0 || fixed !== undefined) {
          const status = fixed?.status ?? failStatus;
          if (fixed === undefined) failures--;
          response.writeHead(status, { "content-type": "text/plain", "x-backend": name, ...fixed?.headers });
          return void response.end(`${name} answering ${status} on purpose\n`);
        }
        // x-powered-by as many web frameworks send it: something for response header rules to remove.
        // `x-echo-set-cookie: <cookie>` comes back as Set-Cookie, for cookie rewrite rules.
        const setCookie = request.headers["x-echo-set-cookie"];
        const cookies = typeof setCookie === "string" ? { "set-cookie": setCookie } : {};
        response.writeHead(200, { "content-type": "application/json", "x-backend": name, "x-powered-by": "isobar-echo", ...cookies });
        response.end(`${JSON.stringify(reply)}\n`);
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  };
  const tlsOptions = () => {
    if (!options.certificate) throw new Error(`echo backend ${name}: protocol ${protocol} needs a certificate`);
    return { cert: options.certificate.certificatePem, key: options.certificate.privateKeyPem };
  };
  const server =
    protocol === "h2c"
      ? createH2cServer(handle)
      : protocol === "h2"
        ? createSecureServer({ ...tlsOptions(), allowHTTP1: true }, handle)
        : protocol === "tls"
          ? createHttpsServer(tlsOptions(), handle)
          : createServer(handle);
  // Envoy keeps upstream connections open: close() ends them so the server really stops.
  const sockets = new Set<Duplex>();
  server.on(protocol === "tls" || protocol === "h2" ? "secureConnection" : "connection", (socket: Duplex) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const key = request.headers["sec-websocket-key"];
    if (request.headers.upgrade?.toLowerCase() !== "websocket" || typeof key !== "string") return void socket.destroy();
    const accept = createHash("sha1").update(key + websocketGuid).digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Backend: ${name}\r\n\r\n`);
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({
        name,
        port,
        server,
        received,
        failNext(count, status = 503) {
          failures = count;
          failStatus = status;
        },
        delay(ms) {
          delayMs = ms;
        },
        answerPath(path, status, headers = {}) {
          if (status === undefined) pathStatus.delete(path);
          else pathStatus.set(path, { status, headers });
        },
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}

/** A raw TCP echo backend on 127.0.0.1: every chunk it reads it writes back prefixed with `<name>:`. */
export interface TcpEcho {
  name: string;
  port: number;
  /** How many connections it accepted. */
  connections(): number;
  close(): Promise<void>;
}

export function startTcpEcho(name: string): Promise<TcpEcho> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<import("node:net").Socket>();
    let accepted = 0;
    const server = createNetServer((socket) => {
      accepted++;
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
      socket.on("data", (chunk) => socket.write(`${name}:${chunk.toString("utf8")}`));
    });
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve({
        name,
        port: (server.address() as { port: number }).port,
        connections: () => accepted,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            for (const socket of sockets) socket.destroy();
          }),
      });
    });
  });
}

/**
 * Sends `text` over a fresh TCP connection to 127.0.0.1:`port` and resolves with the first answer (or
 * the error); with `tls`, over TLS with that SNI name, the server's certificate checked against `ca`.
 */
export function tcpExchange(port: number, text: string, tls?: { servername: string; ca: string }): Promise<{ answer?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket: import("node:net").Socket = tls
      ? connectTls({ host: "127.0.0.1", port, servername: tls.servername, ca: tls.ca, rejectUnauthorized: true }, () => socket.write(text))
      : connectNet(port, "127.0.0.1", () => socket.write(text));
    socket.setTimeout(5000, () => {
      socket.destroy();
      resolve({ error: "no answer" });
    });
    socket.once("data", (chunk) => {
      socket.destroy();
      resolve({ answer: chunk.toString("utf8") });
    });
    socket.once("error", (error) => resolve({ error: error.message }));
    socket.once("close", () => resolve({ error: "closed without an answer" }));
  });
}
