import busboy from 'busboy';
import { InvalidInputError, PayloadTooLargeError, truncateName } from '../errors.js';

/** One part of a multipart/form-data body: a field (no filename) or a file. */
export interface FormPart {
  name: string;
  filename?: string;
  contentType: string;
  data: Buffer;
}

export interface MultipartLimits {
  /** most bytes of one part */
  maxPartBytes: number;
  /** most parts (fields and files) */
  maxParts?: number;
}

export const isMultipart = (contentType: string | undefined): boolean =>
  /^multipart\/form-data\b/i.test(contentType ?? '');

/**
 * Parses a multipart/form-data body that is already in memory (and already within the route's
 * body limit) with busboy, under limits on the number of parts and the size of each: TFaaS's
 * clients upload and delete models with forms. Malformed forms are 400s, oversized parts 413s.
 */
export function parseMultipart(
  body: Buffer,
  contentType: string,
  limits: MultipartLimits,
): Promise<FormPart[]> {
  const maxParts = limits.maxParts ?? 16;
  return new Promise((resolve, reject) => {
    const parts: FormPart[] = [];
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      reject(err);
    };
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: { 'content-type': contentType },
        limits: {
          parts: maxParts,
          files: maxParts,
          fields: maxParts,
          fileSize: limits.maxPartBytes,
          fieldSize: limits.maxPartBytes,
        },
      });
    } catch (err) {
      fail(new InvalidInputError(`malformed multipart form: ${(err as Error).message}`));
      return;
    }
    bb.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () =>
        fail(
          new PayloadTooLargeError(
            `form part "${truncateName(name)}" is over the limit of ${limits.maxPartBytes} bytes`,
          ),
        ),
      );
      stream.on('close', () =>
        parts.push({
          name,
          filename: info.filename,
          contentType: info.mimeType,
          data: Buffer.concat(chunks),
        }),
      );
    });
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated)
        fail(
          new PayloadTooLargeError(
            `form field "${truncateName(name)}" is over the limit of ${limits.maxPartBytes} bytes`,
          ),
        );
      parts.push({ name, contentType: info.mimeType, data: Buffer.from(value) });
    });
    bb.on('partsLimit', () => fail(new PayloadTooLargeError(`the form has more than ${maxParts} parts`)));
    bb.on('filesLimit', () => fail(new PayloadTooLargeError(`the form has more than ${maxParts} files`)));
    bb.on('fieldsLimit', () => fail(new PayloadTooLargeError(`the form has more than ${maxParts} fields`)));
    bb.on('error', (err: Error) => fail(new InvalidInputError(`malformed multipart form: ${err.message}`)));
    bb.on('close', () => {
      if (!failed) resolve(parts);
    });
    bb.end(body);
  });
}
