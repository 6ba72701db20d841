/**
 * DNN surrogates of the P-model (issue #5; docs/surrogates.md): backend selection, the
 * multi-task MLP deep ensemble, the 3D-CNN ensemble in a worker thread, transforms,
 * cheap transport descriptors of a volume and tfjs-format persistence.
 */
export { ensureBackend, type BackendKind, type BackendOptions } from './backend.js';
export { CnnSurrogate, type CnnOptions } from './cnn.js';
export { checkDataset, datasetHash } from './dataset.js';
export { TRANSPORT_DESCRIPTORS, transportDescriptors } from './descriptors.js';
export { EolSurrogate, seriesColumns, type EolMetadata, type EolOptions } from './eol.js';
export { coverage, DeepEnsemble, type Calibration, type EnsembleMetadata, type EnsembleOptions, type FitOptions } from './ensemble.js';
export { fileIO } from './io.js';
export { buildNetwork, DEFAULT_MLP, type Architecture, type Cnn3dArchitecture, type MlpArchitecture } from './network.js';
export { defaultTransform, type TransformName } from './transforms.js';
export { downsample, downsampledShape } from './volume.js';
