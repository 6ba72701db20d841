/**
 * `npx tsx experiments/sofc-simwonis.ts` (issue #20): the SOFC anode model's Ni-network
 * conductivity after 1000 h and 4000 h of Ni coarsening (src/physics/device/sofc.ts agedAnode,
 * default growth assumption: d_Ni × 1.3 in 1000 h, d⁴ law), over the Ni share of the solid, next
 * to the one published figure quoted in docs/device-models.md: Simwonis, Tietz & Stöver, Solid
 * State Ionics 132 (2000) 241, abstract — "a decrease of 33 % of the initial electrical
 * conductivity ... after exposing the cermet in Ar/4 % H2/3 % H2O at 1000 °C for 4000 h".
 * Prints a table; deterministic, no inputs.
 */
import { agedAnode, nickelDiameterRatio } from '../src/physics/device/sofc.js';

// Only the ratio σ(t)/σ(0) is printed: every other input of agedAnode scales out.
const unit = { tpbDensity: 1, sigmaIonic: 1, sigmaElectronic: 1, thickness: 1, temperatureK: 1273.15, i0Tpb: 1, alphaA: 0.5, alphaC: 0.5 };
const lines = ['| Ni share of the solid | σ_el(1000 h)/σ_el(0) | σ_el(4000 h)/σ_el(0) | loss at 4000 h |', '| ---: | ---: | ---: | ---: |'];
for (const phi of [0.35, 0.4, 0.45, 0.5, 0.55]) {
  const [r1, r4] = [1000, 4000].map((h) => agedAnode(unit, h, phi).sigmaElectronic);
  lines.push(`| ${phi.toFixed(2)} | ${r1.toFixed(3)} | ${r4.toFixed(3)} | ${(100 * (1 - r4)).toFixed(0)} % |`);
}
lines.push('', `d_Ni(4000 h)/d_Ni(0) = ${nickelDiameterRatio(4000).toFixed(2)}; measured (Simwonis et al. 2000): 33 % loss at 4000 h, 1000 °C.`);
process.stdout.write(lines.join('\n') + '\n');
