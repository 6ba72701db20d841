/**
 * Solver for a block-tridiagonal linear system (N blocks of m×m): the block Thomas algorithm
 * with dense LU and partial pivoting inside each block, O(N·m³). Used by the Newton steps of the
 * method-of-lines device models (issue 20), whose unknowns couple only neighbouring cells.
 */

/** LU factorisation in place of an m×m row-major block; returns the pivot rows. */
function luFactor(a: Float64Array, m: number): Int32Array {
  const piv = new Int32Array(m);
  for (let k = 0; k < m; k++) {
    let p = k;
    let best = Math.abs(a[k * m + k]);
    for (let r = k + 1; r < m; r++) {
      const v = Math.abs(a[r * m + k]);
      if (v > best) {
        best = v;
        p = r;
      }
    }
    piv[k] = p;
    if (p !== k) {
      for (let c = 0; c < m; c++) {
        const t = a[k * m + c];
        a[k * m + c] = a[p * m + c];
        a[p * m + c] = t;
      }
    }
    const d = a[k * m + k];
    if (d === 0) throw new Error('singular block in block-tridiagonal solve');
    for (let r = k + 1; r < m; r++) {
      const f = (a[r * m + k] /= d);
      if (f !== 0) for (let c = k + 1; c < m; c++) a[r * m + c] -= f * a[k * m + c];
    }
  }
  return piv;
}

/** Solves LU·x = b in place for `cols` right-hand sides stored column-major in b (m rows each). */
function luSolve(lu: Float64Array, piv: Int32Array, m: number, b: Float64Array, cols: number): void {
  for (let j = 0; j < cols; j++) {
    const o = j * m;
    for (let k = 0; k < m; k++) {
      const p = piv[k];
      if (p !== k) {
        const t = b[o + k];
        b[o + k] = b[o + p];
        b[o + p] = t;
      }
    }
    for (let r = 1; r < m; r++) {
      let s = b[o + r];
      for (let c = 0; c < r; c++) s -= lu[r * m + c] * b[o + c];
      b[o + r] = s;
    }
    for (let r = m - 1; r >= 0; r--) {
      let s = b[o + r];
      for (let c = r + 1; c < m; c++) s -= lu[r * m + c] * b[o + c];
      b[o + r] = s / lu[r * m + r];
    }
  }
}

/** A factorised block-tridiagonal matrix: LU of each B'_i, X_i = B'_i⁻¹ C_i, and the A_i. */
export interface BlockTridiagonalFactor {
  m: number;
  lower: Float64Array[];
  lu: Float64Array[];
  pivots: Int32Array[];
  xs: Float64Array[];
}

/**
 * Factorises the system with sub-diagonal blocks lower[i] (row i, column i−1), diagonal blocks
 * diag[i] and super-diagonal blocks upper[i] (row i, column i+1), all m×m row-major (block
 * Thomas: B'_i = B_i − A_i·B'_{i−1}⁻¹·C_{i−1}). diag is overwritten; the factor can solve many
 * right-hand sides (a modified Newton iteration reuses it).
 */
export function factorBlockTridiagonal(lower: Float64Array[], diag: Float64Array[], upper: Float64Array[], m: number): BlockTridiagonalFactor {
  const n = diag.length;
  const pivots: Int32Array[] = [];
  const xs: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const b = diag[i];
    if (i > 0) {
      const a = lower[i];
      const x = xs[i - 1];
      for (let row = 0; row < m; row++)
        for (let col = 0; col < m; col++) {
          let s = 0;
          for (let k = 0; k < m; k++) s += a[row * m + k] * x[col * m + k];
          b[row * m + col] -= s;
        }
    }
    const piv = luFactor(b, m);
    pivots.push(piv);
    if (i < n - 1) {
      const c = upper[i];
      // X_i stored column-major (m columns of m rows).
      const x = new Float64Array(m * m);
      for (let col = 0; col < m; col++) for (let row = 0; row < m; row++) x[col * m + row] = c[row * m + col];
      luSolve(b, piv, m, x, m);
      xs.push(x);
    }
  }
  return { m, lower: lower.map((l) => Float64Array.from(l)), lu: diag, pivots, xs };
}

/** Solves with a factor; the solution replaces rhs (length N·m). */
export function solveFactored(f: BlockTridiagonalFactor, rhs: Float64Array): void {
  const { m, lower, lu, pivots, xs } = f;
  const n = lu.length;
  const tmp = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    const r = rhs.subarray(i * m, (i + 1) * m);
    if (i > 0) {
      const a = lower[i];
      const yPrev = rhs.subarray((i - 1) * m, i * m);
      for (let row = 0; row < m; row++) {
        let s = 0;
        for (let k = 0; k < m; k++) s += a[row * m + k] * yPrev[k];
        tmp[row] = s;
      }
      for (let row = 0; row < m; row++) r[row] -= tmp[row];
    }
    luSolve(lu[i], pivots[i], m, r, 1);
  }
  for (let i = n - 2; i >= 0; i--) {
    const x = xs[i];
    const next = rhs.subarray((i + 1) * m, (i + 2) * m);
    for (let row = 0; row < m; row++) {
      let s = 0;
      for (let k = 0; k < m; k++) s += x[k * m + row] * next[k];
      rhs[i * m + row] -= s;
    }
  }
}

/** Factorises and solves once (blocks overwritten; the solution replaces rhs). */
export function solveBlockTridiagonal(lower: Float64Array[], diag: Float64Array[], upper: Float64Array[], rhs: Float64Array, m: number): void {
  solveFactored(factorBlockTridiagonal(lower, diag, upper, m), rhs);
}
