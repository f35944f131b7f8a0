// The benchmark's ceiling: a trivial grpc-js server that writes pre-encoded bytes to every open stream,
// with no xDS logic at all. On a stream's first message it writes the "storm" messages; on the
// "change" command it writes the "change" messages to every stream.
//   bun bench/raw-server.ts '<json {storm: sizes[], change: sizes[]}>'
import * as grpc from "@grpc/grpc-js";
import { emit, rawPushPath, serveCommands } from "./child.ts";

const { storm, change } = JSON.parse(process.argv[2] ?? "{}") as { storm: number[]; change: number[] };
const stormMessages = storm.map((size) => Buffer.alloc(size, 7));
const changeMessages = change.map((size) => Buffer.alloc(size, 9));
const streams = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
const identity = (bytes: Buffer) => bytes;

const server = new grpc.Server();
server.addService(
  {
    Push: {
      path: rawPushPath,
      requestStream: true,
      responseStream: true,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  },
  {
    Push: (stream: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      let first = true;
      stream.on("data", () => {
        if (!first) return;
        first = false;
        streams.add(stream);
        for (const message of stormMessages) stream.write(message);
      });
      stream.on("error", () => streams.delete(stream));
      stream.on("cancelled", () => streams.delete(stream));
      stream.on("end", () => {
        streams.delete(stream);
        stream.end();
      });
    },
  },
);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
);

serveCommands((command) => {
  switch (command.cmd) {
    case "change": {
      const startedAt = performance.timeOrigin + performance.now();
      for (const stream of streams) for (const message of changeMessages) stream.write(message);
      return { event: "changed", startedAt };
    }
    case "memory": {
      const before = process.memoryUsage();
      Bun.gc(true);
      const cpu = process.cpuUsage();
      return { event: "memory", ...before, rssAfterGc: process.memoryUsage().rss, cpuMs: (cpu.user + cpu.system) / 1000, streams: streams.size };
    }
    case "exit":
      server.forceShutdown();
      process.exit(0);
  }
  return { event: "error", message: `unknown command ${String(command.cmd)}` };
});
emit({ event: "ready", port });
