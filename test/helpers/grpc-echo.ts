// Echo servers and calls for tests with a real gRPC client routed by our xDS (grpc-js-xds), and the
// quickstart's gRPC backend (scripts/quickstart.ts): each server answers every Say call with its own
// name, so a reply tells which backend the routes chose, and grpc.health.v1.Health/Check with
// SERVING and its name in the `x-backend` response header.
import * as grpc from "@grpc/grpc-js";

export const ECHO_PATH = "/isobar.test.Echo/Say";
export const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";
/** grpc.health.v1.HealthCheckResponse { status: SERVING }: field 1, varint 1. */
export const HEALTH_SERVING = Buffer.from([0x08, 0x01]);
const identity = (bytes: Buffer) => bytes;

function unary(path: string) {
  return { path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
}

/** A gRPC echo server on 127.0.0.1 (an ephemeral port unless `port` is given) answering as `name`. */
export async function startEchoServer(name: string, options: { port?: number } = {}): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService({ Say: unary(ECHO_PATH) }, { Say: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(name)) });
  server.addService({ Check: unary(HEALTH_CHECK_PATH) }, {
    Check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const metadata = new grpc.Metadata();
      metadata.set("x-backend", name);
      call.sendMetadata(metadata);
      callback(null, HEALTH_SERVING);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
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
