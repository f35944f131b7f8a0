// Echo servers and calls for tests with a real gRPC client routed by our xDS (grpc-js-xds): each
// server answers every call with its own name, so a reply tells which backend the routes chose.
import * as grpc from "@grpc/grpc-js";

export const ECHO_PATH = "/isobar.test.Echo/Say";
const identity = (bytes: Buffer) => bytes;

/** A gRPC echo server on 127.0.0.1 (ephemeral port) that answers every call with `name`. */
export async function startEchoServer(name: string): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  const method = { path: ECHO_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
  server.addService({ Say: method }, { Say: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(name)) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { port, server };
}

/** One RPC (with `x-target: target` when given); resolves to the name that answered or `error:<CODE>`. */
export function say(client: grpc.Client, target?: string): Promise<string> {
  const metadata = new grpc.Metadata();
  if (target) metadata.set("x-target", target);
  return new Promise((resolve) => {
    client.makeUnaryRequest(ECHO_PATH, identity, identity, Buffer.alloc(0), metadata, { deadline: Date.now() + 2000 }, (error, reply) => {
      resolve(error ? `error:${grpc.status[error.code]}` : String(reply));
    });
  });
}

/**
 * Repeats RPCs until one answers `want`: the client applies a new snapshot asynchronously and tells
 * nobody, so the first RPC that lands on the new config is the event. Gives up after 200 tries.
 */
export async function sayUntil(client: grpc.Client, options: { want: string; target?: string }): Promise<string> {
  let got = "";
  for (let attempt = 0; attempt < 200; attempt++) {
    got = await say(client, options.target);
    if (got === options.want) return got;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return got;
}
