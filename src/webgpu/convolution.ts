// Convolution and linear layers on WebGPU (shaders/conv2d.wgsl): an implicit GEMM per pass, with the
// kernel variant chosen from the adapter and the layer; WebGpuBackend's conv and linear ops call these.
import type { ConvInputs, LinearOptions, Tensor } from '../backend.js';
import { type Conv2dGeometry, type Conv2dOptions, type Shape, assertShape, checkConvBias, conv2dGeometry, linearGeometry } from '../geometry.js';
import type { GpuContext, GpuTensor } from './context.js';

/** `registers`: barrier-free register tiles (best on SwiftShader); `shared`: workgroup-memory tiles (best on GPUs). */
export type ConvVariant = 'registers' | 'shared';

const CONV_MODE = { forward: 0, backwardInput: 1, backwardFilter: 2 } as const;
const CONV_WORKGROUP = 64;
/** The shared-memory tile is 64x64; below this many GEMM rows most of it would idle. */
const SHARED_TILE_MIN_ROWS = 32;

function convParams(g: Conv2dGeometry): number[] {
  return [g.batch, g.inChannels, g.inH, g.inW, g.outChannels, g.outH, g.outW, g.groups,
    g.kernelH, g.kernelW, g.strideH, g.strideW, g.padTop, g.padLeft, g.dilationH, g.dilationW,
    g.inChannels / g.groups, g.outChannels / g.groups];
}

export class Convolutions {
  /** `software`: the adapter is a CPU rasterizer; `forced`: the variant every layer uses. */
  constructor(private ctx: GpuContext, private software: boolean, private forced?: ConvVariant) {}

  convVariant(rows: number): ConvVariant {
    if (this.forced) return this.forced;
    return this.software || rows < SHARED_TILE_MIN_ROWS ? 'registers' : 'shared';
  }

