// ONNX import of Resize (opsets 11-18): nearest and linear (bilinear) resizing of the spatial axes, to
// constant sizes or by constant scales, with the coordinate and rounding modes resize.ts implements.
import { COORDINATE_MODES, type CoordinateMode, NEAREST_MODES, type NearestMode, type ResizeMode } from '../model/resize.js';
import { type Const, type Importer, float, int, only, text } from './importer.js';
import type { NodeProto } from './proto.js';

type Handler = (c: Importer, n: NodeProto) => void;

/** An optional constant input; an empty one (PyTorch writes [] for an unused roi or scales) counts as absent. */
function given(c: Importer, n: NodeProto, i: number, what: string): Const | undefined {
  const v = c.optionalConstant(n, i, what);
  return v && v.data.length > 0 ? v : undefined;
}

export const resizeHandlers: Record<string, Handler> = {
  Resize(c, n) {
    only(c, n, ['mode', 'coordinate_transformation_mode', 'nearest_mode', 'cubic_coeff_a', 'exclude_outside', 'extrapolation_value', 'antialias', 'keep_aspect_ratio_policy']);
    const x = c.tensor(n, 0);
    if (x.shape.length !== 3) c.fail(n, `needs a [C, H, W] input, got [${x.shape}]`);
    const mode = text(n, 'mode', 'nearest') as ResizeMode;
    if (mode !== 'nearest' && mode !== 'linear') c.fail(n, `mode '${mode}' is not supported (nearest, linear)`);
    const coordinates = text(n, 'coordinate_transformation_mode', 'half_pixel') as CoordinateMode;
    if (!COORDINATE_MODES.includes(coordinates)) c.fail(n, `coordinate_transformation_mode '${coordinates}' is not supported (${COORDINATE_MODES.join(', ')})`);
    const nearest = text(n, 'nearest_mode', 'round_prefer_floor') as NearestMode;
    if (!NEAREST_MODES.includes(nearest)) c.fail(n, `nearest_mode '${nearest}' is not supported (${NEAREST_MODES.join(', ')})`);
    if (int(n, 'exclude_outside', 0) !== 0 || int(n, 'antialias', 0) !== 0) c.fail(n, 'exclude_outside and antialias are not supported');
    if (float(n, 'extrapolation_value', 0) !== 0 && coordinates !== 'half_pixel') c.fail(n, 'extrapolation_value applies to tf_crop_and_resize only');
    if (given(c, n, 1, 'roi') && coordinates !== 'half_pixel') c.fail(n, 'a region of interest (tf_crop_and_resize) is not supported');
    const [channels, h, w] = x.shape;
    const scales = given(c, n, 2, 'scales');
    const sizes = given(c, n, 3, 'sizes');
    let size: [number, number];
    if (sizes) {
      const [batch, ch, oh, ow] = sizes.data;
      if (sizes.data.length !== 4 || !(Number.isNaN(batch) || batch === 1) || ch !== channels) c.fail(n, `sizes must keep the batch and the ${channels} channels, got [${sizes.data.map((v) => (Number.isNaN(v) ? 'batch' : v))}]`);
      size = [oh, ow];
    } else if (scales) {
      if (scales.data.length !== 4 || scales.data[0] !== 1 || scales.data[1] !== 1) c.fail(n, `scales must be [1, 1, sh, sw], got [${scales.data}]`);
      size = [Math.floor(h * scales.data[2]), Math.floor(w * scales.data[3])];
      // Source coordinates are computed with scale = out / in: exact only where the given scale is that ratio.
      if (size[0] / h !== scales.data[2] || size[1] / w !== scales.data[3]) c.fail(n, `scales [${scales.data.slice(2)}] do not give whole output sizes for [${h}, ${w}]; export with sizes instead`);
    } else return c.fail(n, 'needs constant scales or sizes');
    if (size.some((d) => !Number.isInteger(d) || d < 1)) c.fail(n, `output size [${size}] is not positive`);
    const name = c.name(n, `resize${c.nodes.length}`);
    c.add({ op: 'resize', name, input: x.node, size, mode, coordinates, ...(mode === 'nearest' ? { nearest } : {}) }, n.output![0]);
  },
};
