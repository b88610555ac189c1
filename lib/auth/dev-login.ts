import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { ConsoleOidc } from '../console/site.js';
import { isLoopbackUrl } from './config.js';
import type { DevIssuer } from './dev-issuer.js';

/**
 * The development issuer's sign-in for the web console on the local stack: an OpenID Connect
 * authorization endpoint with a minimal login page (a user name and the scopes to grant; no
 * password, it is a development tool on 127.0.0.1) and a token endpoint that checks the PKCE
 * verifier (S256) before it mints a token with the issuer's key. Redirects go to 127.0.0.1 only.
 */
export interface DevLogin {
  url: string;
  /** the console's sign-in settings pointing here */
  oidc: ConsoleOidc;
  stop(): Promise<void>;
}

interface Grant {
  sub: string;
  scopes: string[];
  challenge: string;
  redirectUri: string;
  clientId: string;
  expires: number;
}

const CLIENT_ID = 'mlaas4hep-console';
const SCOPES = ['submit', 'predict', 'admin'];

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(q: URLSearchParams, error?: string): string {
  const hidden = ['client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method']
    .map((k) => `<input type="hidden" name="${k}" value="${esc(q.get(k) ?? '')}">`)
    .join('');
  const asked = new Set((q.get('scope') ?? '').split(/\s+/));
  const boxes = SCOPES.map(
    (s) =>
      `<label><input type="checkbox" name="grant" value="${s}"${asked.has(s) || !q.get('scope') ? ' checked' : ''}> ${s}</label>`,
  ).join('<br>');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in: mlaas4hep development issuer</title>
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}input[type=text]{font:inherit;width:100%;padding:.4rem}button{font:inherit;padding:.5rem 1.2rem;margin-top:1rem}fieldset{margin-top:1rem}</style></head>
<body><main><h1>Sign in</h1><p>Development issuer of the local stack: no password; choose a user name and what the token may do.</p>
${error ? `<p role="alert"><strong>Error:</strong> ${esc(error)}</p>` : ''}
<form method="post" action="/authorize">${hidden}
<label for="user">User name</label><input type="text" id="user" name="user" value="physicist" required pattern="[A-Za-z0-9._@-]{1,64}" autocomplete="username">
<fieldset><legend>Scopes</legend>${boxes}</fieldset>
<button type="submit">Sign in</button></form></main></body></html>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16_384) break;
  }
  return new URLSearchParams(body);
}

const s256 = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');

/** Serves the login page and token endpoint for `issuer` on 127.0.0.1 (port 0: a free one). */
export async function startDevLogin(issuer: DevIssuer, options: { port?: number } = {}): Promise<DevLogin> {
  const grants = new Map<string, Grant>();
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      // the console calls the token endpoint from its own origin
      'access-control-allow-origin': '*',
    });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    try {
      if (req.method === 'GET' && url.pathname === '/authorize') {
        const q = url.searchParams;
        const bad =
          q.get('response_type') !== 'code'
            ? 'response_type must be "code"'
            : q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')
              ? 'a PKCE code_challenge with method S256 is required'
              : !isLoopbackUrl(q.get('redirect_uri') ?? '')
                ? 'redirect_uri must be on 127.0.0.1 or localhost'
                : undefined;
        res.writeHead(bad ? 400 : 200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(page(q, bad));
        return;
      }
      if (req.method === 'POST' && url.pathname === '/authorize') {
        const f = await readForm(req);
        const redirectUri = f.get('redirect_uri') ?? '';
        const user = f.get('user') ?? '';
        if (
          !isLoopbackUrl(redirectUri) ||
          !/^[A-Za-z0-9._@-]{1,64}$/.test(user) ||
          !f.get('code_challenge')
        ) {
          res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
          res.end(page(f, 'a user name of letters, digits, ". _ @ -" and a loopback redirect_uri'));
          return;
        }
        const code = randomBytes(24).toString('base64url');
        grants.set(code, {
          sub: user,
          scopes: f.getAll('grant').filter((s) => SCOPES.includes(s)),
          challenge: f.get('code_challenge')!,
          redirectUri,
          clientId: f.get('client_id') ?? '',
          expires: Date.now() + 120_000,
        });
        const back = new URL(redirectUri);
        back.searchParams.set('code', code);
        if (f.get('state')) back.searchParams.set('state', f.get('state')!);
        res.writeHead(302, { location: back.toString() });
        res.end();
        return;
      }
      if (req.method === 'POST' && url.pathname === '/token') {
        const f = await readForm(req);
        const code = f.get('code') ?? '';
        const g = grants.get(code);
        grants.delete(code);
        if (f.get('grant_type') !== 'authorization_code' || !g || g.expires < Date.now())
          return json(res, 400, { error: 'invalid_grant', error_description: 'unknown or expired code' });
        if (f.get('redirect_uri') !== g.redirectUri || f.get('client_id') !== g.clientId)
          return json(res, 400, {
            error: 'invalid_grant',
            error_description: 'redirect_uri or client_id differ',
          });
        if (s256(f.get('code_verifier') ?? '') !== g.challenge)
          return json(res, 400, {
            error: 'invalid_grant',
            error_description: 'PKCE verifier does not match',
          });
        return json(res, 200, {
          access_token: issuer.mintToken({ sub: g.sub, scopes: g.scopes }),
          token_type: 'Bearer',
          expires_in: 3600,
          scope: g.scopes.join(' '),
        });
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    } catch {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const a = server.address();
  const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  return {
    url,
    oidc: {
      authorizationEndpoint: `${url}/authorize`,
      tokenEndpoint: `${url}/token`,
      clientId: CLIENT_ID,
      scope: `openid ${SCOPES.join(' ')}`,
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
