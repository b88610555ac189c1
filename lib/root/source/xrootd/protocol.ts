/**
 * The parts of the XRootD protocol (version 5, XProtocol.hh) this client speaks: request and
 * response codes, flags, and the fixed 24-byte request header. Everything on the wire is big-endian.
 */

export const Request = {
  auth: 3000,
  close: 3003,
  protocol: 3006,
  login: 3007,
  open: 3010,
  read: 3013,
  stat: 3017,
  endsess: 3023,
  readv: 3025,
} as const;

export const Status = {
  ok: 0,
  oksofar: 4000,
  attn: 4001,
  authmore: 4002,
  error: 4003,
  redirect: 4004,
  wait: 4005,
  waitresp: 4006,
} as const;

/** kXR_attn action codes still in use. */
export const Attn = { asyncms: 5002, asynresp: 5008 } as const;

export const ErrorCode = {
  ArgInvalid: 3000,
  ArgMissing: 3001,
  ArgTooLong: 3002,
  FileLocked: 3003,
  FileNotOpen: 3004,
  FSError: 3005,
  InvalidRequest: 3006,
  IOError: 3007,
  NoMemory: 3008,
  NoSpace: 3009,
  NotAuthorized: 3010,
  NotFound: 3011,
  ServerError: 3012,
  Unsupported: 3013,
  noserver: 3014,
  NotFile: 3015,
  isDirectory: 3016,
  Cancelled: 3017,
  inProgress: 3020,
  Overloaded: 3024,
  TLSRequired: 3028,
  noReplicas: 3029,
  AuthFailed: 3030,
  ReqTimedOut: 3034,
  TimerExpired: 3035,
} as const;

/** The protocol version we claim: 5.0.0, the first with TLS (we do not sign requests). */
export const CLIENT_VERSION = 0x500;

/** kXR_protocol request flags and the "expect" value for a connection that will log in. */
export const ProtocolFlag = { secreqs: 0x01, ableTLS: 0x02, wantTLS: 0x04 } as const;
export const EXPECT_LOGIN = 0x03;

/** Flags in the kXR_protocol response. */
export const ServerFlag = {
  isManager: 0x2,
  isServer: 0x1,
  haveTLS: 0x80000000,
  gotoTLS: 0x40000000,
  tlsLogin: 0x04000000,
  tlsSess: 0x08000000,
} as const;

/** kXR_login capabilities: asynchronous responses understood, the 2019 (TLS-capable) client. */
export const LOGIN_CAPVER = 0x80 | 5;

/** kXR_open options: read-only, and return the file's stat information with the handle. */
export const OPEN_READ = 0x0010;
export const OPEN_RETSTAT = 0x0400;

/** Limits of one kXR_readv (XrdProto): 1024 elements, each at most 2 MiB less its 16-byte header. */
export const READV_MAX_ELEMENTS = 1024;
export const READV_MAX_SEGMENT = 2 * 1024 * 1024 - 16;
export const READV_ELEMENT = 16;

export const HEADER = 24;
export const RESPONSE_HEADER = 8;

/** The client's opening bytes: four zeros... then 4 and 2012, as the protocol prescribes. */
export function handshake(): Buffer {
  const b = Buffer.alloc(20);
  b.writeInt32BE(4, 12);
  b.writeInt32BE(2012, 16);
  return b;
}

/**
 * One request: stream id, request code, 16 bytes of parameters written by `fill` (offsets 4..19),
 * and the payload length, followed by the payload.
 */
export function encodeRequest(
  streamId: number,
  code: number,
  fill?: (b: Buffer) => void,
  payload?: Uint8Array,
): Buffer {
  const b = Buffer.alloc(HEADER + (payload?.length ?? 0));
  b.writeUInt16BE(streamId, 0);
  b.writeUInt16BE(code, 2);
  fill?.(b);
  b.writeInt32BE(payload?.length ?? 0, 20);
  if (payload) b.set(payload, HEADER);
  return b;
}

export const REQUEST_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Request).map(([k, v]) => [v, `kXR_${k}`]),
);

/** A NUL-terminated (or unterminated) text body. */
export function text(body: Uint8Array, from = 0): string {
  const end = body.indexOf(0, from);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    .toString('utf8', from, end < 0 ? body.length : end)
    .trim();
}
