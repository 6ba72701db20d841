/** The Predictor of the P-model (issue #5; docs/surrogates.md). */
export { acquire, expectedImprovement, farthestPoints, rewardEstimate, type AcquisitionName } from './acquisition.js';
export { createPredictor, type GeneratedCandidate, type ModelTrainedInfo, type TrainingRow, type PredictorOptions, type SurrogatePredictor } from './predictor.js';
export { durabilityEstimates, type DurabilityEstimate, type EarlyLifeModel } from './early-life.js';
