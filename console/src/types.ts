import type { JobEpoch, JobProgress, ModelDescription } from '../../lib/wire-types';

export interface Job {
  job_id: string;
  status: string;
  created: string;
  updated: string;
  started?: string;
  finished?: string;
  attempts: number;
  progress?: JobProgress;
  history?: JobEpoch[];
  error?: string;
  model?: { name: string; version: string };
  metrics?: { auc?: number; accuracy?: number; testEvents?: number };
}

export interface ModelEntry {
  name: string;
  version?: string;
  latest?: string;
  owner?: string;
  ownerGroup?: string;
  description?: string;
  timestamp?: string;
  [k: string]: unknown;
}

export type { ModelDescription };

export interface DataFile {
  source: string;
  key: string;
  area: string;
  size: number;
}

export interface TreeBranches {
  name: string;
  kind: string;
  entries: number;
  branches: Array<{ name: string; type: string; shape: string; readable: boolean; why?: string }>;
}

export const TERMINAL = ['succeeded', 'failed', 'cancelled'];
