// HTTP echo backends for the real-Envoy tests: each answers every request with its own name and what
// it received (method, path, host, headers, body) as JSON, and records the requests so a test can
// see copies (mirrors) and retries. Behaviour per request is steerable by the test: `fail` the next
// N requests with a status, or `delayMs` every answer.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";

export interface EchoReply {
  backend: string;
  method: string;
  path: string;
  host: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface EchoBackend {
  name: string;
  port: number;
  server: Server;
  /** Every request this backend received, in order. */
  received: EchoReply[];
  /** Answer the next `count` requests with `status` instead of echoing. */
  failNext(count: number, status?: number): void;
  /** Delay every answer by this many milliseconds (0 to stop). */
  delay(ms: number): void;
  close(): Promise<void>;
}

/** An HTTP/1.1 echo backend on 127.0.0.1 (ephemeral port unless `port` is given). */
export function startEcho(name: string, options: { port?: number } = {}): Promise<EchoBackend> {
  const received: EchoReply[] = [];
  let failures = 0;
  let failStatus = 503;
  let delayMs = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const reply: EchoReply = { backend: name, method: request.method ?? "", path: request.url ?? "", host: request.headers.host ?? "", headers: request.headers, body: Buffer.concat(chunks).toString("utf8") };
      received.push(reply);
      const answer = () => {
        if (failures > 0) {
          failures--;
          response.writeHead(failStatus, { "content-type": "text/plain", "x-backend": name });
          return void response.end(`${name} failing on purpose\n`);
        }
        response.writeHead(200, { "content-type": "application/json", "x-backend": name });
        response.end(`${JSON.stringify(reply)}\n`);
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
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
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}
