import { readHeaderFooter } from 'jsroot/rntuple';
import type { RootFile } from './file.js';

export interface RNTupleSummary {
  name: string;
  entries: number;
  fields: Array<{ name: string; type: string }>;
}

interface FieldDescriptor {
  fieldName: string;
  typeName: string;
  parentFieldId: number;
}
interface Builder {
  fieldDescriptors?: FieldDescriptor[];
  clusterSummaries?: Array<{ numEntries: number | bigint }>;
}

/**
 * Describes an RNTuple from its header and footer (jsroot reads those reliably). Its data is not
 * exposed as columns: jsroot's RNTuple entry loop returns collection fields (RVec) incorrectly, so
 * reading them raises RNTupleNotSupportedError instead of returning wrong values.
 */
export async function describeRNTuple(file: RootFile, name: string): Promise<RNTupleSummary | undefined> {
  try {
    const tuple = await file.jsroot.readObject(name);
    const builder = (await readHeaderFooter(tuple)) as unknown as Builder | null;
    if (!builder?.fieldDescriptors) return undefined;
    const fields = builder.fieldDescriptors
      .map((f, id) => ({ f, id }))
      .filter(({ f, id }) => f.parentFieldId === id && !f.fieldName.startsWith('_'))
      .map(({ f }) => ({ name: f.fieldName, type: f.typeName }));
    const entries = (builder.clusterSummaries ?? []).reduce((n, c) => n + Number(c.numEntries), 0);
    return { name, entries, fields };
  } catch {
    return undefined;
  }
}
