import type { EntrySource } from '../root/entry-source.js';
import { UnsupportedBranchError } from '../root/errors.js';
import type { Preprocessing } from './preproc.js';
import type { Workflow } from './workflow.js';

export interface Selection {
  /** branches read from the file: features, inputs of new branches and cuts, the label branch */
  read: string[];
  /** branches (read or new) that become features, before expansion of jagged ones */
  features: string[];
  /** the branch holding each event's label, when labels name a branch */
  labelBranch?: string;
}

/**
 * Which branches a workflow reads and which become features: selected_branches (or every numeric
 * branch), minus identifiers, exclude_branches, the label branch and dropped ones, plus new branches.
 */
export function selectBranches(tree: EntrySource, w: Workflow, pre: Preprocessing): Selection {
  const p = w.params;
  const labelBranch = typeof w.labels === 'string' ? w.labels : undefined;
  // the label may be a branch of the file, or one the workflow defines (a cut: "nMuon >= 2")
  const labelDefined = pre.defines.some((d) => d.name === labelBranch);
  if (labelBranch && !labelDefined) tree.branch(labelBranch);
  let candidates: string[];
  if (p.selected_branches) {
    candidates = p.selected_branches.map((name) => {
      const b = tree.branch(name);
      if (b.unsupported) throw new UnsupportedBranchError(tree.file.name, b.name, b.typeName, b.unsupported);
      return b.name;
    });
  } else candidates = tree.numericBranches().map((b) => b.name);
  const out = new Set([...p.identifier, ...p.exclude_branches, ...pre.drop]);
  if (labelBranch) out.add(labelBranch);
  const defined = new Set(pre.defines.map((d) => d.name));
  const features = [...candidates.filter((b) => !out.has(b)), ...[...defined].filter((d) => !out.has(d))];
  const read = new Set(features.filter((f) => !defined.has(f)));
  for (const i of pre.inputs) read.add(i);
  if (labelBranch && !labelDefined) read.add(labelBranch);
  for (const r of read) {
    const b = tree.branch(r);
    if (b.unsupported) throw new UnsupportedBranchError(tree.file.name, b.name, b.typeName, b.unsupported);
  }
  return { read: [...read], features, labelBranch };
}
