import { MlaasError, NotFoundError, nearestNames, UnavailableError, UnprocessableError } from '../errors.js';

/** The file (path, URL or object) does not exist or cannot be reached. */
export class RootFileNotFoundError extends NotFoundError {
  constructor(source: string, detail?: string, options?: { cause?: unknown }) {
    super(`ROOT file not found: ${source}${detail ? ` (${detail})` : ''}`, 'FileNotFound', options);
  }
}

/** The bytes are not a ROOT file at all (no "root" magic). */
export class NotARootFileError extends UnprocessableError {
  constructor(source: string, options?: { cause?: unknown }) {
    super(
      `${source} is not a ROOT file (it does not start with the "root" signature)`,
      'NotARootFile',
      options,
    );
  }
}

/** The file is a ROOT file but some part of it is truncated or damaged. */
export class CorruptFileError extends UnprocessableError {
  constructor(source: string, what: string, options?: { cause?: unknown }) {
    super(`${source} is truncated or corrupt: ${what}`, 'CorruptFile', options);
  }
}

export class TreeNotFoundError extends NotFoundError {
  constructor(source: string, tree: string, trees: string[], rntuples: string[] = []) {
    const list = [
      ...(trees.length ? [`trees in this file: ${trees.join(', ')}`] : []),
      ...(rntuples.length ? [`RNTuples in this file: ${rntuples.join(', ')}`] : []),
    ];
    super(
      `no TTree${rntuples.length ? ' or RNTuple' : ''} named "${tree}" in ${source}; ${list.join('; ') || 'this file contains no TTree'}`,
      'TreeNotFound',
    );
  }
}

export class BranchNotFoundError extends NotFoundError {
  readonly suggestions: string[];
  constructor(source: string, tree: string, branch: string, available: Iterable<string>) {
    const suggestions = nearestNames(branch, available);
    const hint = suggestions.length ? `; did you mean ${suggestions.map((s) => `"${s}"`).join(' or ')}?` : '';
    super(`no branch named "${branch}" in tree "${tree}" of ${source}${hint}`, 'BranchNotFound');
    this.suggestions = suggestions;
  }
}

export class UnsupportedBranchError extends UnprocessableError {
  constructor(source: string, branch: string, typeName: string, why = 'its type cannot be read as numbers') {
    super(`branch "${branch}" (type ${typeName}) in ${source} is not supported: ${why}`, 'UnsupportedBranch');
  }
}

export class UnsupportedCodecError extends UnprocessableError {
  constructor(source: string, codec: string) {
    super(
      `${source} uses the compression algorithm "${codec}", which this reader does not support`,
      'UnsupportedCodec',
    );
  }
}

/** An RNTuple written with a format version or feature this reader does not know. */
export class UnsupportedRNTupleError extends UnprocessableError {
  constructor(source: string, name: string, why: string) {
    super(`RNTuple "${name}" in ${source} cannot be read: ${why}`, 'UnsupportedRNTuple');
  }
}

/** The remote file was replaced while we read it; bytes from both versions must not be mixed. */
export class SourceChangedError extends UnavailableError {
  constructor(source: string, detail: string) {
    super(`${source} changed while it was being read (${detail}); read it again`);
  }
}

export { MlaasError };
