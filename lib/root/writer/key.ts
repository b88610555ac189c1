import { randomUUID } from 'node:crypto';
import { type RootBuffer, tstringLength } from './buffer.js';

/** Everything a TKey header records about one record of the file. */
export interface KeyHeader {
  /** whole record: key header plus (possibly compressed) object */
  nbytes: number;
  /** uncompressed object length, key header excluded */
  objlen: number;
  datime: number;
  keylen: number;
  cycle: number;
  seekKey: number;
  seekPdir: number;
  className: string;
  name: string;
  title: string;
  /** 64-bit seeks (key version 1004): always for baskets, otherwise only past 2 GB */
  big: boolean;
}

/** TKey class version; 1000 is added when the seeks take 64 bits. */
const KEY_VERSION = 4;

/** Length of a key header (fKeylen), not counting what a subclass such as TBasket appends. */
export function keyLength(className: string, name: string, title: string, big: boolean): number {
  return 18 + (big ? 16 : 8) + tstringLength(className) + tstringLength(name) + tstringLength(title);
}

export function writeKeyHeader(b: RootBuffer, k: KeyHeader): void {
  b.i32(k.nbytes)
    .i16(KEY_VERSION + (k.big ? 1000 : 0))
    .i32(k.objlen)
    .u32(k.datime)
    .i16(k.keylen)
    .i16((k.cycle << 16) >> 16);
  if (k.big) b.i64(k.seekKey).i64(k.seekPdir);
  else b.i32(k.seekKey).i32(k.seekPdir);
  b.tstring(k.className).tstring(k.name).tstring(k.title);
}

/** TDatime packing of local time: years since 1995, month, day, hour, minute, second. */
export function datime(d: Date): number {
  return (
    (((d.getFullYear() - 1995) << 26) |
      ((d.getMonth() + 1) << 22) |
      (d.getDate() << 17) |
      (d.getHours() << 12) |
      (d.getMinutes() << 6) |
      d.getSeconds()) >>>
    0
  );
}

/** A TUUID as TUUID::FillBuffer writes it: version 1 then the 16 bytes. */
export function newUuid(): Uint8Array {
  const hex = randomUUID().replaceAll('-', '');
  const out = new Uint8Array(18);
  out[1] = 1;
  for (let i = 0; i < 16; i++) out[2 + i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
