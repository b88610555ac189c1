import { MlaasError } from '../errors.js';

/** A request or upload bigger than the service accepts (HTTP 413). */
export class PayloadTooLargeError extends MlaasError {
  constructor(message: string, code = 'PayloadTooLarge') {
    super(message, 413, code);
  }
}

/** A model bundle that unpacks to more bytes (or files) than allowed. */
export class BundleTooLargeError extends PayloadTooLargeError {
  constructor(message: string) {
    super(message, 'BundleTooLarge');
  }
}
