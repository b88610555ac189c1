import type { Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { UnavailableError, UnprocessableError } from '../../../errors.js';
import {
  Attn,
  encodeRequest,
  handshake,
  REQUEST_NAMES,
  RESPONSE_HEADER,
  Request,
  Status,
} from './protocol.js';

/** A final answer to one request: kXR_ok (with every kXR_oksofar part before it), error, redirect, wait or authmore. */
export interface Answer {
  status: number;
  body: Buffer;
}

interface Pending {
  code: number;
  parts: Buffer[];
  bytes: number;
  /** refuses answers that would grow past this many bytes (a server cannot make us buffer without bound) */
  limit: number;
  resolve(r: Answer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export interface RequestOptions {
  /** the most body bytes the answer may have (default 64 KiB: control answers are small) */
  maxBytes?: number;
}

const SMALL_ANSWER = 64 * 1024;

/**
 * One TCP (or TLS) connection to an XRootD server, with requests multiplexed by stream id: many can be
 * in flight, answers arrive in any order, and kXR_oksofar parts and asynchronous answers (kXR_waitresp
 * followed by a kXR_attn carrying the response) are put back together per request. A request that sees
 * no progress for `timeoutMs` breaks the connection: every request on it fails with UnavailableError,
 * so nothing waits forever on a server that stopped answering.
 */
export class Connection {
  private socket: Socket;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onError = (err: NodeJS.ErrnoException) =>
    this.destroy(new UnavailableError(`${this.label}: connection failed (${err.code ?? err.message})`));
  private readonly onClose = () => this.destroy(new UnavailableError(`${this.label} closed the connection`));
  /** Files opened on this connection and not yet closed: their handles live and die with it. */
  openFiles = 0;
  /** Set by the session once logged in; kXR_endsess names it. */
  sessionId: Buffer | undefined;
  /** kXR_protocol response flags (manager, server, TLS requirements). */
  serverFlags = 0;
  encrypted = false;

  constructor(
    socket: Socket,
    readonly label: string,
    private readonly timeoutMs: number,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  get alive(): boolean {
    return this.failure === undefined;
  }

  /** Requests in flight; the pool hands new work to the least busy connection. */
  get load(): number {
    return this.pending.size;
  }

  /** Sends the handshake and a kXR_protocol request in one write, as current clients do. */
  async handshake(
    protocolRequest: (streamId: number) => Buffer,
  ): Promise<{ server: Buffer; protocol: Answer }> {
    const hs = this.register(0, 0, SMALL_ANSWER);
    const id = this.allocate();
    const pr = this.register(id, Request.protocol, SMALL_ANSWER);
    this.write(Buffer.concat([handshake(), protocolRequest(id)]));
    const [server, protocol] = await Promise.all([hs, pr]);
    return { server: server.body, protocol };
  }

  /** Sends one request and resolves with its final answer; only transport failures reject. */
  request(
    code: number,
    fill?: (b: Buffer) => void,
    payload?: Uint8Array,
    options: RequestOptions = {},
  ): Promise<Answer> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.allocate();
    const answer = this.register(id, code, Math.max(options.maxBytes ?? 0, SMALL_ANSWER));
    this.write(encodeRequest(id, code, fill, payload));
    return answer;
  }

  /** Sends a request whose answer we do not wait for (kXR_endsess of our own session closes the link). */
  notify(code: number, fill?: (b: Buffer) => void): void {
    if (!this.failure) this.write(encodeRequest(this.allocate(), code, fill));
  }

  /** Switches the connection to TLS in place (after kXR_protocol or login, when the server says so). */
  async startTls(options: { servername?: string; ca?: string | Buffer; rejectUnauthorized?: boolean }) {
    const raw = this.socket;
    this.detach(raw);
    const secure: TLSSocket = tlsConnect({ socket: raw, ...options });
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`no TLS handshake within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        ok();
      });
      secure.once('error', (err) => {
        clearTimeout(timer);
        fail(err);
      });
    }).catch((err: NodeJS.ErrnoException) => {
      // a certificate that does not verify will not verify on the next attempt either
      const e = /CERT|SELF_SIGNED|UNABLE_TO|ALTNAME|ISSUER/.test(err.code ?? '')
        ? new UnprocessableError(
            `${this.label}: its TLS certificate is not trusted (${err.message}); add its CA to NODE_EXTRA_CA_CERTS`,
            'TLSCertificate',
            { cause: err },
          )
        : new UnavailableError(`${this.label}: TLS could not be set up (${err.message})`, { cause: err });
      this.destroy(e);
      throw e;
    });
    this.socket = secure;
    this.encrypted = true;
    this.attach(secure);
  }

  /** Fails every request in flight with `err` and closes the socket; idempotent. */
  destroy(err: Error = new UnavailableError(`${this.label}: connection closed`)): void {
    if (this.failure) return;
    this.failure = err;
    this.detach(this.socket);
    this.socket.on('error', () => undefined);
    this.socket.destroy();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  private attach(s: Socket): void {
    s.on('data', this.onData);
    s.on('error', this.onError);
    s.on('close', this.onClose);
    if (this.pending.size === 0) s.unref();
  }

  private detach(s: Socket): void {
    s.off('data', this.onData);
    s.off('error', this.onError);
    s.off('close', this.onClose);
  }

  private write(b: Buffer): void {
    this.socket.write(b);
  }

  private allocate(): number {
    // 0 is the handshake's; ids are reused once their request is answered
    for (let i = 0; i < 0xffff; i++) {
      const id = this.nextId;
      this.nextId = this.nextId >= 0xffff ? 1 : this.nextId + 1;
      if (!this.pending.has(id)) return id;
    }
    throw new UnavailableError(`${this.label}: too many requests in flight`);
  }

  private register(id: number, code: number, limit: number): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const timer = this.timer(code);
      this.pending.set(id, { code, parts: [], bytes: 0, limit, resolve, reject, timer });
      // sockets keep the process alive only while something waits for an answer
      this.socket.ref();
    });
  }

  private timer(code: number, ms = this.timeoutMs): NodeJS.Timeout {
    const what = REQUEST_NAMES[code] ?? (code === 0 ? 'the handshake' : `request ${code}`);
    return setTimeout(
      () => this.destroy(new UnavailableError(`${this.label}: no answer to ${what} within ${ms} ms`)),
      ms,
    );
  }

  private receive(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= RESPONSE_HEADER && !this.failure) {
      const head = this.peek(RESPONSE_HEADER);
      const dlen = head.readInt32BE(4);
      const p = this.pending.get(head.readUInt16BE(0));
      if (dlen < 0 || (p ? p.bytes + dlen : dlen) > (p ? p.limit : this.largestLimit())) {
        this.destroy(
          new UnavailableError(`${this.label} sent a malformed or oversized answer (${dlen} bytes)`),
        );
        return;
      }
      if (this.buffered < RESPONSE_HEADER + dlen) return;
      this.take(RESPONSE_HEADER);
      this.dispatch(head.readUInt16BE(0), head.readUInt16BE(2), this.take(dlen));
    }
  }

  private dispatch(streamId: number, status: number, body: Buffer): void {
    if (status === Status.attn) {
      this.attention(body);
      return;
    }
    const p = this.pending.get(streamId);
    if (!p) return; // an answer to nothing we asked: ignore it
    clearTimeout(p.timer);
    if (status === Status.oksofar) {
      p.parts.push(body);
      p.bytes += body.length;
      p.timer = this.timer(p.code);
      return;
    }
    if (status === Status.waitresp) {
      // the answer comes later, as kXR_attn/kXR_asynresp, within the announced seconds
      const seconds = body.length >= 4 ? Math.max(0, body.readInt32BE(0)) : 0;
      p.timer = this.timer(p.code, Math.min(seconds, 3600) * 1000 + this.timeoutMs);
      return;
    }
    this.pending.delete(streamId);
    if (this.pending.size === 0) this.socket.unref();
    const parts = status === Status.ok ? [...p.parts, body] : [body];
    p.resolve({ status, body: parts.length === 1 ? parts[0] : Buffer.concat(parts) });
  }

  /** kXR_attn: an asynchronous answer to an earlier request (after kXR_waitresp), or a message. */
  private attention(body: Buffer): void {
    if (body.length < 4 || body.readInt32BE(0) !== Attn.asynresp || body.length < 16) return;
    const dlen = body.readInt32BE(12);
    if (dlen < 0 || 16 + dlen > body.length) {
      this.destroy(new UnavailableError(`${this.label} sent a malformed asynchronous answer`));
      return;
    }
    this.dispatch(body.readUInt16BE(8), body.readUInt16BE(10), body.subarray(16, 16 + dlen));
  }

  /** An asynchronous answer (kXR_attn) may carry any request's answer: bound it by the largest. */
  private largestLimit(): number {
    let max = SMALL_ANSWER;
    for (const p of this.pending.values()) max = Math.max(max, p.limit + 16);
    return max;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    for (const c of this.chunks) {
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (at === n) break;
    }
    return out;
  }

  /** The next n bytes: a view when they sit in one chunk, else one copy. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
