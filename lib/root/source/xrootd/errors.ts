import { type MlaasError, UnavailableError, UnprocessableError } from '../../../errors.js';
import { RootFileNotFoundError } from '../../errors.js';
import { ErrorCode, text } from './protocol.js';

/** Answers a later attempt may not get: busy, overloaded, an I/O hiccup, a redirector without a data server yet. */
const TRANSIENT = new Set<number>([
  ErrorCode.FSError,
  ErrorCode.IOError,
  ErrorCode.NoMemory,
  ErrorCode.ServerError,
  ErrorCode.noserver,
  ErrorCode.inProgress,
  ErrorCode.Overloaded,
  ErrorCode.ReqTimedOut,
  ErrorCode.TimerExpired,
  ErrorCode.FileLocked,
  ErrorCode.Cancelled,
]);

/**
 * A kXR_error answer as one of our typed errors. `name` is the file as the user gave it. Transient
 * errors are UnavailableError (503, retried by the source); the rest say what is wrong with the request.
 */
export function serverError(name: string, body: Buffer): MlaasError {
  const code = body.length >= 4 ? body.readInt32BE(0) : 0;
  const message = body.length > 4 ? text(body, 4) : '';
  const said = `[${code}] ${message || 'no message'}`;
  switch (code) {
    case ErrorCode.NotFound:
    case ErrorCode.noReplicas:
      return new RootFileNotFoundError(name, `the server says: ${said}`);
    case ErrorCode.NotAuthorized:
      return new RootFileNotFoundError(name, `access denied: ${said}`);
    case ErrorCode.isDirectory:
    case ErrorCode.NotFile:
      return new RootFileNotFoundError(name, `not a file: ${said}`);
    case ErrorCode.TLSRequired:
      return new UnprocessableError(
        `${name} can only be read over TLS: use roots:// instead of root:// (the server says: ${said})`,
        'TLSRequired',
      );
    case ErrorCode.AuthFailed:
      return new UnprocessableError(
        `${name}: authentication failed (the server says: ${said})`,
        'AuthenticationFailed',
      );
    default:
      if (TRANSIENT.has(code))
        return new UnavailableError(`${name} could not be read: the server says ${said}`);
      return new UnprocessableError(`${name} could not be read: the server says ${said}`, 'XRootDError');
  }
}
