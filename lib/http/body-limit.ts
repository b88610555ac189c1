import { PayloadTooLargeError } from '../errors.js';
import { type HttpMiddleware, stateOf } from './request-state.js';
import type { HttpEvent } from './types.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const RAW = Symbol.for('mlaas4hep.rawBody');

/**
 * Hands the body over as the bytes it already is (`serve`'s own HTTP server), instead of base64
 * text that bodyLimit would decode again: a tenth of a single-row prediction's time went there.
 */
export function attachRawBody(event: HttpEvent, body: Buffer): HttpEvent {
  (event as unknown as Record<symbol, Buffer>)[RAW] = body;
  return event;
}

/** The body's size in bytes once decoded, computed without decoding it. */
export function bodyBytes(event: HttpEvent): number {
  const body = event.body;
  if (!body) return 0;
  if (!event.isBase64Encoded) return Buffer.byteLength(body, 'utf8');
  let padding = 0;
  if (body.endsWith('==')) padding = 2;
  else if (body.endsWith('=')) padding = 1;
  return Math.max(0, Math.floor((body.length * 3) / 4) - padding);
}

function tooLarge(bytes: number, limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(
    `request body of ${bytes} bytes is over this route's limit of ${limit} bytes`,
  );
}

/**
 * Refuses a body over `maxBodyBytes` with 413 before anything decodes or parses it, then decodes it
 * (base64 when the event says so) into the raw bytes the later middlewares and the handler use.
 */
export function bodyLimit(options: { maxBodyBytes: number }): HttpMiddleware {
  const limit = options.maxBodyBytes;
  return {
    before: (request) => {
      const event = request.event;
      const state = stateOf(event);
      const attached = (event as unknown as Record<symbol, Buffer | undefined>)[RAW];
      if (attached) {
        if (attached.length > limit) throw tooLarge(attached.length, limit);
        state.rawBody = attached;
        return;
      }
      const estimate = bodyBytes(event);
      if (estimate > limit) throw tooLarge(estimate, limit);
      const raw = event.body
        ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8')
        : Buffer.alloc(0);
      if (raw.length > limit) throw tooLarge(raw.length, limit);
      state.rawBody = raw;
    },
  };
}
