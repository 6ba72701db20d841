/** Small numerical helpers shared by the device models (issue 20). */

/**
 * Root of f on [a, b] by bisection (f(a), f(b) of opposite sign); if they are not, the end
 * whose |f| is smaller. Robust for the monotone 1-D problems of the device models.
 */
export function bisect(f: (x: number) => number, a: number, b: number, tol: number): number {
  let fa = f(a);
  const fb = f(b);
  if (fa === 0) return a;
  if (fb === 0) return b;
  if (Math.sign(fa) === Math.sign(fb)) return Math.abs(fa) < Math.abs(fb) ? a : b;
  let lo = a;
  let hi = b;
  for (let k = 0; k < 200 && hi - lo > tol; k++) {
    const m = 0.5 * (lo + hi);
    const fm = f(m);
    if (fm === 0) return m;
    if (Math.sign(fm) === Math.sign(fa)) {
      lo = m;
      fa = fm;
    } else hi = m;
  }
  return 0.5 * (lo + hi);
}

/** Composite Simpson (trapezoid for a 2-point or odd-interval tail) of samples y at spacing h. */
export function simpson(y: readonly number[], h: number): number {
  const n = y.length - 1;
  if (n < 1) return 0;
  const even = n - (n % 2);
  let s = 0;
  for (let k = 0; k < even; k += 2) s += y[k] + 4 * y[k + 1] + y[k + 2];
  s *= h / 3;
  if (even < n) s += 0.5 * h * (y[n - 1] + y[n]);
  return s;
}
