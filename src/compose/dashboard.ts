import { generateTwinAsync } from '../../twins/async.js';
import type { Parameters, Shape3, Voxels } from '../core/protocols.js';
import { isFeasible } from '../core/space.js';
import { resolveCampaign } from '../config/load.js';
import type { CampaignRow, TrialRow } from '../ledger/ledger.js';
import { trialVolumeSeed } from '../orchestrator/runtime.js';
import { configRegistries } from './campaign.js';

/**
 * What the dashboard (src/serve) needs from the plugins, composed here (DESIGN.md: src/compose
 * is the one place that composes): a trial's microstructure and the check of edited parameters.
 */

interface TwinConfig {
  name: string;
  size: Shape3;
  voxelSize: number;
  fixed?: Parameters;
}

/**
 * The volume the P-model generated for a trial: the campaign's twin with the trial's
 * parameters (plus the config's fixed ones) and the trial's volume seed. Volumes are not kept
 * on disk; the twin is deterministic, so this is the same volume, byte for byte.
 */
export async function trialVolume(c: CampaignRow, t: TrialRow): Promise<Voxels | null> {
  const twin = (c.config as { twin?: TwinConfig }).twin;
  if (!twin) return null;
  const out = await generateTwinAsync(twin.name, { ...t.params, ...(twin.fixed ?? {}) }, { seed: trialVolumeSeed(c.seed, t.round, t.index), size: twin.size, voxelSize: twin.voxelSize });
  return out.voxels;
}

/** Why parameters an operator typed are not in the campaign's space ([] when they are). */
export function checkTrialParams(c: CampaignRow, params: Parameters): string[] {
  const resolved = resolveCampaign(c.config, configRegistries(), { storedConfig: true }, {}, c.source);
  return isFeasible(resolved.space, params).violations;
}
