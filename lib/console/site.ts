import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MisconfiguredError, NotFoundError } from '../errors.js';
import type { ConsoleConfig } from '../wire-types.js';

export type { ConsoleConfig, ConsoleOidc } from '../wire-types.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.map': 'application/json',
};

export interface ConsoleFile {
  raw: Uint8Array;
  contentType: string;
  headers: Record<string, string>;
}

const origin = (u: string): string | undefined => {
  try {
    return new URL(u).origin;
  } catch {
    return undefined;
  }
};

/**
 * The web console's built files (dist/console, made by console/build.mjs), read once, and served
 * with a content security policy allowing only this origin and the configured ones: no CDN, no
 * inline script, nothing fetched from elsewhere at run time.
 */
export class ConsoleSite {
  private readonly files = new Map<string, Uint8Array>();

  constructor(
    readonly config: ConsoleConfig,
    readonly dir: string | undefined = findConsoleDir(),
  ) {
    if (!dir) return;
    for (const name of readdirSync(dir)) {
      if (/^[\w.-]+$/.test(name)) this.files.set(name, readFileSync(join(dir, name)));
    }
  }

  private csp(): string {
    const o = this.config.oidc;
    const connect = [
      "'self'",
      ...new Set([o && origin(o.tokenEndpoint), ...this.config.connect].filter(Boolean)),
    ];
    return [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      `connect-src ${connect.join(' ')}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
    ].join('; ');
  }

  /** index.html for "" (the console's root), else the named file. */
  file(name: string): ConsoleFile {
    const key = name === '' ? 'index.html' : name;
    const raw = this.files.get(key);
    if (!raw) {
      if (!this.dir)
        throw new NotFoundError(
          'the console is not built here (npm run build makes dist/console)',
          'NoConsole',
        );
      throw new NotFoundError(`no console file "${name}"`);
    }
    const ext = key.slice(key.lastIndexOf('.'));
    return {
      raw,
      contentType: TYPES[ext] ?? 'application/octet-stream',
      headers: {
        // small files, rebuilt in place: revalidate rather than serve a stale app
        'cache-control': 'no-cache',
        'referrer-policy': 'no-referrer',
        ...(ext === '.html' ? { 'content-security-policy': this.csp(), 'x-frame-options': 'DENY' } : {}),
      },
    };
  }
}

/**
 * dist/console next to the package: found by walking up from this module (lib/console in the
 * sources, dist/lib/console when compiled, functions/ of a Lambda bundle), or MLAAS4HEP_CONSOLE_DIR.
 */
export function findConsoleDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.MLAAS4HEP_CONSOLE_DIR) return env.MLAAS4HEP_CONSOLE_DIR;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const c = join(dir, 'dist', 'console');
    if (existsSync(join(c, 'index.html')) && existsSync(join(c, 'app.js'))) return c;
    dir = dirname(dir);
  }
  return undefined;
}

export const ENV_OIDC = {
  authorization: 'MLAAS4HEP_OIDC_AUTHORIZATION_URL',
  token: 'MLAAS4HEP_OIDC_TOKEN_URL',
  clientId: 'MLAAS4HEP_OIDC_CLIENT_ID',
  scope: 'MLAAS4HEP_OIDC_SCOPE',
  logout: 'MLAAS4HEP_OIDC_LOGOUT_URL',
  connect: 'MLAAS4HEP_CONSOLE_CONNECT',
} as const;

/**
 * The console's sign-in from the environment, read once: all of authorization URL, token URL and
 * client id, or none (then the console asks for a token). https only, but on 127.0.0.1.
 */
export function consoleConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  const a = env[ENV_OIDC.authorization] || undefined;
  const t = env[ENV_OIDC.token] || undefined;
  const c = env[ENV_OIDC.clientId] || undefined;
  const connect = (env[ENV_OIDC.connect] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!a && !t && !c) return { oidc: null, connect };
  for (const [name, v] of [
    [ENV_OIDC.authorization, a],
    [ENV_OIDC.token, t],
  ] as const) {
    const u = v ? origin(v) : undefined;
    if (!u) throw new MisconfiguredError(`environment variable ${name} is not an absolute URL`);
    const url = new URL(v!);
    if (url.protocol !== 'https:' && url.hostname !== '127.0.0.1')
      throw new MisconfiguredError(`environment variable ${name} must be https:// (got "${v}")`);
  }
  if (!c) throw new MisconfiguredError(`environment variable ${ENV_OIDC.clientId} is not set`);
  return {
    oidc: {
      authorizationEndpoint: a!,
      tokenEndpoint: t!,
      clientId: c,
      scope: env[ENV_OIDC.scope] || 'openid',
      logoutEndpoint: env[ENV_OIDC.logout] || undefined,
    },
    connect,
  };
}
