// ONNX import of group normalisation: GroupNormalization (opset 18, scale and bias per group or per
// channel), PyTorch's spelling below it — Reshape [N, G, -1] -> InstanceNormalization (unit scale, zero
// bias) -> Reshape back (to Shape(x)) -> Mul gamma [C, 1, 1] -> Add beta [C, 1, 1] — and
// InstanceNormalization of a [C, H, W] tensor itself (a group norm of one channel per group). The Mul and
// Add fold into the group norm's gamma and beta while its output has no other reader.
import type { Importer, Runtime } from './importer.js';
import { float, int, only, perChannelValues } from './importer.js';
import type { NodeProto } from './proto.js';

type Handler = (c: Importer, n: NodeProto) => void;

const PATTERN = 'group norm';
/** Group norm nodes made here whose gamma and beta may still absorb a per-channel Mul or Add, per importer. */
const open = new WeakMap<Importer, Set<string>>();

function addGroupNorm(c: Importer, n: NodeProto, x: Runtime, groups: number, epsilon: number, gamma: ArrayLike<number>, beta: ArrayLike<number>): void {
  const name = c.name(n, `groupnorm${c.nodes.length}`);
  c.params.set(`${name}.gamma`, Float32Array.from(gamma));
  c.params.set(`${name}.beta`, Float32Array.from(beta));
  c.add({ op: 'groupnorm', name, input: x.node, groups, ...(groups === x.shape[0] ? { perChannel: true } : {}), epsilon }, n.output![0]);
  if (!open.has(c)) open.set(c, new Set());
  open.get(c)!.add(name);
}

/** Per channel from per group (repeated over each group's channels) or per channel as given. */
function perChannel(c: Importer, n: NodeProto, what: string, data: number[], channels: number, groups: number): number[] {
  if (data.length === channels) return data;
  if (data.length === groups) return Array.from({ length: channels }, (_, i) => data[Math.floor(i / (channels / groups))]);
  return c.fail(n, `${what} has ${data.length} values; expected ${groups} (per group) or ${channels} (per channel)`);
}

/** A Mul or Add of a group norm's output (its only reader) by a per-channel constant: folded into gamma and beta. */
function foldAffine(c: Importer, n: NodeProto): boolean {
  for (const [xi, ki] of [[0, 1], [1, 0]]) {
    const [x, k] = [c.values.get(n.input?.[xi] ?? ''), c.values.get(n.input?.[ki] ?? '')];
    if (x?.kind !== 'tensor' || k?.kind !== 'const' || !open.get(c)?.has(x.node) || c.consumers.get(n.input![xi]) !== 1) continue;
    // One value for all channels (GroupNorm without affine parameters writes Mul 1, Add 0), or one per channel.
    const value = perChannelValues(k, x);
    if (!value) continue;
    const [gamma, beta] = [c.params.get(`${x.node}.gamma`)!, c.params.get(`${x.node}.beta`)!];
    if (n.opType === 'Mul') gamma.forEach((_, i) => { gamma[i] *= value[i]; beta[i] *= value[i]; });
    else beta.forEach((_, i) => { beta[i] += value[i]; });
    c.values.set(n.output![0], x);
    return true;
  }
  return false;
}

export function groupNormHandlers(core: { Reshape: Handler; Mul: Handler; Add: Handler }): Record<string, Handler> {
  return {
    Reshape(c, n) {
      const [v, target] = [c.values.get(n.input?.[0] ?? ''), c.values.get(n.input?.[1] ?? '')];
      if (target?.kind === 'const' && v?.kind === 'tensor' && target.data.length === 3) {
        const [batch, groups, rest] = target.data;
        const size = v.shape.reduce((a, b) => a * b, 1);
        if ((batch === 0 || Number.isNaN(batch)) && Number.isInteger(groups) && groups >= 1 && v.shape[0] % groups === 0 && (rest === -1 || rest * groups === size)) {
          return void c.values.set(n.output![0], { kind: 'partial', pattern: PATTERN, stage: 'Reshape', x: v, groups });
        }
      }
      if (v?.kind === 'partial' && v.pattern === PATTERN && v.stage === 'InstanceNormalization') {
        only(c, n, ['allowzero']);
        const back = target?.kind === 'const' ? target.data.slice(1) : [];
        if (back.join() !== v.x.shape.join()) c.fail(n, `a group norm must reshape back to [N, ${v.x.shape}], got target [${target?.kind === 'const' ? target.data.map((d) => (Number.isNaN(d) ? 'batch' : d)) : '?'}]`);
        const channels = v.x.shape[0];
        return addGroupNorm(c, n, v.x, v.groups!, v.epsilon!, new Float32Array(channels).fill(1), new Float32Array(channels));
      }
      core.Reshape(c, n);
    },

    InstanceNormalization(c, n) {
      only(c, n, ['epsilon']);
      const v = c.values.get(n.input?.[0] ?? '');
      const [scale, bias] = [c.constant(n, 1, 'scale').data, c.constant(n, 2, 'B (the bias)').data];
      const epsilon = float(n, 'epsilon', 1e-5);
      if (v?.kind === 'partial' && v.pattern === PATTERN && v.stage === 'Reshape') {
        if (scale.some((s) => s !== 1) || bias.some((b) => b !== 0)) c.fail(n, 'inside a group norm (Reshape [N, G, -1] first) the scale must be 1 and the bias 0, as PyTorch writes it');
        return void c.values.set(n.output![0], { ...v, stage: 'InstanceNormalization', epsilon });
      }
      const x = c.tensor(n, 0);
      if (x.shape.length !== 3) c.fail(n, `needs a [C, H, W] input (or PyTorch's group norm around it), got [${x.shape}]`);
      addGroupNorm(c, n, x, x.shape[0], epsilon, perChannel(c, n, 'scale', scale, x.shape[0], x.shape[0]), perChannel(c, n, 'B', bias, x.shape[0], x.shape[0]));
    },

    GroupNormalization(c, n) {
      only(c, n, ['epsilon', 'num_groups', 'stash_type']);
      const x = c.tensor(n, 0);
      const groups = int(n, 'num_groups', 0);
      if (!(groups >= 1 && x.shape[0] % groups === 0)) c.fail(n, `num_groups ${groups} does not divide ${x.shape[0]} channels`);
      const [scale, bias] = [c.constant(n, 1, 'scale').data, c.constant(n, 2, 'bias').data];
      addGroupNorm(c, n, x, groups, float(n, 'epsilon', 1e-5), perChannel(c, n, 'scale', scale, x.shape[0], groups), perChannel(c, n, 'bias', bias, x.shape[0], groups));
    },

    Mul(c, n) { if (!foldAffine(c, n)) core.Mul(c, n); },
    Add(c, n) { if (!foldAffine(c, n)) core.Add(c, n); },
  };
}
