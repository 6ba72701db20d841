/**
 * One fused pull–collide step of the D3Q19 TRT lattice over M fluid nodes (./lbm.ts),
 * unrolled so that the 19 populations live in locals. Storage is structure of arrays,
 * h[q·M + m], holding the deviation hᵢ = fᵢ − wᵢ from the rest equilibrium (ρ = 1, u = 0) in
 * Float32: the deviations of a Stokes flow are ~1e-5, so single precision keeps them to ~1e-12
 * while halving the memory traffic of a memory-bound kernel (arithmetic is in double).
 * Returns Σρu along the flow direction and max |u|² (when trackMax).
 * Generated from the velocity table of ./lbm.ts: the pair (q, q+1) is (e, −e) for odd q.
 */
export function stepD3Q19(ha: Float32Array, hb: Float32Array, src: Int32Array, force: Float64Array, M: number, wP: number, wM: number, gx: number, gy: number, gz: number, trackMax: boolean): [number, number] {
  let sumU = 0;
  let maxU2 = 0;
  const hM = 1 - 0.5 * wM;
  for (let m = 0; m < M; m++) {
    const h0 = ha[src[m]];
    const h1 = ha[src[1 * M + m]];
    const h2 = ha[src[2 * M + m]];
    const h3 = ha[src[3 * M + m]];
    const h4 = ha[src[4 * M + m]];
    const h5 = ha[src[5 * M + m]];
    const h6 = ha[src[6 * M + m]];
    const h7 = ha[src[7 * M + m]];
    const h8 = ha[src[8 * M + m]];
    const h9 = ha[src[9 * M + m]];
    const h10 = ha[src[10 * M + m]];
    const h11 = ha[src[11 * M + m]];
    const h12 = ha[src[12 * M + m]];
    const h13 = ha[src[13 * M + m]];
    const h14 = ha[src[14 * M + m]];
    const h15 = ha[src[15 * M + m]];
    const h16 = ha[src[16 * M + m]];
    const h17 = ha[src[17 * M + m]];
    const h18 = ha[src[18 * M + m]];
    // Σwᵢ = 1 and Σwᵢeᵢ = 0, so ρ = 1 + Σhᵢ and j = Σhᵢeᵢ.
    const rho = 1 + (h0 + h1 + h2 + h3 + h4 + h5 + h6 + h7 + h8 + h9 + h10 + h11 + h12 + h13 + h14 + h15 + h16 + h17 + h18);
    const g = force[m];
    const ux = (h1 - h2 + h7 - h8 + h9 - h10 + h11 - h12 + h13 - h14 + 0.5 * g * gx) / rho;
    const uy = (h3 - h4 + h7 - h8 - h9 + h10 + h15 - h16 + h17 - h18 + 0.5 * g * gy) / rho;
    const uz = (h5 - h6 + h11 - h12 - h13 + h14 + h15 - h16 - h17 + h18 + 0.5 * g * gz) / rho;
    sumU += rho * (ux * gx + uy * gy + uz * gz);
    const u2 = ux * ux + uy * uy + uz * uz;
    if (trackMax && u2 > maxU2) maxU2 = u2;
    const usq = 1.5 * u2;
    const fs = g * hM * 3;
    // Rest population: f0' = f0 − ω⁺(f0 − feq0), written as a deviation from w0.
    hb[m] = h0 - wP * (h0 + (1 / 3) - (1 / 3) * rho * (1 - usq));
    {
      const eu = ux;
      // Even and odd parts of the pair's equilibrium, minus w (hᵢ are deviations).
      const ep = (1 / 18) * (rho * (1 + 4.5 * eu * eu - usq) - 1);
      const em = (1 / 18) * rho * 3 * eu;
      const sp = 0.5 * (h1 + h2) - ep;
      const sm = 0.5 * (h1 - h2) - em;
      const fo = fs * (1 / 18) * (gx);
      hb[1 * M + m] = h1 - wP * sp - wM * sm + fo;
      hb[2 * M + m] = h2 - wP * sp + wM * sm - fo;
    }
    {
      const eu = uy;
      // Even and odd parts of the pair's equilibrium, minus w (hᵢ are deviations).
      const ep = (1 / 18) * (rho * (1 + 4.5 * eu * eu - usq) - 1);
      const em = (1 / 18) * rho * 3 * eu;
      const sp = 0.5 * (h3 + h4) - ep;
      const sm = 0.5 * (h3 - h4) - em;
      const fo = fs * (1 / 18) * (gy);
      hb[3 * M + m] = h3 - wP * sp - wM * sm + fo;
      hb[4 * M + m] = h4 - wP * sp + wM * sm - fo;
    }
    {
      const eu = uz;
      // Even and odd parts of the pair's equilibrium, minus w (hᵢ are deviations).
      const ep = (1 / 18) * (rho * (1 + 4.5 * eu * eu - usq) - 1);
      const em = (1 / 18) * rho * 3 * eu;
      const sp = 0.5 * (h5 + h6) - ep;
      const sm = 0.5 * (h5 - h6) - em;
      const fo = fs * (1 / 18) * (gz);
      hb[5 * M + m] = h5 - wP * sp - wM * sm + fo;
      hb[6 * M + m] = h6 - wP * sp + wM * sm - fo;
    }
    {
      const eu = ux + uy;
      // Even and odd parts of the pair's equilibrium, minus w (hᵢ are deviations).
      const ep = (1 / 36) * (rho * (1 + 4.5 * eu * eu - usq) - 1);
      const em = (1 / 36) * rho * 3 * eu;
      const sp = 0.5 * (h7 + h8) - ep;
      const sm = 0.5 * (h7 - h8) - em;
      const fo = fs * (1 / 36) * (gx + gy);
      hb[7 * M + m] = h7 - wP * sp - wM * sm + fo;
      hb[8 * M + m] = h8 - wP * sp + wM * sm - fo;
    }
    {
      const eu = ux - uy;
      // Even and odd parts of the pair's equilibrium, minus w (hᵢ are deviations).
      const ep = (1 / 36) * (rho * (1 + 4.5 * eu * eu - usq) - 1);
      const em = (1 / 36) * rho * 3 * eu;
      const sp = 0.5 * (h9 + h10) - ep;
      const sm = 0.5 * (h9 - h10) - em;
      const fo = fs * (1 / 36) * (gx - gy);
      hb[9 * M + m] = h9 - wP * sp - wM * sm + fo;
      hb[10 * M + m] = h10 - wP * sp + wM * sm - fo;
    }
    {
      const eu = ux + uz;
      // Even and odd parts of the pair's equilibrium, minus w (hᵢ are deviations).
      const ep = (1 / 36) * (rho * (1 + 4.5 * eu * eu - usq) - 1);
      const em = (1 / 36) * rho * 3 * eu;
      const sp = 0.5 * (h11 + h12) - ep;
      const sm = 0.5 * (h11 - h12) - em;
      const fo = fs * (1 / 36) * (gx + gz);
      hb[11 * M + m] = h11 - wP * sp - wM * sm + fo;
      hb[12 * M + m] = h12 - wP * sp + wM * sm - fo;
    }
    {
      const eu = ux - uz;
      // Even and odd parts of the pair's equilibrium, minus w (hᵢ are deviations).
      const ep = (1 / 36) * (rho * (1 + 4.5 * eu * eu - usq) - 1);
      const em = (1 / 36) * rho * 3 * eu;
      const sp = 0.5 * (h13 + h14) - ep;
      const sm = 0.5 * (h13 - h14) - em;
      const fo = fs * (1 / 36) * (gx - gz);
      hb[13 * M + m] = h13 - wP * sp - wM * sm + fo;
      hb[14 * M + m] = h14 - wP * sp + wM * sm - fo;
    }
    {
      const eu = uy + uz;
      // Even and odd parts of the pair's equilibrium, minus w (hᵢ are deviations).
      const ep = (1 / 36) * (rho * (1 + 4.5 * eu * eu - usq) - 1);
      const em = (1 / 36) * rho * 3 * eu;
      const sp = 0.5 * (h15 + h16) - ep;
      const sm = 0.5 * (h15 - h16) - em;
      const fo = fs * (1 / 36) * (gy + gz);
      hb[15 * M + m] = h15 - wP * sp - wM * sm + fo;
      hb[16 * M + m] = h16 - wP * sp + wM * sm - fo;
    }
    {
      const eu = uy - uz;
      // Even and odd parts of the pair's equilibrium, minus w (hᵢ are deviations).
      const ep = (1 / 36) * (rho * (1 + 4.5 * eu * eu - usq) - 1);
      const em = (1 / 36) * rho * 3 * eu;
      const sp = 0.5 * (h17 + h18) - ep;
      const sm = 0.5 * (h17 - h18) - em;
      const fo = fs * (1 / 36) * (gy - gz);
      hb[17 * M + m] = h17 - wP * sp - wM * sm + fo;
      hb[18 * M + m] = h18 - wP * sp + wM * sm - fo;
    }
  }
  return [sumU, maxU2];
}
