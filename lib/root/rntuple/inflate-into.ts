import { constants, Inflate } from 'node:zlib';

/** The parts of a node:zlib stream inflateSync itself drives (lib/zlib.js, processChunkSync). */
interface Internals {
  _handle?: {
    writeSync(
      flush: number,
      input: Uint8Array,
      inOff: number,
      inLen: number,
      out: Uint8Array,
      outOff: number,
      outLen: number,
    ): void;
  };
  /** [output bytes left, input bytes left] after the last write */
  _writeState?: Uint32Array;
}

/**
 * Inflates zlib streams into the caller's buffer with one reused inflater. node:zlib's inflateSync
 * builds a stream object, a zlib state with its 32 KiB window and a fresh output buffer per call:
 * for RNTuple pages of 32-64 KiB that cost about a fifth of the inflating, and the garbage and
 * first-touch page faults of one new buffer per page. This drives the same native handle the same
 * way inflateSync does, through node:zlib internals; where they are missing (another Node version
 * or engine) or anything unexpected happens, `into` answers false and the caller inflates with
 * inflateSync, which then also words any error.
 */
export class Inflater {
  private z: (Inflate & Internals) | undefined;
  private usable = true;
  /** where the end of a stream must inflate to nothing: a stream longer than its page is refused */
  private readonly tail = new Uint8Array(64);

  private ready(): (Inflate & Internals) | undefined {
    if (!this.usable) return undefined;
    if (!this.z) {
      const z = new Inflate() as Inflate & Internals;
      if (typeof z._handle?.writeSync !== 'function' || !(z._writeState instanceof Uint32Array)) {
        this.usable = false;
        z.close();
        return undefined;
      }
      // a zlib error destroys the stream, which then emits 'error' (on the next tick): the caller
      // learns of it at once from the stream's handle, gone (`destroyed`, a stream getter, cost
      // more than the check itself), and inflates again with inflateSync to word it
      z.on('error', () => {});
      this.z = z;
    } else this.z.reset();
    return this.z;
  }

  /** True when `stream` is one whole zlib stream that inflates to exactly out.length bytes, now in `out`. */
  into(stream: Uint8Array, out: Uint8Array): boolean {
    const z = this.ready();
    if (!z) return false;
    const h = z._handle!;
    const state = z._writeState!;
    try {
      h.writeSync(constants.Z_FINISH, stream, 0, stream.length, out, 0, out.length);
      if (!z._handle || state[0] !== 0) return this.drop(z);
      // the output is full: what input is left must end the stream (its Adler-32) and inflate to
      // nothing. Asked even when no input is left, so a stream cut before its checksum is an error,
      // as with inflateSync ("unexpected end of file")
      const left = state[1];
      h.writeSync(constants.Z_FINISH, stream, stream.length - left, left, this.tail, 0, this.tail.length);
      if (!z._handle || state[0] !== this.tail.length || state[1] !== 0) return this.drop(z);
    } catch {
      // internals that report errors by throwing (not those of the Node versions tested): the same
      return this.drop(z);
    }
    return true;
  }

  private drop(z: Inflate): false {
    if (!z.destroyed) z.close();
    this.z = undefined;
    return false;
  }
}
