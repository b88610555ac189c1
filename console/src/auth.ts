/**
 * Sign-in: OpenID Connect authorization code with PKCE (S256). The token is kept in this module's
 * memory only: never localStorage or a cookie, so a reload signs in again. sessionStorage holds
 * only the one-time PKCE verifier and state between the redirect out and back.
 */
import type { ConsoleConfig, ConsoleOidc as Oidc } from '../../lib/wire-types';

export type { ConsoleConfig, Oidc };

export interface Session {
  token: string;
  sub: string;
  scopes: Set<string>;
}

const KNOWN = ['submit', 'predict', 'admin'];
const PENDING = 'mlaas4hep-pkce';

let session: Session | null = null;
const listeners = new Set<() => void>();

export const currentSession = (): Session | null => session;
export function onSessionChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
function set(s: Session | null) {
  session = s;
  for (const fn of listeners) fn();
}

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

function random(n = 32): string {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

/** Where the issuer sends the browser back: the console's own address (register it as the callback). */
export const redirectUri = (): string => `${location.origin}/console`;

/** What the token says the caller may do, as the server reads it (scope, scp, groups; admin group). */
export function sessionFromToken(token: string): Session {
  const part = token.split('.')[1] ?? '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  const p = JSON.parse(json) as Record<string, unknown>;
  const list = (v: unknown): string[] =>
    Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(/\s+/).filter(Boolean) : [];
  const scopes = new Set<string>();
  for (const s of list(p.scope ?? p.scp)) {
    const last = s.split('/').at(-1)!;
    if (KNOWN.includes(last)) scopes.add(last);
  }
  const groups = list(p['cognito:groups'] ?? p.groups);
  for (const g of groups) if (KNOWN.includes(g)) scopes.add(g);
  if (groups.includes('admin')) for (const s of KNOWN) scopes.add(s);
  return { token, sub: String(p.sub ?? '?'), scopes };
}

export async function signIn(oidc: Oidc): Promise<void> {
  const verifier = random(48);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const state = random(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, hash: location.hash }));
  const u = new URL(oidc.authorizationEndpoint);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', oidc.clientId);
  u.searchParams.set('redirect_uri', redirectUri());
  u.searchParams.set('scope', oidc.scope);
  u.searchParams.set('state', state);
  u.searchParams.set('code_challenge', b64url(digest));
  u.searchParams.set('code_challenge_method', 'S256');
  location.assign(u.toString());
}

/** Back from the issuer with ?code=&state=: exchanges the code (and the verifier) for a token. */
export async function completeSignIn(oidc: Oidc): Promise<string | undefined> {
  const q = new URLSearchParams(location.search);
  const code = q.get('code');
  const error = q.get('error');
  if (!code && !error) return undefined;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null') as {
    verifier: string;
    state: string;
    hash: string;
  } | null;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, '', `/console${pending?.hash ?? ''}`);
  if (error) return `the issuer refused the sign-in: ${q.get('error_description') ?? error}`;
  if (!pending || pending.state !== q.get('state'))
    return 'the sign-in answer does not match this browser tab: sign in again';
  const res = await fetch(oidc.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: redirectUri(),
      client_id: oidc.clientId,
      code_verifier: pending.verifier,
    }),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, string>;
  if (!res.ok || !body.access_token)
    return `the token endpoint answered ${res.status}: ${body.error_description ?? body.error ?? 'no token'}`;
  set(sessionFromToken(body.access_token));
  return undefined;
}

export function useToken(token: string): void {
  set(sessionFromToken(token.trim()));
}

export function signOut(oidc: Oidc | null): void {
  set(null);
  if (oidc?.logoutEndpoint) {
    const u = new URL(oidc.logoutEndpoint);
    u.searchParams.set('client_id', oidc.clientId);
    u.searchParams.set('logout_uri', redirectUri());
    location.assign(u.toString());
  }
}
