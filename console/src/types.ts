export interface Job {
  job_id: string;
  status: string;
  created: string;
  updated: string;
  started?: string;
  finished?: string;
  attempts: number;
  progress?: {
    chunk: number;
    chunks: number;
    epoch: number;
    epochs: number;
    loss: number;
    eventsPerSecond: number;
  };
  history?: Array<{ epoch: number; chunk?: number; loss: number; valLoss?: number; valAuc?: number }>;
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

export interface ModelDescription {
  name: string;
  latest: string;
  version: string;
  versions: string[];
  description: string;
  timestamp: string;
  features: string[];
  classes: Array<number | string>;
  metrics: Record<string, unknown>;
  plots: string[];
  onnx?: unknown;
  owner?: { user: string; group?: string };
}

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
