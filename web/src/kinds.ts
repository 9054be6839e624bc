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

/** Fill and stroke of a kind's boxes (also written into exported SVG and PNG). */
export const KIND_COLORS: Record<NodeKind, { fill: string; stroke: string }> = {
  DATASET: { fill: '#e3f2fd', stroke: '#1565c0' },
  DATASET_VERSION: { fill: '#e3f2fd', stroke: '#1565c0' },
  TRAINING_JOB: { fill: '#fff3e0', stroke: '#e65100' },
  PROCESSING_JOB: { fill: '#fff8e1', stroke: '#b26a00' },
  ARTIFACT: { fill: '#f3e5f5', stroke: '#6a1b9a' },
  REGISTERED_MODEL: { fill: '#e8f5e9', stroke: '#2e7d32' },
  MODEL_VERSION: { fill: '#e8f5e9', stroke: '#2e7d32' },
  ENDPOINT: { fill: '#fce4ec', stroke: '#ad1457' },
  EXPERIMENT: { fill: '#eceff1', stroke: '#455a64' },
  RUN_GROUP: { fill: '#eceff1', stroke: '#455a64' },
  RUN: { fill: '#fffde7', stroke: '#827717' },
};

export function kindColor(kind: string): { fill: string; stroke: string } {
  return KIND_COLORS[kind as NodeKind] ?? { fill: '#ffffff', stroke: '#616161' };
}
