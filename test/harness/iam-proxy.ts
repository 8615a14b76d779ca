// An IAM-enforcing proxy in front of the Pub/Sub emulator, which itself checks no permission at all.
// Clients talk gRPC over cleartext HTTP/2 to it (point PUBSUB_EMULATOR_HOST or apiEndpoint at
// proxy.host); for every call it reads the method from `:path` and the resource from the request
// message, and
//   - answers PERMISSION_DENIED (gRPC status 7) when the configured grants do not hold the permission
//     the Pub/Sub access-control table requires for that method on that resource (a method not in the
//     table is denied: fail closed);
//   - answers google.iam.v1.IAMPolicy/TestIamPermissions itself from the grants, as IAM would (the
//     emulator answers it UNIMPLEMENTED);
//   - forwards everything else to the emulator, headers, data and trailers, streams included.
// Grants are "resource -> permissions"; a grant on projects/P covers every topic and subscription of P.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";

export interface IamGrant {
  /** "projects/P", "projects/P/topics/T" or "projects/P/subscriptions/S". */
  resource: string;
  permissions: readonly string[];
}

export interface IamProxyCall {
  method: string;
  /** The checks made: permission on resource, and whether the grants hold it. */
  checks: { permission: string; resource: string; held: boolean }[];
  outcome: "forwarded" | "denied" | "answered";
}

export interface IamProxy {
  host: string;
  port: number;
  /** Every call seen, in order. */
  readonly calls: readonly IamProxyCall[];
  setGrants(grants: readonly IamGrant[]): void;
  close(): Promise<void>;
}

const GRPC_OK = "0";
const GRPC_PERMISSION_DENIED = "7";
const GRPC_UNAVAILABLE = "14";
const TEST_IAM_PERMISSIONS = "/google.iam.v1.IAMPolicy/TestIamPermissions";

type ResourceOf = (fields: Map<number, Buffer[]>) => string | undefined;
const field = (n: number): ResourceOf => (fields) => fields.get(n)?.[0]?.toString("utf8");
const projectOf = (n: number): ResourceOf => (fields) => /^projects\/[^/]+/.exec(field(n)(fields) ?? "")?.[0];

/**
 * Method -> the permissions it needs and where (https://cloud.google.com/pubsub/docs/access-control,
 * "Required permissions"). The resource is a string field of the request message, by field number.
 */
const METHOD_RULES: Record<string, { permission: string; resource: ResourceOf }[]> = {
  "/google.pubsub.v1.Publisher/CreateTopic": [{ permission: "pubsub.topics.create", resource: projectOf(1) }],
  "/google.pubsub.v1.Publisher/GetTopic": [{ permission: "pubsub.topics.get", resource: field(1) }],
  "/google.pubsub.v1.Publisher/Publish": [{ permission: "pubsub.topics.publish", resource: field(1) }],
  "/google.pubsub.v1.Publisher/DeleteTopic": [{ permission: "pubsub.topics.delete", resource: field(1) }],
  "/google.pubsub.v1.Publisher/ListTopics": [{ permission: "pubsub.topics.list", resource: field(1) }],
  "/google.pubsub.v1.Publisher/ListTopicSubscriptions": [{ permission: "pubsub.topics.get", resource: field(1) }],
  "/google.pubsub.v1.Subscriber/CreateSubscription": [
    { permission: "pubsub.subscriptions.create", resource: projectOf(1) },
    { permission: "pubsub.topics.attachSubscription", resource: field(2) },
  ],
  "/google.pubsub.v1.Subscriber/GetSubscription": [{ permission: "pubsub.subscriptions.get", resource: field(1) }],
  "/google.pubsub.v1.Subscriber/DeleteSubscription": [{ permission: "pubsub.subscriptions.delete", resource: field(1) }],
  "/google.pubsub.v1.Subscriber/Pull": [{ permission: "pubsub.subscriptions.consume", resource: field(1) }],
  "/google.pubsub.v1.Subscriber/StreamingPull": [{ permission: "pubsub.subscriptions.consume", resource: field(1) }],
  "/google.pubsub.v1.Subscriber/Acknowledge": [{ permission: "pubsub.subscriptions.consume", resource: field(1) }],
  "/google.pubsub.v1.Subscriber/ModifyAckDeadline": [{ permission: "pubsub.subscriptions.consume", resource: field(1) }],
};

