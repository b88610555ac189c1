import { isIP, connect as tcpConnect } from 'node:net';
import { userInfo } from 'node:os';
import { UnavailableError, UnprocessableError } from '../../../errors.js';
import { type AuthContext, credentials, parseSecurity, type TokenSource, unsupportedAuth } from './auth.js';
import { type Answer, Connection } from './connection.js';
import { serverError } from './errors.js';
import {
  CLIENT_VERSION,
  EXPECT_LOGIN,
  encodeRequest,
  LOGIN_CAPVER,
  ProtocolFlag,
  Request,
  ServerFlag,
  Status,
  text,
} from './protocol.js';
import { type Endpoint, hostPort } from './url.js';

export interface SessionOptions {
  /** ms to open the TCP connection and, separately, to get each answer (default 10 s, 30 s) */
  connectTimeoutMs?: number;
  timeoutMs?: number;
  /** trusted CA certificates for roots:// (default: Node's, plus NODE_EXTRA_CA_CERTS) */
  ca?: string | Buffer;
  /** bearer token lookup for ztn (default: WLCG discovery from the environment) */
  token: TokenSource;
}

/** kXR_wait answers during login are followed, but not for ever. */
const MAX_LOGIN_WAITS = 5;

/**
 * Opens and logs in one connection: TCP, handshake + kXR_protocol (TLS now if the server or the
 * roots:// URL wants it), kXR_login, kXR_auth when the server asks, and TLS after login if the server
 * wants the session encrypted.
 */
export async function openSession(e: Endpoint, options: SessionOptions): Promise<Connection> {
  const label = `${e.tls ? 'roots' : 'root'}://${hostPort(e)}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const socket = tcpConnect({ host: e.host, port: e.port });
  socket.setNoDelay(true);
  await new Promise<void>((ok, fail) => {
    const ms = options.connectTimeoutMs ?? 10_000;
    const timer = setTimeout(() => fail(new Error(`no connection within ${ms} ms`)), ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      ok();
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(new Error(err.code ?? err.message));
    });
  }).catch((err: Error) => {
    socket.destroy();
    throw new UnavailableError(`${label} cannot be reached: ${err.message}`, { cause: err });
  });
  const conn = new Connection(socket, label, timeoutMs);
  try {
    await setUp(conn, e, options);
    return conn;
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

async function setUp(conn: Connection, e: Endpoint, options: SessionOptions): Promise<void> {
  const tlsOptions = { servername: isIP(e.host) ? undefined : e.host, ca: options.ca };
  const flags = ProtocolFlag.secreqs | ProtocolFlag.ableTLS | (e.tls ? ProtocolFlag.wantTLS : 0);
  const { protocol } = await conn.handshake((id) =>
    encodeRequest(id, Request.protocol, (b) => {
      b.writeInt32BE(CLIENT_VERSION, 4);
      b.writeUInt8(flags, 8);
      b.writeUInt8(EXPECT_LOGIN, 9);
    }),
  );
  if (protocol.status !== Status.ok || protocol.body.length < 8) {
    throw new UnavailableError(`${conn.label} refused the protocol exchange (status ${protocol.status})`);
  }
  conn.serverFlags = protocol.body.readUInt32BE(4);
  if (e.tls && !(conn.serverFlags & ServerFlag.haveTLS)) {
    throw new UnprocessableError(
      `${conn.label} does not offer TLS (roots://); use root:// if the site allows it`,
      'TLSUnavailable',
    );
  }
  if (conn.serverFlags & ServerFlag.gotoTLS) await conn.startTls(tlsOptions);

  const username = e.user ?? localUser();
  const login = await withWaits(() =>
    conn.request(Request.login, (b) => {
      b.writeInt32BE(process.pid, 4);
      b.write(username.slice(0, 8), 8, 'latin1');
      b.writeUInt8(LOGIN_CAPVER, 18);
    }),
  );
  if (login.status === Status.error) throw serverError(conn.label, login.body);
  if (login.status !== Status.ok || login.body.length < 16) {
    throw new UnavailableError(`${conn.label} refused the login (status ${login.status})`);
  }
  conn.sessionId = Buffer.from(login.body.subarray(0, 16));
  const sec = login.body.length > 16 ? text(login.body, 16) : '';
  if (sec) await authenticate(conn, sec, { encrypted: conn.encrypted, username, token: options.token });
  if (conn.serverFlags & ServerFlag.tlsSess && !conn.encrypted) await conn.startTls(tlsOptions);
}

/**
 * Tries the offered protocols in the server's order of preference (as XrdCl does), skipping those we
 * cannot use; an error names every protocol offered and why none worked.
 */
async function authenticate(conn: Connection, sec: string, ctx: AuthContext): Promise<void> {
  const offered = parseSecurity(sec);
  const why: string[] = [];
  for (const p of offered) {
    const c = await credentials(p, ctx);
    if ('why' in c) {
      why.push(c.why);
      continue;
    }
    const answer = await conn.request(
      Request.auth,
      (b) => b.write(p.name.slice(0, 4), 16, 'latin1'),
      c.credentials,
    );
    if (answer.status === Status.ok) return;
    why.push(
      answer.status === Status.error
        ? `${p.name} was refused: ${text(answer.body, 4)}`
        : `${p.name} wants a longer exchange than this client supports`,
    );
  }
  throw unsupportedAuth(conn.label, offered, why);
}

async function withWaits(send: () => Promise<Answer>): Promise<Answer> {
  for (let i = 0; ; i++) {
    const r = await send();
    if (r.status !== Status.wait || i >= MAX_LOGIN_WAITS) return r;
    const seconds = r.body.length >= 4 ? Math.min(Math.max(r.body.readInt32BE(0), 0), 30) : 1;
    await new Promise((ok) => setTimeout(ok, seconds * 1000));
  }
}

function localUser(): string {
  try {
    return userInfo().username.replace(/[^A-Za-z0-9_.-]/g, '') || 'mlaas4hep';
  } catch {
    return 'mlaas4hep';
  }
}
