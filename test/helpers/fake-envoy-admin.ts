// A fake Envoy admin interface on a unix socket, for `agent envoy shutdown`: records every request
// and answers /stats with the given open-connection counts in turn (the last one repeats).
import { createServer, type Server } from "node:http";

/** A fake Envoy admin on a unix socket: records requests, serves the given connection counts in turn. */
export function fakeEnvoyAdmin(socketPath: string, counts: number[]): Promise<{ server: Server; requests: string[] }> {
  const requests: string[] = [];
  let index = 0;
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    if (request.method === "POST" && request.url === "/healthcheck/fail") return void response.end("OK\n");
    if (request.method === "GET" && request.url?.startsWith("/stats?filter=")) {
      const open = counts[Math.min(index++, counts.length - 1)]!;
      // Admin's own connection (this request) and the stats listener are not traffic.
      return void response.end(`http.admin.downstream_cx_active: 1\nhttp.ingress_http.downstream_cx_active: ${open}\nhttp.ingress_https.downstream_cx_active: ${open}\nhttp.stats.downstream_cx_active: 2\n`);
    }
    response.statusCode = 404;
    response.end();
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve({ server, requests })));
}

