// ONNX import of ConvTranspose (a decoder's upsampling): explicit pads, strides, dilations, groups and
// output_padding; auto_pad other than NOTSET and output_shape are refused, naming the node.
import { type Importer, int, ints, only, pair2, text } from './importer.js';
import type { NodeProto } from './proto.js';

export const convTransposeHandlers: Record<string, (c: Importer, n: NodeProto) => void> = {
  ConvTranspose(c, n) {
    only(c, n, ['auto_pad', 'dilations', 'group', 'kernel_shape', 'output_padding', 'output_shape', 'pads', 'strides']);
    if (text(n, 'auto_pad', 'NOTSET') !== 'NOTSET') c.fail(n, `auto_pad ${text(n, 'auto_pad', '')} is not supported: export with explicit pads`);
    if (ints(n, 'output_shape')) c.fail(n, 'output_shape is not supported: export with pads and output_padding');
    const x = c.tensor(n, 0);
    if (x.shape.length !== 3) c.fail(n, `needs a [C, H, W] input, got [${x.shape}]`);
    const w = c.constant(n, 1, 'the weight');
    if (w.dims.length !== 4) c.fail(n, `only 2-D transposed convolutions are supported; the weight has shape [${w.dims}]`);
    const groups = int(n, 'group', 1);
    const [inChannels, perGroup, kh, kw] = w.dims;
    if (groups < 1 || x.shape[0] !== inChannels || inChannels % groups !== 0) c.fail(n, `weight [${w.dims}] with group ${groups} does not fit ${x.shape[0]} input channels`);
    const kernel = ints(n, 'kernel_shape') ?? [kh, kw];
    if (kernel.join() !== [kh, kw].join()) c.fail(n, `kernel_shape [${kernel}] does not match the weight [${w.dims}]`);
    const pads = ints(n, 'pads') ?? [0, 0, 0, 0];
    if (pads.length !== 4 || pads.some((p) => !Number.isInteger(p) || p < 0)) c.fail(n, `pads must be four non-negative integers, got [${pads}]`);
    const out = perGroup * groups;
    const name = c.name(n, `deconv${c.nodes.length}`, n.input![1]);
    c.params.set(`${name}.weight`, Float32Array.from(w.data));
    const b = c.optionalConstant(n, 2, 'the bias');
    if (b) {
      if (b.dims.join() !== String(out)) c.fail(n, `bias has shape [${b.dims}], expected [${out}]`);
      c.params.set(`${name}.bias`, Float32Array.from(b.data));
    }
    c.add({
      op: 'convtranspose', name, input: x.node, outChannels: out, kernel: [kh, kw], stride: pair2(c, n, 'strides', [1, 1]),
      padding: [pads[0], pads[1], pads[2], pads[3]], outputPadding: pair2(c, n, 'output_padding', [0, 0], 0), dilation: pair2(c, n, 'dilations', [1, 1]),
      groups, bias: b !== undefined,
    }, n.output![0]);
  },
};
