import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import type { Voxels } from '../core/protocols.js';
import { encodeSlicePng, PHASE_COLOURS, type SliceOptions } from './io.js';

/**
 * A slice preview a person can read (issue #18: previews were one pixel per voxel, without a
 * legend or scale): the slice upscaled by a whole factor (nearest neighbour, so voxels stay
 * square and sharp) to at least `minWidth` pixels, a scale bar of a round length in µm, and
 * the phase colours named. Composed as SVG and rasterised by resvg, so the text is real text.
 */
export interface PreviewOptions extends SliceOptions {
  /** The image is at least this wide (default 512 px). */
  minWidth?: number;
}

const FOOTER = 64;

/** A round length (1, 2 or 5 × 10ⁿ) near a quarter of `span`. */
export function scaleBarLength(span: number): number {
  const target = span / 4;
  const p = 10 ** Math.floor(Math.log10(target));
  return [5, 2, 1].map((k) => k * p).find((l) => l <= target) ?? p;
}

export function encodeSlicePreview(v: Voxels, options: PreviewOptions): { png: Buffer; width: number; height: number; scale: number } {
  const [nx, ny, nz] = v.shape;
  const { axis } = options;
  const slice = encodeSlicePng(v, options);
  const w = axis === 'x' ? ny : nx;
  const h = axis === 'z' ? ny : nz;
  const scale = Math.max(1, Math.ceil((options.minWidth ?? 512) / w));
  const W = w * scale;
  const H = h * scale + FOOTER;
  const um = v.voxelSize;
  const bar = scaleBarLength(w * um);
  const barPx = (bar / um) * scale;
  const along = axis === 'x' ? nx : axis === 'y' ? ny : nz;
  const index = options.index ?? Math.floor(along / 2);
  const labels = [...new Set(Array.from(v.data))].sort((a, b) => a - b);
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  let x = 12;
  const legend = labels
    .map((l) => {
      const [r, g, b] = PHASE_COLOURS[l % PHASE_COLOURS.length];
      const name = v.phases[l] ?? `label ${l}`;
      const item = `<rect x="${x}" y="${h * scale + 40}" width="14" height="14" fill="rgb(${r},${g},${b})" stroke="#888"/><text x="${x + 20}" y="${h * scale + 52}">${esc(name)}</text>`;
      x += 30 + 8 * name.length;
      return item;
    })
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${W}" height="${H}" font-family="sans-serif" font-size="13">
<rect width="${W}" height="${H}" fill="white"/>
<image x="0" y="0" width="${W}" height="${h * scale}" image-rendering="optimizeSpeed" preserveAspectRatio="none" xlink:href="data:image/png;base64,${slice.toString('base64')}"/>
<rect x="12" y="${h * scale + 12}" width="${barPx}" height="6" fill="black"/>
<text x="${20 + barPx}" y="${h * scale + 20}">${bar} µm</text>
<text x="${W - 12}" y="${h * scale + 20}" text-anchor="end">${axis} = ${index} of ${along} · voxel ${um} µm · ${v.shape.join('×')}</text>
${legend}
</svg>`;
  const png = Buffer.from(new Resvg(svg, { font: { loadSystemFonts: true } }).render().asPng());
  return { png, width: W, height: H, scale };
}

export function writeSlicePreview(path: string, v: Voxels, options: PreviewOptions): void {
  writeFileSync(path, encodeSlicePreview(v, options).png);
}
