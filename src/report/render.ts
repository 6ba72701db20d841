import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';

/**
 * Headless rendering of Vega-Lite specifications (issue #18): vega's scenegraph to SVG with no
 * browser or canvas (`renderer: 'none'`), then resvg (a Rust SVG renderer shipped as a prebuilt
 * npm binary) to PNG. System fonts are loaded so axis labels are drawn; on a machine without
 * any the PNG still renders, without text.
 */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const compiled = vl.compile(spec as unknown as vl.TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG of an SVG at `scale` × its size (2: sharp on a high-density screen or in print). */
export function svgToPng(svg: string, scale = 2): Buffer {
  const r = new Resvg(svg, { font: { loadSystemFonts: true }, fitTo: { mode: 'zoom', value: scale }, background: 'white' });
  return Buffer.from(r.render().asPng());
}
