/**
 * poreloop as a library (`import { … } from 'poreloop'`), for lab software that embeds it:
 * the interfaces of src/core/protocols.ts, the campaign runner, and the building blocks — with
 * the types of what they take and return, so that a caller can name them (library review).
 */
export * from './core/protocols.js';
export { BadInputError, LedgerError, PoreloopError, SimulationError, exitCodeFor } from './core/errors.js';
export { ok, err, unwrap, type Result } from './core/result.js';
export { createRng, hash32, type Rng } from './core/rng.js';
export * as space from './core/space.js';

export { campaignSchema, campaignJsonSchema, type CampaignConfig } from './config/schema.js';
export { resolveCampaign, type ResolvedCampaign, type Overrides } from './config/load.js';
export { compileReward, REWARD_FUNCTIONS, type RewardExpression } from './reward/expression.js';
export { dominates, hypervolume, paretoFront } from './reward/pareto.js';
export { paretoOf, withParetoExport, type ParetoReport } from './compose/pareto.js';

export { loadCampaign, runCampaign, resumeCampaign, registries, type CampaignSummary, type RunOptions } from './compose/campaign.js';
export { campaignMachine, type CampaignContext, type CampaignLimits } from './orchestrator/campaign.machine.js';
export { CampaignRuntime, type ProgressEvent } from './orchestrator/runtime.js';
export { Ledger, issueCommand, type CampaignRow, type TrialRow, type JobRow } from './ledger/ledger.js';
export type { DocumentBodies, DocumentType, LedgerDocument } from './ledger/documents.js';
export { exportCampaign, summariseCampaign, toCsv, type ExportDocument, type TrialSummary } from './ledger/export.js';

export { createVoxels, phaseFractions } from './voxel/voxels.js';
export { readVolume, writeVolume } from './voxel/io.js';
export { simulate, simulatorRegistry, PROPERTIES } from './physics/index.js';
export { tortuosity, tortuosityOnDevice, solveTransportOnDevice, probeGpu, type SolverDevice, type DeviceTransportResult } from './physics/index.js';
export { createPredictor, type PredictorOptions, type SurrogatePredictor } from './predict/predictor.js';
export { DeepEnsemble } from './surrogate/ensemble.js';

export { twinRegistry } from '../twins/index.js';
export { agentRegistry, type AgentFactory } from '../agents/index.js';
export { createStagePpo } from '../agents/ppo-stages.js';
export { createStageEnvironment, recordPolicyVersion, type StageEnvironmentOptions, type TwinStageEnvironment } from './compose/stages.js';
export { runStagedEpisode, type StagedEpisodeOptions } from './compose/stage-rigs.js';
export { createRig, type CreateRigOptions, type HandlerContext, type HandlerResult, type RigHandle, type RigHandler } from '../robots/sdk/index.js';
export { createSimulatedLab } from '../robots/sim/index.js';
export { createDispatcher, type CreateDispatcherOptions, type Dispatcher, type DispatcherOptions } from '../robots/dispatcher.js';
export { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from '../robots/broker.js';
export { connectMqtt, type ConnectionEvent, type MqttConnectOptions, type MqttTransport } from '../robots/transport/mqtt.js';
