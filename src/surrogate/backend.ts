/**
 * TensorFlow.js backend selection (issue #5, STACK.md "TensorFlow.js here").
 *
 * Order of preference:
 *  1. `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node` — native libtensorflow, fast
 *     for everything. They are optional dependencies: they download libtensorflow at install
 *     time, which fails on machines without network access, and npm then drops them. So they
 *     are loaded with a guarded dynamic import and their absence is normal.
 *  2. Otherwise `wasm` for dense networks (1.5–15× faster than `cpu` for matmuls in Node) and
 *     `cpu` for anything with convolutions: on tfjs-backend-wasm 4.22 the input gradient of
 *     conv3d is wrong, the filter gradient is wrong at stride 2 and conv2d training throws
 *     (STACK.md). The backend is global to a process (to a worker thread), so code that trains
 *     convolutions runs in its own worker thread (see cnn.ts). Measured here as well: wasm's
 *     maxPool3d forward pass is wrong for some multi-channel inputs (max abs error up to ≈ 1
 *     against cpu on unit-normal data; gradcheck.test.ts compares it with direct loops), so
 *     CNNs also *predict* on the cpu backend.
 *
 * `ensureBackend` is idempotent and cheap after the first call; it logs once per backend
 * which one runs (stderr by default, injectable for tests and for the CLI's --json mode).
 */
import * as tf from '@tensorflow/tfjs';

export type BackendKind = 'dense' | 'conv';

export interface BackendOptions {
  /** Where the one-line "which backend" message goes (default: stderr). */
  log?: (message: string) => void;
}

/** Native packages, most preferred first; each registers the `tensorflow` backend. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let nativePromise: Promise<string | null> | null = null;
const logged = new Set<string>();
let chain: Promise<unknown> = Promise.resolve();

/**
 * Tries the native packages once per process. Returns the package that registered the
 * `tensorflow` backend on *our* copy of tfjs-core, or null.
 */
function loadNative(): Promise<string | null> {
  nativePromise ??= (async () => {
    for (const pkg of NATIVE_PACKAGES) {
      try {
        // A string variable, not a literal, so TypeScript does not require the (optional,
        // usually absent) package's types at compile time.
        const specifier: string = pkg;
        await import(specifier);
      } catch {
        continue; // not installed (the normal case here) or libtensorflow failed to load
      }
      // A native package with its own, non-deduplicated tfjs-core would register on that
      // copy, invisible to ours: then it is of no use and we fall back.
      if (tf.findBackendFactory('tensorflow') !== null) return pkg;
    }
    return null;
  })();
  return nativePromise;
}

async function select(kind: BackendKind, options: BackendOptions): Promise<string> {
  const native = await loadNative();
  let name: string;
  let why: string;
  if (native !== null) {
    name = 'tensorflow';
    why = `native libtensorflow from ${native}`;
  } else if (kind === 'dense') {
    // Importing registers the backend; in Node its .wasm binaries are found beside the
    // bundle in node_modules/@tensorflow/tfjs-backend-wasm/dist without setWasmPaths.
    await import('@tensorflow/tfjs-backend-wasm');
    name = 'wasm';
    why = 'no @tensorflow/tfjs-node(-gpu) installed; wasm (SIMD, single-threaded) for dense networks';
  } else {
    name = 'cpu';
    why = 'no @tensorflow/tfjs-node(-gpu) installed; cpu backend for convolutions (wasm conv3d gradients are wrong)';
  }
  // Production mode: no debug checks, and no console advice to install tfjs-node (which
  // the cpu backend would otherwise print on first use; the log line below says it once).
  tf.enableProdMode();
  if (tf.getBackend() !== name) {
    const okSet = await tf.setBackend(name);
    if (!okSet) throw new Error(`TensorFlow.js backend '${name}' failed to initialise`);
  }
  await tf.ready();
  if (!logged.has(name)) {
    logged.add(name);
    (options.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(`poreloop: TensorFlow.js backend '${name}' (${why})`);
  }
  return name;
}

/**
 * Makes the best available backend for `kind` the active one and returns its name
 * ('tensorflow', 'wasm' or 'cpu'). Calls are serialised, since the backend is process-global.
 */
export function ensureBackend(kind: BackendKind, options: BackendOptions = {}): Promise<string> {
  const next = chain.then(() => select(kind, options));
  chain = next.catch(() => undefined);
  return next;
}
