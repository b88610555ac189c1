import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { UnprocessableError } from '../../../errors.js';

/** One protocol the server offers after login ("&P=ztn,TLS:0:4096:&P=unix"), in its order of preference. */
export interface SecurityProtocol {
  name: string;
  params: string;
}

/** Where a bearer token comes from: a fixed value (tests, callers) or a lookup run when a server asks. */
export type TokenSource = () => Promise<string | undefined>;

export interface AuthContext {
  /** whether the connection is TLS: a token is never sent in the clear */
  encrypted: boolean;
  username: string;
  token: TokenSource;
}

/** The protocols this client speaks; GSI (X.509 proxies), Kerberos and the rest are out of scope. */
export const SUPPORTED = ['unix', 'host', 'ztn'] as const;

/** A token file larger than this is not a token. */
const MAX_TOKEN_FILE = 64 * 1024;

export function parseSecurity(sec: string): SecurityProtocol[] {
  return sec
    .split('&P=')
    .slice(1)
    .map((p) => {
      const comma = p.indexOf(',');
      return comma < 0
        ? { name: p.trim(), params: '' }
        : { name: p.slice(0, comma).trim(), params: p.slice(comma + 1) };
    })
    .filter((p) => p.name !== '');
}

/**
 * The credentials for one protocol, or why they cannot be sent. A token goes only over TLS and only
 * as large as the server says it accepts (ztn's parameters are "TLS:<options>:<max token size>:").
 */
export async function credentials(
  p: SecurityProtocol,
  ctx: AuthContext,
): Promise<{ credentials: Buffer } | { why: string }> {
  switch (p.name) {
    case 'unix':
      return { credentials: Buffer.from(`unix\0${ctx.username}\0`, 'latin1') };
    case 'host':
      return { credentials: Buffer.from('host\0', 'latin1') };
    case 'ztn': {
      if (!ctx.encrypted)
        return { why: 'ztn (tokens) is offered, but tokens are only sent over TLS: use roots://' };
      const token = await ctx.token();
      if (!token) {
        return {
          why: 'ztn (tokens) is offered, but no token was found (set BEARER_TOKEN, or BEARER_TOKEN_FILE to a file holding one)',
        };
      }
      const max = Number(p.params.split(':')[2]);
      if (Number.isFinite(max) && max > 0 && token.length + 1 > max) {
        return {
          why: `the bearer token (${token.length} bytes) is larger than the ${max} bytes the server accepts`,
        };
      }
      // "ztn\0", version 0, 'T' (a token follows), two reserved bytes, the length with its NUL, the token
      const tok = Buffer.from(`${token}\0`, 'latin1');
      const head = Buffer.from([0x7a, 0x74, 0x6e, 0, 0, 0x54, 0, 0, 0, 0]);
      head.writeUInt16BE(tok.length, 8);
      return { credentials: Buffer.concat([head, tok]) };
    }
    case 'gsi':
      return { why: 'gsi (X.509 proxy certificates) is not supported' };
    default:
      return { why: `${p.name} is not supported` };
  }
}

/** The error for a server whose offered protocols we cannot use, naming them and what was missing. */
export function unsupportedAuth(
  label: string,
  offered: SecurityProtocol[],
  why: string[],
): UnprocessableError {
  const names = offered.map((p) => p.name).join(', ');
  return new UnprocessableError(
    `${label} asks for authentication by ${names}; mlaas4hep speaks ${SUPPORTED.join(', ')} (${why.join('; ')}). ` +
      'Use a bearer token (ztn, over roots://) where the site accepts one, or copy the files to S3',
    'AuthenticationUnsupported',
  );
}

/**
 * WLCG bearer token discovery: BEARER_TOKEN, then the file BEARER_TOKEN_FILE, then
 * $XDG_RUNTIME_DIR/bt_u<uid>, then /tmp/bt_u<uid>. Leading and trailing white space is not part of it.
 */
export function discoverToken(env: NodeJS.ProcessEnv = process.env): TokenSource {
  return async () => {
    const direct = env.BEARER_TOKEN?.trim();
    if (direct) return direct;
    const uid = process.getuid?.() ?? 0;
    const files = [
      env.BEARER_TOKEN_FILE,
      env.XDG_RUNTIME_DIR && join(env.XDG_RUNTIME_DIR, `bt_u${uid}`),
      `/tmp/bt_u${uid}`,
    ];
    for (const f of files) {
      if (!f) continue;
      const token = await readToken(f);
      if (token) return token;
    }
    return undefined;
  };
}

async function readToken(path: string): Promise<string | undefined> {
  const fh = await open(path, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    const buf = Buffer.alloc(MAX_TOKEN_FILE + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_TOKEN_FILE) {
      throw new UnprocessableError(
        `the token file ${path} is larger than ${MAX_TOKEN_FILE} bytes`,
        'InvalidToken',
      );
    }
    return buf.toString('latin1', 0, bytesRead).trim() || undefined;
  } finally {
    await fh.close();
  }
}
