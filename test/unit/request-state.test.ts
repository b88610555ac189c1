import { describe, expect, it } from 'vitest';
import { beginRequest, findState, type HttpMiddyRequest, stateOf } from '../../lib/http/request-state.js';
import type { HttpEvent } from '../../lib/http/types.js';

const invocation = (event: HttpEvent) => ({ event, context: {} }) as unknown as HttpMiddyRequest;

describe('request state', () => {
  it('belongs to the invocation: the caller’s event is left as it was, and each invocation of the same event has its own', () => {
    const event = {
      rawPath: '/json',
      headers: { Authorization: 'Bearer x' },
      requestContext: { http: { method: 'post' } },
    } as unknown as HttpEvent;
    const first = invocation(event);
    const second = invocation(event);
    const a = beginRequest(first, 'POST /json');
    const b = beginRequest(second, 'POST /json');
    expect(findState(event)).toBeUndefined();
    expect(first.event).not.toBe(event);
    expect(stateOf(first.event)).toBe(a);
    expect(stateOf(second.event)).toBe(b);
    expect(a).not.toBe(b);
    expect(a.requestId).not.toBe(b.requestId);
    expect(a.headers).toEqual({ authorization: 'Bearer x' });
    expect(a.method).toBe('POST');
    // the state is not part of the event's JSON (logged or forwarded events stay as received)
    expect(JSON.parse(JSON.stringify(first.event))).toEqual(JSON.parse(JSON.stringify(event)));
  });

  it('is found only once the request logger began it', () => {
    expect(findState({})).toBeUndefined();
    expect(() => stateOf({})).toThrow(/requestLogger\(\) must be the first middleware/);
  });
});
