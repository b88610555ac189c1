import { createServer, type Socket } from 'node:net';

/** One request as the fake server parsed it. */
export interface FakeRequest {
  streamId: number;
  code: number;
  /** the 24-byte header */
  header: Buffer;
  payload: Buffer;
}

export interface Replier {
  /** one response frame for the request's stream (or another stream id) */
  send(status: number, body?: Uint8Array, streamId?: number): void;
  /** a kXR_attn carrying the (late) answer to `streamId`, after a kXR_waitresp */
  asyncAnswer(streamId: number, status: number, body?: Uint8Array): void;
  /** bytes as they are, for malformed answers */
  raw(bytes: Uint8Array): void;
  close(): void;
}

/** Answers a request (returns true) or leaves it to the next handler; answer later with a timer, never await. */
export type Handler = (req: FakeRequest, reply: Replier) => boolean | undefined;

export interface FakeOptions {
  /** the security string sent after login ("&P=unix"), none by default */
  security?: string;
  /** kXR_protocol response flags (default: a data server without TLS) */
  flags?: number;
}

export interface FakeServer {
  url: string;
  port: number;
  /** every request after the handshake, in arrival order */
  requests: FakeRequest[];
  /** open connections */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A scripted XRootD server for protocol edge cases the real one does not produce on demand (kXR_wait,
 * kXR_waitresp + kXR_attn, answers split oddly over kXR_oksofar, stalls, malformed frames). It does the
 * handshake, kXR_protocol and kXR_login itself and hands every other request to `handler`, which
 * answers it (returning true) or leaves it to the next handler; `serveFile` answers file requests.
 */
export async function startFakeXRootD(handlers: Handler[], options: FakeOptions = {}): Promise<FakeServer> {
  const requests: FakeRequest[] = [];
  const sockets = new Set<Socket>();
  let logins = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let shaken = false;
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!shaken) {
        if (buf.length < 20) return;
        shaken = true;
        buf = buf.subarray(20);
        const hs = Buffer.alloc(16);
        hs.writeInt32BE(8, 4);
        hs.writeInt32BE(0x500, 8);
        hs.writeInt32BE(1, 12);
        socket.write(hs);
      }
      while (buf.length >= 24 && buf.length >= 24 + buf.readInt32BE(20)) {
        const dlen = buf.readInt32BE(20);
        const req = {
          streamId: buf.readUInt16BE(0),
          code: buf.readUInt16BE(2),
          header: Buffer.from(buf.subarray(0, 24)),
          payload: Buffer.from(buf.subarray(24, 24 + dlen)),
        };
        buf = buf.subarray(24 + dlen);
        const reply = replier(socket, req.streamId);
        if (req.code === 3006) {
          const b = Buffer.alloc(8);
          b.writeInt32BE(0x500, 0);
          b.writeUInt32BE(options.flags ?? 1, 4);
          reply.send(0, b);
        } else if (req.code === 3007) {
          // session ids 1, 2, 3... in every byte, so a test can tell which session a kXR_endsess names
          reply.send(0, Buffer.concat([Buffer.alloc(16, ++logins), Buffer.from(options.security ?? '')]));
        } else {
          requests.push(req);
          let done = false;
          for (const h of handlers) {
            if (h(req, reply)) {
              done = true;
              break;
            }
          }
          if (!done) reply.send(4003, errorBody(3013, `request ${req.code} not handled`));
        }
      }
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return {
    url: `root://127.0.0.1:${port}`,
    port,
    requests,
    get connections() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

function frame(streamId: number, status: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(streamId, 0);
  h.writeUInt16BE(status, 2);
  h.writeInt32BE(body.length, 4);
  return Buffer.concat([h, body]);
}

function replier(socket: Socket, streamId: number): Replier {
  return {
    send: (status, body, id = streamId) => socket.write(frame(id, status, body)),
    asyncAnswer: (id, status, body) => {
      const inner = frame(id, status, body);
      const attn = Buffer.concat([Buffer.from([0, 0, 0x13, 0x90, 0, 0, 0, 0]), inner]);
      socket.write(frame(0, 4001, attn));
    },
    raw: (bytes) => socket.write(bytes),
    close: () => socket.destroy(),
  };
}

export function errorBody(code: number, message: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(code, 0);
  return Buffer.concat([b, Buffer.from(`${message}\0`)]);
}

export function waitBody(seconds: number, message = ''): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(seconds, 0);
  return Buffer.concat([b, Buffer.from(message)]);
}

export function redirectBody(host: string, port: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(port, 0);
  return Buffer.concat([b, Buffer.from(host)]);
}

/** Answers kXR_open, kXR_stat, kXR_read, kXR_readv and kXR_close for one file; `part` splits answers into kXR_oksofar frames. */
export function serveFile(
  data: Uint8Array,
  options: { part?: number; mtime?: number; retstat?: boolean } = {},
): Handler {
  const part = options.part ?? 1 << 30;
  const stat = Buffer.from(`1 ${data.length} 16 ${options.mtime ?? 1700000000}\0`);
  const chunked = (reply: Replier, body: Buffer) => {
    for (let at = 0; ; at += part) {
      const last = at + part >= body.length;
      reply.send(last ? 0 : 4000, body.subarray(at, Math.min(body.length, at + part)));
      if (last) return;
    }
  };
  return (req, reply) => {
    switch (req.code) {
      case 3010:
        reply.send(
          0,
          Buffer.concat([
            Buffer.from([0, 0, 0, 1]),
            ...(options.retstat === false ? [] : [Buffer.alloc(8), stat]),
          ]),
        );
        return true;
      case 3017:
        reply.send(0, stat);
        return true;
      case 3003:
        reply.send(0);
        return true;
      case 3013: {
        const offset = Number(req.header.readBigInt64BE(8));
        const length = req.header.readInt32BE(16);
        chunked(reply, Buffer.from(data.subarray(offset, offset + length)));
        return true;
      }
      case 3025: {
        const out: Buffer[] = [];
        for (let at = 0; at < req.payload.length; at += 16) {
          const length = req.payload.readInt32BE(at + 4);
          const offset = Number(req.payload.readBigInt64BE(at + 8));
          out.push(req.payload.subarray(at, at + 16), Buffer.from(data.subarray(offset, offset + length)));
        }
        chunked(reply, Buffer.concat(out));
        return true;
      }
      default:
        return false;
    }
  };
}
