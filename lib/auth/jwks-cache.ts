import { FetchError, NonRetryableFetchError } from 'aws-jwt-verify/error';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { isLoopbackUrl } from './config.js';

/** A JSON Web Key Set as an issuer publishes it. */
export interface Jwks {
  keys: Array<Record<string, unknown>>;
}

const FETCH_TIMEOUT_MS = 3000;

function bytes(json: unknown): ArrayBuffer {
  const b = new TextEncoder().encode(JSON.stringify(json));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/**
 * A JWKS cache that already holds `jwks` and never touches the network: a token signed by any
 * other key fails as a bad signature. For the development issuer's keys handed to another process
 * (MLAAS4HEP_DEV_JWKS), and for tests.
 */
export function preloadedJwksCache(jwks: { keys: unknown[] }): SimpleJwksCache {
  const body = bytes(jwks);
  return new SimpleJwksCache({ fetcher: { fetch: async () => body.slice(0) } });
}

/**
 * A JWKS cache that fetches over plain http, and only from the loopback address: the way to reach
 * the development issuer (`startDevIssuer`), since aws-jwt-verify's own fetcher speaks https only
 * and node:crypto cannot make the X.509 certificate a local https server would need. Any other URI
 * is refused without a request. Use it only when MLAAS4HEP_DEV_ISSUER=1.
 */
export function loopbackJwksCache(): SimpleJwksCache {
  return new SimpleJwksCache({
    fetcher: {
      async fetch(uri: string): Promise<ArrayBuffer> {
        if (!isLoopbackUrl(uri)) {
          throw new NonRetryableFetchError(uri, 'the development fetcher only reads 127.0.0.1');
        }
        let res: Response;
        try {
          res = await fetch(uri, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
        } catch (err) {
          // refused or timed out: a FetchError, so the verifier answers 503, not 401
          throw new FetchError(uri, (err as Error).message);
        }
        if (res.status !== 200) {
          throw new NonRetryableFetchError(uri, `Status code is ${res.status}, expected 200`);
        }
        return res.arrayBuffer();
      },
    },
  });
}