  private checkDispatch(workgroups: number[], rows: number, cols: number, groups: number) {
    const limit = this.ctx.device.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups.some((w) => w > limit)) throw new Error(`conv2d: a GEMM of ${rows}x${cols} in ${groups} groups exceeds the dispatch limit ${limit}; split the batch`);
  }

  private convGemm(mode: number, g: Conv2dGeometry, a: Tensor, b: Tensor, out: GpuTensor, o: { bias?: Tensor; relu?: boolean }) {
    const inPerGroup = g.inChannels / g.groups, outPerGroup = g.outChannels / g.groups;
    const kernel = g.kernelH * g.kernelW;
    const [rows, cols] = mode === CONV_MODE.forward ? [outPerGroup, g.batch * g.outH * g.outW]
      : mode === CONV_MODE.backwardInput ? [inPerGroup, g.batch * g.inH * g.inW] : [outPerGroup, inPerGroup * kernel];
    const variant = this.convVariant(rows);
    const unitStride = g.strideH === 1 && g.strideW === 1;
    const tileRows = rows >= 8 ? 8 : rows >= 4 ? 4 : 1;
    let entry = 'main_shared';
    let workgroups: [number, number, number] = [Math.ceil(cols / 64), Math.ceil(rows / 64), g.groups];
    const plain = unitStride && g.dilationH === 1 && g.dilationW === 1;
    // forward_channels and forward_rows tile 4 pixels of one output row; narrower outputs (linear layers)
    // use main_registers, strided or dilated convolutions forward_rows. forward_channels measured 1.3-2.2x
    // forward_rows on SwiftShader (bench/kernels.ts), 1.3x with one output channel (an image's gradient).
    if (variant === 'registers' && mode === CONV_MODE.forward && g.outW >= 4 && plain && g.kernelW <= 5 && this.forwardChannels(g, a, b, out, o)) return;
    const linear = g.groups === 1 && g.inH * g.inW * g.outH * g.outW * kernel === 1 && g.padTop + g.padLeft + g.padBottom + g.padRight === 0;
    if (variant === 'registers' && mode === CONV_MODE.forward && linear) {
      // A linear layer: the 1024^3 matmul at 2.25 GFLOP/s on SwiftShader, 0.25 on main_registers, whose
      // window decoding and bounds tests ran per tap (bench/kernels.ts).
      entry = 'linear_registers';
      workgroups = [Math.ceil(cols / 4 / CONV_WORKGROUP), Math.ceil(rows / tileRows), 1];
    } else if (variant === 'registers' && mode === CONV_MODE.forward && g.outW >= 4) {
      entry = 'forward_rows';
      workgroups = [Math.ceil(g.batch * g.outH * Math.ceil(g.outW / 4) / CONV_WORKGROUP), Math.ceil(rows / tileRows), g.groups];
    } else if (variant === 'registers') {
      entry = 'main_registers';
      workgroups = [Math.ceil(cols / 4 / CONV_WORKGROUP), Math.ceil(rows / tileRows), g.groups];
    }
    this.checkDispatch(workgroups, rows, cols, g.groups);
    this.ctx.run({
      shader: 'conv2d',
      entry,
      overrides: {
        MODE: mode, HAS_BIAS: !!o.bias, FUSED_RELU: !!o.relu, UNIT_STRIDE: unitStride,
        POINTWISE: unitStride && kernel === 1 && g.padTop + g.padLeft + g.padBottom + g.padRight === 0,
        ...(variant === 'registers' ? { TILE_ROWS: tileRows, WORKGROUP_SIZE: CONV_WORKGROUP } : {}),
      },
      params: convParams(g),
      bindings: { 1: a, 2: b, 4: o.bias ?? this.ctx.dummy, 5: out },
      workgroups,
    });
  }

  /**
   * forward_channels: a stride-1 forward convolution over the input zero-padded to whole windows and the
   * weights packed 4 output channels to a vec4 (pad_input, pack_weights: two small passes). False (nothing
   * run) where the padded input would exceed what one binding may hold: forward_rows reads it as it is.
   */
  private forwardChannels(g: Conv2dGeometry, w: Tensor, x: Tensor, out: GpuTensor, o: { bias?: Tensor; relu?: boolean }): boolean {
    const rows = g.outChannels / g.groups;
    const tileRows = rows > 4 ? 8 : rows === 4 ? 4 : 1;
    const padded = Math.ceil(rows / tileRows) * tileRows;
    const pixels = tileRows === 1 ? 8 : 4; // per tile: shaders/conv2d.wgsl, tile_pixels()
    const tilesX = Math.ceil(g.outW / pixels);
    const paddedRows = g.batch * g.inChannels * (g.outH + g.kernelH - 1);
    const inputSize = paddedRows * (tilesX * pixels + 4);
    if (inputSize * 4 > this.ctx.device.limits.maxStorageBufferBindingSize) return false;
    const input = this.ctx.empty([inputSize]);
    const overrides = { MODE: 0, TILE_ROWS: tileRows, KERNEL_W: g.kernelW, WORKGROUP_SIZE: CONV_WORKGROUP };
    const packed = tileRows === 1 ? undefined : this.ctx.empty([g.groups * (g.inChannels / g.groups) * g.kernelH * g.kernelW * padded]);
    if (packed) this.ctx.run({ shader: 'conv2d', entry: 'pack_weights', overrides, params: convParams(g), bindings: { 1: w, 5: packed }, workgroups: this.ctx.grid(packed.size, CONV_WORKGROUP) });
    this.ctx.run({ shader: 'conv2d', entry: 'pad_input', overrides, params: convParams(g), bindings: { 2: x, 5: input }, workgroups: this.ctx.grid(paddedRows, CONV_WORKGROUP) });
    const workgroups: [number, number, number] = [Math.ceil(g.batch * g.outH * tilesX / CONV_WORKGROUP), padded / tileRows, g.groups];
    this.checkDispatch(workgroups, rows, g.batch * g.outH * g.outW, g.groups);
    this.ctx.run({
      shader: 'conv2d', entry: 'forward_channels', overrides: { ...overrides, HAS_BIAS: !!o.bias, FUSED_RELU: !!o.relu },
      params: convParams(g), bindings: { 1: w, 3: packed ?? this.ctx.dummy, 4: o.bias ?? this.ctx.dummy, 5: out, 6: input }, workgroups,
    });
    if (packed) this.ctx.dispose(packed);
    this.ctx.dispose(input);
    return true;
  }

  /**
   * With stride 1, the input gradient is a forward convolution of dy with the weights flipped
   * spatially and transposed per group; it then runs on the forward kernels (3x faster on SwiftShader
   * than the gather form). Returns undefined where padding exceeds (kernel - 1) * dilation.
   */
  private backwardInputAsForward(dy: Tensor, w: Tensor, g: Conv2dGeometry): GpuTensor | undefined {
    const spanH = (g.kernelH - 1) * g.dilationH, spanW = (g.kernelW - 1) * g.dilationW;
    if (g.strideH !== 1 || g.strideW !== 1 || Math.max(g.padTop, g.padBottom) > spanH || Math.max(g.padLeft, g.padRight) > spanW) return undefined;
    const inPerGroup = g.inChannels / g.groups, outPerGroup = g.outChannels / g.groups;
    const flipped = this.ctx.empty([g.inChannels, outPerGroup, g.kernelH, g.kernelW]);
    this.ctx.run({
      shader: 'conv2d', entry: 'flip_weights', overrides: { MODE: 0, WORKGROUP_SIZE: CONV_WORKGROUP },
      params: convParams(g), bindings: { 1: w, 5: flipped },
      workgroups: this.ctx.grid(g.outChannels * inPerGroup * g.kernelH * g.kernelW, CONV_WORKGROUP),
    });
    const transposed: Conv2dGeometry = {
      ...g, inChannels: g.outChannels, inH: g.outH, inW: g.outW, outChannels: g.inChannels, outH: g.inH, outW: g.inW,
      padTop: spanH - g.padTop, padBottom: spanH - g.padBottom, padLeft: spanW - g.padLeft, padRight: spanW - g.padRight,
    };
    const dx = this.ctx.empty([g.batch, g.inChannels, g.inH, g.inW]);
    this.convGemm(CONV_MODE.forward, transposed, flipped, dy, dx, {});
    this.ctx.dispose(flipped);
    return dx;
  }

  conv2d(x: Tensor, w: Tensor, o: Conv2dOptions & ConvInputs = {}): Tensor {
    const g = conv2dGeometry(x.shape, w.shape, o);
    checkConvBias('conv2d', g.outChannels, o);
    const y = this.ctx.empty([g.batch, g.outChannels, g.outH, g.outW]);
    this.convGemm(CONV_MODE.forward, g, w, x, y, o);
    return y;
  }

  conv2dBackwardInput(dy: Tensor, w: Tensor, inputShape: Shape, o: Conv2dOptions = {}): Tensor {
    const g = conv2dGeometry(inputShape, w.shape, o);
    assertShape('conv2dBackwardInput', 'dy', dy.shape, [g.batch, g.outChannels, g.outH, g.outW]);
    const viaForward = this.backwardInputAsForward(dy, w, g);
    if (viaForward) return viaForward;
    const dx = this.ctx.empty(inputShape);
    this.convGemm(CONV_MODE.backwardInput, g, w, dy, dx, {});
    return dx;
  }

  conv2dBackwardFilter(dy: Tensor, x: Tensor, filterShape: Shape, o: Conv2dOptions = {}): Tensor {
    const g = conv2dGeometry(x.shape, filterShape, o);
    assertShape('conv2dBackwardFilter', 'dy', dy.shape, [g.batch, g.outChannels, g.outH, g.outW]);
    const dw = this.ctx.empty(filterShape);
    this.convGemm(CONV_MODE.backwardFilter, g, dy, x, dw, {});
    return dw;
  }

  linear(x: Tensor, w: Tensor, o: LinearOptions = {}): Tensor {
    const g = linearGeometry(x.shape, w.shape);
    checkConvBias('linear', g.outChannels, o);
    const y = this.ctx.empty([g.batch, g.outChannels]);
    this.convGemm(CONV_MODE.forward, g, w, x, y, o);
    return y;
  }

  linearBackwardInput(dy: Tensor, w: Tensor): Tensor {
    const g = linearGeometry([dy.shape[0], w.shape[1]], w.shape);
    assertShape('linearBackwardInput', 'dy', dy.shape, [g.batch, g.outChannels]);
    const dx = this.ctx.empty([g.batch, g.inChannels]);
    this.convGemm(CONV_MODE.backwardInput, g, w, dy, dx, {});
    return dx;
  }

  linearBackwardWeight(dy: Tensor, x: Tensor): Tensor {
    const g = linearGeometry(x.shape, [dy.shape[1], x.shape[1]]);
    assertShape('linearBackwardWeight', 'dy', dy.shape, [g.batch, g.outChannels]);
    const dw = this.ctx.empty([g.outChannels, g.inChannels]);
    this.convGemm(CONV_MODE.backwardFilter, g, dy, x, dw, {});
    return dw;
  }
}
