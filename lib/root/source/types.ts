/** A byte range in a file: [offset, length]. */
export type ByteRange = readonly [offset: number, length: number];

/**
 * Where the bytes of a ROOT file come from. Only fetches bytes; knows nothing of the format
 * (uproot's source layer is the model). Every implementation must:
 * - throw RootFileNotFoundError when the file does not exist or cannot be reached,
 * - throw CorruptFileError (naming the source) when a range lies beyond the end of the file,
 * - return exactly one Uint8Array per requested range, in request order, each of the requested length.
 */
export interface ByteSource {
  /** Human-readable identity used in error messages (path, URL, s3://bucket/key). */
  readonly name: string;
  /** Total size in bytes; resolves the file's existence on first call. */
  size(): Promise<number>;
  /**
   * Reads several ranges at once; implementations coalesce nearby ranges into fewer requests.
   * `alloc`, when given, is asked for the buffer of each request (a reader recycling its buffers:
   * a fresh buffer of megabytes costs more in page faults than the read itself); a source may
   * ignore it and allocate its own.
   */
  read(ranges: readonly ByteRange[], alloc?: (bytes: number) => Uint8Array): Promise<Uint8Array[]>;
  /**
   * True when every read returns bytes in buffers allocated for that call alone and never kept by
   * the source, so a reader may hand them to another thread instead of copying them.
   */
  readonly freshBuffers?: boolean;
  /** An identity that changes when the content changes (ETag, or size+mtime). */
  fingerprint(): Promise<string>;
  close(): Promise<void>;
}

/** Options shared by remote sources. */
export interface CoalesceOptions {
  /** Ranges closer than this many bytes are merged into one request (uproot uses 32 KiB). */
  gap?: number;
  /** Upper bound on one merged request. */
  maxRequestBytes?: number;
}

/**
 * Decides whether a remote server may be contacted; throws (a typed error) to refuse. Sources call it
 * before every connection they open, redirects included, so a policy (no private addresses, say)
 * holds for every hop and not only for the URL the user gave.
 */
export type HostCheck = (target: { protocol: string; host: string; port: number }) => void | Promise<void>;
