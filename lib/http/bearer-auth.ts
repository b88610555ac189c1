import { requireScopes, type TokenVerifier } from '../auth/verifier.js';
import { type HttpMiddleware, stateOf } from './request-state.js';

/**
 * Bearer-token authentication: the `Authorization` header verified (401 when missing or invalid),
 * then the route's scopes checked (403 naming the scope needed). Puts `{ sub, scopes, groups }` on
 * the request as `user`.
 */
export function bearerAuth(options: { verifier: TokenVerifier; scopes: readonly string[] }): HttpMiddleware {
  const { verifier, scopes } = options;
  return {
    before: async (request) => {
      const state = stateOf(request.event);
      const user = await verifier.verify(state.headers.authorization);
      state.user = user;
      requireScopes(user, scopes, state.route);
    },
  };
}
