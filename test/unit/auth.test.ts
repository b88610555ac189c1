import { describe, expect, it } from 'vitest';
import { createDevIssuer } from '../../lib/auth/dev-issuer.js';
import { createVerifier } from '../../lib/auth/verifier.js';
import { UnauthorizedError } from '../../lib/http/errors.js';

const issuer = createDevIssuer('https://dev.mlaas4hep.local/issuer', 'mlaas4hep');
const verifier = createVerifier(issuer.config, { jwks: issuer.jwks });
const bearer = (t: string) => `Bearer ${t}`;
const fails = (h: string | undefined) =>
  verifier.verify(h).then(
    () => undefined,
    (e: unknown) => e,
  );

describe('bearer tokens', () => {
  it('a valid token gives the subject and its scopes; the admin group grants every scope', async () => {
    const p = await verifier.verify(bearer(issuer.mint({ sub: 'alice', scopes: ['submit', 'predict'] })));
    expect(p.sub).toBe('alice');
    expect([...p.scopes].sort()).toEqual(['predict', 'submit']);
    const admin = await verifier.verify(bearer(issuer.mint({ sub: 'root', groups: ['admin'] })));
    expect(admin.scopes.has('admin')).toBe(true);
  });

  it.each([
    ['missing', undefined, /missing Authorization header/],
    ['malformed', 'Bearer not-a-jwt', /malformed/],
    ['expired', bearer(issuer.mint({ sub: 'a', expiresIn: -60 })), /expired/],
    ['wrong audience', bearer(issuer.mint({ sub: 'a', audience: 'someone-else' })), /wrong audience/],
    ['wrong issuer', bearer(issuer.mint({ sub: 'a', issuer: 'https://evil.example/' })), /wrong issuer/],
    [
      'signed by another key',
      bearer(createDevIssuer(issuer.config.issuer).mint({ sub: 'a' })),
      /bad signature/,
    ],
  ])('%s → 401', async (_what, header, message) => {
    const err = await fails(header);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as UnauthorizedError).status).toBe(401);
    expect((err as Error).message).toMatch(message);
  });

  it('a tampered payload (signature kept) → 401', async () => {
    const [h, p, s] = issuer.mint({ sub: 'alice', scopes: ['predict'] }).split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'admin submit predict' })).toString(
      'base64url',
    );
    const err = await fails(bearer(`${h}.${forged}.${s}`));
    expect(err).toBeInstanceOf(UnauthorizedError);
  });
});
