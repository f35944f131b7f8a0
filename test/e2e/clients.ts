// Clients the plain `send` cannot be: a WebSocket upgrade through Envoy (then bytes echoed over the
// upgraded connection), and a gRPC call over HTTP/2 with a real gRPC client.
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { ECHO_PATH } from "../helpers/grpc-echo.ts";

export interface UpgradeResult {
  /** 101 when upgraded, else the status Envoy answered with. */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** What came back over the upgraded connection after sending `message` (undefined when not upgraded). */
  echoed?: string;
}

/** Asks for a WebSocket upgrade on `path`; when upgraded, sends `message` and reads it back. */
export function websocketUpgrade(port: number, path: string, options: { host: string; message?: string; timeoutMs?: number }): Promise<UpgradeResult> {
  const message = options.message ?? "ping";
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port,
      path,
      agent: false,
      headers: { host: options.host, connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": randomBytes(16).toString("base64") },
    });
    const timer = setTimeout(() => req.destroy(new Error(`websocket upgrade on ${options.host}${path} timed out`)), options.timeoutMs ?? 5000);
    req.on("upgrade", (response, socket) => {
      let echoed = "";
      socket.on("data", (chunk: Buffer) => {
        echoed += chunk.toString("utf8");
        if (echoed.length >= message.length) {
          clearTimeout(timer);
          socket.destroy();
          resolve({ status: response.statusCode ?? 0, headers: response.headers, echoed });
        }
      });
      socket.write(message);
    });
    req.on("response", (response) => {
      clearTimeout(timer);
      response.resume();
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
    });
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

const identity = (bytes: Buffer) => bytes;

/**
 * One unary gRPC call (test/helpers/grpc-echo.ts's echo method) through Envoy's plaintext listener
 * over HTTP/2 with `authority` as :authority; resolves to the answering server's name or `error:<CODE>`.
 */
export function grpcCall(port: number, authority: string): Promise<string> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.default_authority": authority });
  return new Promise((resolve) => {
    client.makeUnaryRequest(ECHO_PATH, identity, identity, Buffer.alloc(0), new grpc.Metadata(), { deadline: Date.now() + 5000 }, (error, reply) => {
      client.close();
      resolve(error ? `error:${grpc.status[error.code]}` : String(reply));
    });
  });
}
