import { errorResponse } from './error-response.js';
import { findState, type HttpMiddleware } from './request-state.js';

/**
 * Turns whatever was thrown into the response `errorResponse` makes (the one mapping), and keeps
 * the error for the request log. Registered after the logger, so its `onError` runs before it.
 */
export function errorHandler(): HttpMiddleware {
  return {
    onError: (request) => {
      const state = findState(request.event);
      if (state) state.error = request.error;
      request.response = errorResponse(request.error, state?.requestId ?? 'unknown');
    },
  };
}
