// The node kinds as people read them, and the colours the pictures give them.

export type NodeKind =
  | 'DATASET'
  | 'DATASET_VERSION'
  | 'TRAINING_JOB'
  | 'PROCESSING_JOB'
  | 'ARTIFACT'
  | 'REGISTERED_MODEL'
  | 'MODEL_VERSION'
  | 'ENDPOINT'
  | 'EXPERIMENT'
  | 'RUN_GROUP'
  | 'RUN';

export const KINDS: NodeKind[] = [
  'ENDPOINT',
  'MODEL_VERSION',
  'REGISTERED_MODEL',
  'TRAINING_JOB',
  'PROCESSING_JOB',
  'RUN',
  'DATASET_VERSION',
  'DATASET',
  'ARTIFACT',
  'EXPERIMENT',
  'RUN_GROUP',
];

const LABELS: Record<NodeKind, [string, string]> = {
  DATASET: ['Dataset', 'Datasets'],
  DATASET_VERSION: ['Dataset version', 'Dataset versions'],
  TRAINING_JOB: ['Training job', 'Training jobs'],
  PROCESSING_JOB: ['Processing job', 'Processing jobs'],
  ARTIFACT: ['Artifact', 'Artifacts'],
  REGISTERED_MODEL: ['Registered model', 'Registered models'],
  MODEL_VERSION: ['Model version', 'Model versions'],
  ENDPOINT: ['Endpoint', 'Endpoints'],
  EXPERIMENT: ['Experiment', 'Experiments'],
  RUN_GROUP: ['Run group', 'Run groups'],
  RUN: ['Run', 'Runs'],
};

export function kindLabel(kind: string, plural = false): string {
  const l = LABELS[kind as NodeKind];
  return l ? l[plural ? 1 : 0] : kind;
}

/**
 * Fill and stroke of a kind's boxes (also written into exported SVG and PNG): the same
 * colours as the server's pictures (export.StyleOf: the evidence package, lineageExport
 * SVG) — data blue, jobs and runs amber, artifacts grey, models green, endpoints violet,
 * experiments slate.
 */
const DATA = { fill: '#dbeafe', stroke: '#1d4ed8' };
const WORK = { fill: '#fef3c7', stroke: '#b45309' };
const MODEL = { fill: '#dcfce7', stroke: '#15803d' };
const SLATE = { fill: '#e2e8f0', stroke: '#334155' };
const GREY = { fill: '#f3f4f6', stroke: '#4b5563' };
export const KIND_COLORS: Record<NodeKind, { fill: string; stroke: string }> = {
  DATASET: DATA,
  DATASET_VERSION: DATA,
  TRAINING_JOB: WORK,
  PROCESSING_JOB: WORK,
  RUN: WORK,
  ARTIFACT: GREY,
  REGISTERED_MODEL: MODEL,
  MODEL_VERSION: MODEL,
  ENDPOINT: { fill: '#ede9fe', stroke: '#6d28d9' },
  EXPERIMENT: SLATE,
  RUN_GROUP: SLATE,
};

export function kindColor(kind: string): { fill: string; stroke: string } {
  return KIND_COLORS[kind as NodeKind] ?? GREY;
}
