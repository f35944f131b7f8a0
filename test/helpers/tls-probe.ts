// A raw TLS handshake against an xDS server, to see what the server really enforces. In TLS 1.3 the
// client finishes its side before the server has judged the client certificate, so "accepted" means
// the server went on to speak HTTP/2 (its SETTINGS frame arrived); "refused" means it closed or
// alerted without a byte of HTTP/2.
import { connect } from "node:tls";

export interface ProbeResult {
  accepted: boolean;
  /** The server certificate's serial (upper-case hex, no leading zeros), when the handshake got that far. */
  serverSerial?: string;
  protocol?: string;
  error?: string;
}

export function probeTls(port: number, options: { ca: string; cert?: string; key?: string; maxVersion?: "TLSv1.2" | "TLSv1.3"; servername?: string }): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({
      host: "127.0.0.1",
      port,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      servername: options.servername ?? "isobar",
      ALPNProtocols: ["h2"],
      maxVersion: options.maxVersion,
    });
    const result: ProbeResult = { accepted: false };
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(result);
    };
    socket.on("secureConnect", () => {
      result.protocol = socket.getProtocol() ?? undefined;
      result.serverSerial = normalizeSerial(socket.getPeerCertificate().serialNumber ?? "");
    });
    socket.on("data", () => {
      result.accepted = true;
      finish();
    });
    socket.on("error", (error: Error) => {
      result.error = error.message;
      finish();
    });
    socket.on("close", finish);
  });
}

/** Serial numbers as hex without leading zeros, upper case: how node:tls prints them. */
export function normalizeSerial(serial: string): string {
  return serial.replace(/:/g, "").replace(/^0+/, "").toUpperCase();
}
