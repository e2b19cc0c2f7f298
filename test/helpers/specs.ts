// Small graphs of the structures the zoo lacks, shared by the network, compaction and budget tests.
import { GraphBuilder, type ModelSpec, shuffledChannels } from '../../src/model/graph.js';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * ShuffleNetV2's two units at width 8: a stride-2 unit (two branches, concat, channel shuffle) and a
 * stride-1 unit (channel split, one branch, concat, shuffle), then a strided channel slice (x[:, 1::2]).
 */
export function shuffleNetMini(inputShape: [number, number, number] = [3, 8, 8]): ModelSpec {
  const g = new GraphBuilder('shufflenet-mini', inputShape, 5);
  const cbr = (x: string, out: number, o: { kernel?: number; stride?: number; groups?: number; relu?: boolean } = {}) => {
    const y = g.bn(g.conv(x, { out, kernel: o.kernel ?? 1, stride: o.stride, padding: (o.kernel ?? 1) === 3 ? 1 : 0, groups: o.groups, bias: false }));
    return o.relu === false ? y : g.relu(y);
  };
  const stem = cbr('input', 8, { kernel: 3 });
  const branch = (x: string, stride: number) => cbr(cbr(cbr(x, 8), 8, { kernel: 3, stride, groups: 8, relu: false }), 8);
  const down = g.gather(g.concat([cbr(cbr(stem, 8, { kernel: 3, stride: 2, groups: 8, relu: false }), 8), branch(stem, 2)]), shuffledChannels(16, 2));
  const unit = g.gather(g.concat([g.gather(down, range(0, 8)), branch(g.gather(down, range(8, 16)), 1)]), shuffledChannels(16, 2));
  const odd = g.gather(unit, range(0, 8).map((i) => 2 * i + 1));
  return g.build(g.linear(g.flatten(g.gap(cbr(odd, 12))), 5, 'classifier'));
}

/**
 * ConvNeXt's pieces in channel-first ops: a patchify stem with layer norm, one block (depthwise conv, layer
 * norm, 1x1 expand, GELU, 1x1 project, layer scale as a 1x1 depthwise conv, residual), a downsampling
 * layer (layer norm, 2x2 stride-2 conv), then a feature-pyramid step: bilinear upsampling back and a
 * concat with the stem, and a layer norm on the pooled features.
 */
export function convNextMini(inputShape: [number, number, number] = [3, 8, 8]): ModelSpec {
  const g = new GraphBuilder('convnext-mini', inputShape, 5);
  const stem = g.layerNorm(g.conv('input', { out: 8, kernel: 2, stride: 2, name: 'stem' }), 1e-6, 'stem_norm');
  const ln = g.layerNorm(g.conv(stem, { out: 8, kernel: 3, padding: 1, groups: 8, name: 'dw' }), 1e-6, 'block_norm');
  const project = g.conv(g.gelu(g.conv(ln, { out: 16, kernel: 1, name: 'expand' })), { out: 8, kernel: 1, name: 'project' });
  const block = g.sum([stem, g.conv(project, { out: 8, kernel: 1, groups: 8, bias: false, name: 'layer_scale' })]);
  const down = g.conv(g.layerNorm(block, 1e-6, 'down_norm'), { out: 12, kernel: 2, stride: 2, name: 'down' });
  const up = g.resize(down, [inputShape[1] / 2, inputShape[2] / 2], 'linear', 'half_pixel');
  const merged = g.conv(g.concat([block, up]), { out: 10, kernel: 1, name: 'merge' });
  return g.build(g.linear(g.flatten(g.layerNorm(g.gap(merged), 1e-6, 'head_norm')), 5, 'classifier'));
}

/**
 * A face-embedding net's pieces: PReLU after a conv, after a conv and batch norm, and on an embedding
 * (linear -> batch norm on [N, C] -> PReLU), with a residual add so a PReLU sits inside a coupled group.
 */
export function embeddingMini(inputShape: [number, number, number] = [3, 8, 8]): ModelSpec {
  const g = new GraphBuilder('embedding-mini', inputShape, 5);
  const stem = g.prelu(g.conv('input', { out: 8, kernel: 3, padding: 1, name: 'stem' }), 'stem_prelu');
  const body = g.prelu(g.bn(g.conv(stem, { out: 8, kernel: 3, padding: 1, bias: false, name: 'body' }), 'body_bn'), 'body_prelu');
  const merged = g.sum([stem, body]);
  const embedding = g.prelu(g.bn(g.linear(g.flatten(g.gap(merged)), 12, 'embedding'), 'embedding_bn'), 'embedding_prelu');
  return g.build(g.linear(embedding, 5, 'classifier'));
}

/**
 * A U-Net's decoder: a stride-2 encoder stage, transposed convolutions back up (kernel 3, stride 2,
 * padding 1, output padding 1, with bias; kernel 2, stride 2, dilation 1, without), each concatenated
 * with a skip, a batch norm after a transposed conv, then pooling and a classifier.
 */
export function unetMini(inputShape: [number, number, number] = [3, 8, 8]): ModelSpec {
  const g = new GraphBuilder('unet-mini', inputShape, 5);
  const stem = g.relu(g.conv('input', { out: 6, kernel: 3, padding: 1, name: 'stem' }));
  const down = g.relu(g.conv(stem, { out: 8, kernel: 3, stride: 2, padding: 1, name: 'down' }));
  const deeper = g.relu(g.conv(down, { out: 10, kernel: 3, stride: 2, padding: 1, name: 'deeper' }));
  const up1 = g.convTranspose(deeper, { out: 8, kernel: 2, stride: 2, bias: false, name: 'up1' });
  const merged1 = g.relu(g.conv(g.concat([up1, down]), { out: 8, kernel: 3, padding: 1, name: 'merge1' }));
  const up2 = g.relu(g.bn(g.convTranspose(merged1, { out: 6, kernel: 3, stride: 2, padding: 1, outputPadding: 1, name: 'up2' }), 'up2_bn'));
  const merged2 = g.relu(g.conv(g.concat([up2, stem]), { out: 6, kernel: 3, padding: 1, name: 'merge2' }));
  return g.build(g.linear(g.flatten(g.gap(merged2)), 5, 'classifier'));
}

/**
 * A face-embedding net's normalisations: group norm over 2 groups of 4 channels, a per-channel one
 * (instance norm, prunable), and a group norm of 3 groups on a [N, 12] embedding.
 */
export function groupNormMini(inputShape: [number, number, number] = [3, 8, 8]): ModelSpec {
  const g = new GraphBuilder('groupnorm-mini', inputShape, 5);
  const stem = g.prelu(g.groupNorm(g.conv('input', { out: 8, kernel: 3, padding: 1, name: 'stem' }), 2, 'stem_gn'), 'stem_prelu');
  const body = g.relu(g.groupNorm(g.conv(stem, { out: 8, kernel: 3, stride: 2, padding: 1, name: 'body' }), 'per-channel', 'body_in'));
  const embedding = g.groupNorm(g.linear(g.flatten(g.gap(body)), 12, 'embedding'), 3, 'embedding_gn');
  return g.build(g.linear(embedding, 5, 'classifier'));
}
