import type { Twin } from '../src/core/protocols.js';
import { createFibreGdl } from './fibre-gdl.js';
import { createGanTwin } from './gan.js';
import { createGrainElectrode } from './grain-electrode.js';
import { createSofcAnode } from './sofc-anode.js';

/**
 * The generative manufacturing digital twins (G-model, issue 3), by the names configs and the
 * CLI use. Each factory returns a fresh, stateless Twin; generation is synchronous and
 * deterministic for a seed. Model descriptions: docs/twins.md.
 */
export const BUILT_IN_TWINS: Readonly<Record<string, () => Twin>> = Object.freeze({
  'fibre-gdl': createFibreGdl,
  // A trained SliceGAN generator (issue #19): `twin: { name: gan, model: <folder> }`.
  gan: createGanTwin,
  'grain-electrode': createGrainElectrode,
  'sofc-anode': createSofcAnode,
});

/**
 * The registry: the built-ins, to which a caller may add or replace entries (`registries.twins`
 * is this object). Whether an entry is still the built-in is checked against the frozen map
 * above, not a copy taken when some module loaded — a registry changed before that module
 * loaded gave a wrong copy (review 2026-12-07).
 */
export const twinRegistry: Record<string, () => Twin> = { ...BUILT_IN_TWINS };

export { FIBRE_GDL_PHASES } from './fibre-gdl.js';
export { GRAIN_ELECTRODE_PHASES } from './grain-electrode.js';
export { SOFC_ANODE_PHASES } from './sofc-anode.js';
