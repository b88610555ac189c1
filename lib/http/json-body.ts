import { InvalidInputError } from '../errors.js';
import { type HttpMiddleware, stateOf } from './request-state.js';

export const DEFAULT_MAX_JSON_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON.parse, refusing documents nested deeper than `maxDepth` before parsing them (a cheap scan
 * that skips strings), so a hostile body cannot make the parser or the code after it recurse.
 * Malformed JSON is an InvalidInputError (400); NaN and Infinity are not JSON and fail here too.
 */
export function parseJson(text: string, maxDepth = DEFAULT_MAX_JSON_DEPTH): unknown {
  if (!fewBrackets(text, maxDepth)) checkDepth(text, maxDepth);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * True when the text holds at most `limit` opening brackets, so it cannot nest deeper: the
 * common case (a single-row prediction has three), found with native indexOf instead of a loop
 * over every character.
 */
function fewBrackets(text: string, limit: number): boolean {
  let n = 0;
  for (const ch of ['[', '{'])
    for (let i = text.indexOf(ch); i !== -1; i = text.indexOf(ch, i + 1)) if (++n > limit) return false;
  return true;
}

function checkDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > maxDepth) {
        throw new InvalidInputError(`request body is nested more than ${maxDepth} levels deep`);
      }
    } else if (c === 125 || c === 93) depth--;
  }
}

/**
 * Parses the (already size-checked) body as JSON for routes that take JSON; an empty body is
 * `undefined`, for the handler to refuse if it needs one. The content type is not enforced: TFaaS
 * clients post JSON with `curl -d`, which says form-urlencoded.
 */
export function jsonBody(options: { maxDepth?: number } = {}): HttpMiddleware {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_JSON_DEPTH;
  return {
    before: (request) => {
      const state = stateOf(request.event);
      const raw = state.rawBody ?? Buffer.alloc(0);
      if (!raw.length) {
        state.body = undefined;
        return;
      }
      let text: string;
      try {
        text = utf8.decode(raw);
      } catch {
        throw new InvalidInputError('request body is not valid UTF-8 text, so not JSON');
      }
      state.body = parseJson(text, maxDepth);
    },
  };
}
