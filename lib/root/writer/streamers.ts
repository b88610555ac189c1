import type { RootBuffer } from './buffer.js';
import { CLASSES } from './streamer-classes.js';
import { type Element, elementShape } from './streamer-elements.js';

export { streamerClasses } from './streamer-classes.js';

/**
 * Serialises the StreamerInfo record: a TList of TStreamerInfo, each with a TObjArray of streamer
 * elements, byte for byte as ROOT's TBufferFile lays them out (checked against a ROOT 6.22 file).
 */

const ELEMENT_CLASS: Record<Element['kind'], [string, number]> = {
  base: ['TStreamerBase', 3],
  basic: ['TStreamerBasicType', 2],
  string: ['TStreamerString', 2],
  object: ['TStreamerObject', 2],
  pointer: ['TStreamerObjectPointer', 2],
  any: ['TStreamerObjectAny', 2],
  basicPointer: ['TStreamerBasicPointer', 2],
  stl: ['TStreamerSTL', 3],
};

// fBits as ROOT writes them: kIsOnHeap | kNotDeleted, plus what each object has set.
const ON_HEAP = 0x03000000;
const INFO_BITS = ON_HEAP | 0x00010000;
const STACK_ARRAY_BITS = 0x02000000;

function writeElement(b: RootBuffer, e: Element): void {
  const [cls, version] = ELEMENT_CLASS[e.kind];
  b.object(cls, e, (b) =>
    b.versioned(version, (b) => {
      const { type, size, typeName } = elementShape(e);
      b.versioned(4, (b) => {
        b.tnamed(e.name, e.title, ON_HEAP).i32(type).i32(size).i32(0).i32(0);
        // fMaxIndex[5]; a base class keeps its checksum in the second slot
        b.i32(0)
          .u32(e.kind === 'base' ? e.checksum : 0)
          .i32(0)
          .i32(0)
          .i32(0);
        b.tstring(typeName);
      });
      if (e.kind === 'base') b.i32(e.version);
      else if (e.kind === 'basicPointer')
        b.i32(e.count.version).tstring(e.count.name).tstring(e.count.className);
      else if (e.kind === 'stl') b.i32(e.stlType).i32(e.ctype);
    }),
  );
}

/** Streams the TList of TStreamerInfo that a file's StreamerInfo key holds. */
export function writeStreamerInfoList(b: RootBuffer, classes: readonly string[]): void {
  b.versioned(5, (b) => {
    b.tobject(STACK_ARRAY_BITS).tstring('').i32(classes.length);
    for (const name of classes) {
      const info = CLASSES[name];
      const elements = info.elements();
      b.object('TStreamerInfo', { name }, (b) =>
        b.versioned(9, (b) => {
          b.tnamed(name, '', INFO_BITS).u32(info.checksum).i32(info.version);
          b.object('TObjArray', elements, (b) =>
            b.versioned(3, (b) => {
              b.tobject(STACK_ARRAY_BITS).tstring('').i32(elements.length).i32(0);
              for (const e of elements) writeElement(b, e);
            }),
          );
        }),
      );
      b.u8(0); // the list entry's option string
    }
  });
}