// --- minimal protobuf and gRPC framing (top-level length-delimited fields are all we read) ---

function readVarint(buf: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new Error("truncated varint");
}

/** Top-level length-delimited fields of a protobuf message, by field number. */
export function lengthDelimitedFields(message: Buffer): Map<number, Buffer[]> {
  const fields = new Map<number, Buffer[]>();
  let at = 0;
  while (at < message.length) {
    const [tag, afterTag] = readVarint(message, at);
    const fieldNumber = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (wireType === 0) at = readVarint(message, afterTag)[1];
    else if (wireType === 1) at = afterTag + 8;
    else if (wireType === 5) at = afterTag + 4;
    else if (wireType === 2) {
      const [length, start] = readVarint(message, afterTag);
      const list = fields.get(fieldNumber) ?? [];
      list.push(message.subarray(start, start + length));
      fields.set(fieldNumber, list);
      at = start + length;
    } else throw new Error(`unsupported protobuf wire type ${wireType}`);
  }
  return fields;
}

function varint(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  while (v >= 0x80) {
    bytes.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
}

/** One gRPC length-prefixed message (uncompressed). */
function grpcFrame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** The first complete gRPC message in `data`, or undefined while incomplete. */
function firstMessage(data: Buffer): { compressed: boolean; message: Buffer } | undefined {
  if (data.length < 5) return undefined;
  const length = data.readUInt32BE(1);
  if (data.length < 5 + length) return undefined;
  return { compressed: data[0] === 1, message: data.subarray(5, 5 + length) };
}

/** TestIamPermissionsResponse { repeated string permissions = 1; } */
function testIamPermissionsResponse(permissions: readonly string[]): Buffer {
  return Buffer.concat(permissions.flatMap((p) => [Buffer.from([0x0a]), varint(Buffer.byteLength(p)), Buffer.from(p)]));
}

/** grpc-message is percent-encoded only outside printable ASCII (and "%" itself), per the gRPC HTTP/2 spec. */
function grpcMessage(message: string): string {
  return Array.from(Buffer.from(message, "utf8"))
    .map((b) => (b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`))
    .join("");
}

// --- the proxy ---

export function holds(grants: readonly IamGrant[], permission: string, resource: string): boolean {
  return grants.some((g) => (resource === g.resource || resource.startsWith(`${g.resource}/`)) && g.permissions.includes(permission));
}

const HOP_HEADERS = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"]);

export async function startIamProxy(options: { target: string; grants: readonly IamGrant[] }): Promise<IamProxy> {
  let grants = [...options.grants];
  const calls: IamProxyCall[] = [];
  let upstream: http2.ClientHttp2Session | undefined;
  const upstreamSession = () => {
    if (upstream === undefined || upstream.closed || upstream.destroyed) {
      upstream = http2.connect(`http://${options.target}`);
      // A broken session fails its open streams (answered UNAVAILABLE below); the next call reconnects.
      upstream.on("error", () => upstream?.destroy());
    }
    return upstream;
  };

  const trailersOnly = (stream: http2.ServerHttp2Stream, status: string, message: string) => {
    if (stream.destroyed || stream.closed) return;
    if (stream.headersSent) {
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": status, "grpc-message": grpcMessage(message) }, { endStream: true });
  };

  function forward(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, path: string, buffered: Buffer, ended: boolean) {
    const out: http2.OutgoingHttpHeaders = { ":method": "POST", ":path": path };
    for (const [k, v] of Object.entries(headers)) if (!k.startsWith(":") && !HOP_HEADERS.has(k) && v !== undefined) out[k] = v;
    let req: http2.ClientHttp2Stream;
    try {
      req = upstreamSession().request(out, { endStream: false });
    } catch (err) {
      trailersOnly(stream, GRPC_UNAVAILABLE, `iam-proxy: upstream ${options.target}: ${String(err)}`);
      return;
    }
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on("response", (h) => {
      const response: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(h)) if ((k === ":status" || !k.startsWith(":")) && v !== undefined) response[k] = v;
      if (h["grpc-status"] !== undefined) {
        // Trailers-only response (an error): headers and end of stream at once.
        if (!stream.destroyed) stream.respond(response, { endStream: true });
        req.close();
        return;
      }
      if (!stream.destroyed) stream.respond(response, { waitForTrailers: true });
    });
    req.on("data", (chunk: Buffer) => {
      if (!stream.destroyed) stream.write(chunk);
    });
    req.on("trailers", (t) => (trailers = t));
    req.on("end", () => {
      if (!stream.destroyed && stream.headersSent && !stream.writableEnded) stream.end();
    });
    req.on("error", (err) => trailersOnly(stream, GRPC_UNAVAILABLE, `iam-proxy: upstream ${options.target}: ${err.message}`));
    stream.on("wantTrailers", () => {
      const out: http2.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(trailers ?? { "grpc-status": GRPC_OK })) if (!k.startsWith(":") && v !== undefined) out[k] = v;
      stream.sendTrailers(out);
    });
    stream.on("close", () => {
      if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
    });
    if (buffered.length > 0) req.write(buffered);
    if (ended) req.end();
    else {
      stream.on("data", (chunk: Buffer) => req.write(chunk));
      stream.on("end", () => req.end());
    }
  }

  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    const path = String(headers[":path"] ?? "");
    let buffered = Buffer.alloc(0);
    let decided = false;

    const decide = (ended: boolean) => {
      if (decided) return;
      const first = firstMessage(buffered);
      if (first === undefined && !ended) return;
      decided = true;
      stream.removeAllListeners("data");
      stream.removeAllListeners("end");
      if (first === undefined || first.compressed) {
        calls.push({ method: path, checks: [], outcome: "denied" });
        trailersOnly(stream, GRPC_PERMISSION_DENIED, `iam-proxy: cannot read the request of ${path}`);
        return;
      }
      const fields = lengthDelimitedFields(first.message);
      if (path === TEST_IAM_PERMISSIONS) {
        const resource = field(1)(fields) ?? "";
        const asked = (fields.get(2) ?? []).map((b) => b.toString("utf8"));
        const checks = asked.map((permission) => ({ permission, resource, held: holds(grants, permission, resource) }));
        calls.push({ method: path, checks, outcome: "answered" });
        stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": GRPC_OK }));
        stream.end(grpcFrame(testIamPermissionsResponse(checks.filter((c) => c.held).map((c) => c.permission))));
        return;
      }
      const rules = METHOD_RULES[path];
      if (rules === undefined) {
        calls.push({ method: path, checks: [], outcome: "denied" });
        trailersOnly(stream, GRPC_PERMISSION_DENIED, `iam-proxy: ${path} is not in the proxy's permission table`);
        return;
      }
      const checks = rules.map((rule) => {
        const resource = rule.resource(fields) ?? "";
        return { permission: rule.permission, resource, held: resource !== "" && holds(grants, rule.permission, resource) };
      });
      const denied = checks.filter((c) => !c.held);
      if (denied.length > 0) {
        calls.push({ method: path, checks, outcome: "denied" });
        trailersOnly(stream, GRPC_PERMISSION_DENIED, `User not authorized to perform this action: ${denied.map((c) => `${c.permission} on ${c.resource}`).join(", ")}`);
        return;
      }
      calls.push({ method: path, checks, outcome: "forwarded" });
      forward(stream, headers, path, buffered, ended);
    };

    stream.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      decide(false);
    });
    stream.on("end", () => decide(true));
    stream.on("error", () => stream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    host: `127.0.0.1:${port}`,
    port,
    calls,
    setGrants(next) {
      grants = [...next];
    },
    async close() {
      upstream?.destroy();
      // Open client sessions (gRPC channels) would keep close() waiting: end them.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      });
    },
  };
}
