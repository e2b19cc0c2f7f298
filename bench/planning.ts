// Budget planning at scale: the planner (layer cost tables, one cost session) on the zoo and on
// torchvision's ResNet-18, ResNet-50 and MobileNetV2 at 64x64 and 224x224 (random importance scores,
// systolic-16x16, latency 0.5): seconds, tile-scheduling problems solved, a five-budget sweep in one
// session, and the previous planner (commit 6c57eee) where it finishes within PLANNING_CAP seconds
// (default 120) with the importance each plan loses. PLANNING_SCHEDULER=cpu|webgpu picks the tile
// scheduler (default: the CPU one, which the native backend uses); PLANNING_MODELS=lenet5,ResNet-18 keeps
// the rows whose label starts with one of those.
import type { AcceleratorConfig } from '../src/accel/config.js';
import { preset } from '../src/accel/presets.js';
import type { Objective, TileProblem } from '../src/accel/tiled.js';
import type { ModelSpec } from '../src/model/graph.js';
import { lenet5, mobilenet, mobilenetV2, resnet18, resnet20, resnet50, vggSmall } from '../src/model/zoo.js';
import { gpuScheduler } from '../src/schedulers/webgpu.js';
import { openBackend } from '../src/open-backend.js';
import { WebGpuBackend } from '../src/webgpu/backend.js';
import { allocateToBudget, groupLayers } from '../src/plan/allocate-budget.js';
import { CostModel } from '../src/plan/budget.js';
import { channelGroups } from '../src/prune/dependency.js';
import { Rng } from '../src/random.js';
import { previousAllocateToBudget } from '../test/helpers/previous-planner.js';
import { table } from './util.js';

type Schedule = (c: AcceleratorConfig, problems: TileProblem[], objective: Objective) => unknown;

const MODELS: [string, () => ModelSpec][] = [
  ['lenet5 1x28x28', () => lenet5()],
  ['vgg-small 1x28x28', () => vggSmall([1, 28, 28])],
  ['resnet20 1x28x28', () => resnet20([1, 28, 28])],
  ['mobilenet 1x28x28', () => mobilenet([1, 28, 28])],
  ['ResNet-18 3x64x64', () => resnet18([3, 64, 64])],
  ['ResNet-50 3x64x64', () => resnet50([3, 64, 64])],
  ['MobileNetV2 3x64x64', () => mobilenetV2([3, 64, 64])],
  ['ResNet-18 3x224x224', () => resnet18([3, 224, 224])],
  ['ResNet-50 3x224x224', () => resnet50([3, 224, 224])],
  ['MobileNetV2 3x224x224', () => mobilenetV2([3, 224, 224])],
];
const SWEEP = [0.9, 0.7, 0.5, 0.4, 0.3];

export async function benchPlanning(): Promise<void> {
  const accel = preset('systolic-16x16');
  const which = process.env.PLANNING_SCHEDULER ?? 'cpu';
  if (which !== 'cpu' && which !== 'webgpu') throw new Error(`PLANNING_SCHEDULER must be cpu or webgpu, got '${which}'`);
  const be = which === 'cpu' ? undefined : await openBackend({ backend: 'webgpu' });
  // The backend's own scheduler even where schedulerFor() would take the CPU's (software adapters, WebAssembly).
  const schedule = be instanceof WebGpuBackend ? (gpuScheduler(be.ctx) as Schedule) : undefined;
  const cap = Number(process.env.PLANNING_CAP ?? 120);
  const rows: string[][] = [];
  const only = process.env.PLANNING_MODELS?.split(',');
  for (const [label, make] of MODELS) {
    if (only && !only.some((p) => label.startsWith(p))) continue;
    const spec = make();
    const groups = channelGroups(spec);
    const rng = new Rng(1);
    const scores = new Map(groups.filter((g) => g.prunable).map((g) => [g.id, Float64Array.from({ length: g.channels }, () => rng.uniform(0, 1) ** 2)]));
    // The planner's objective: -log of the share of each group's importance kept, once per layer making or reading its channels.
    const lost = (kept: Map<number, number[]>) => [...kept].reduce((sum, [id, k]) => {
      const s = scores.get(id)!;
      return sum + groupLayers(groups[id]) * (Math.log(s.reduce((a, b) => a + b, 0)) - Math.log(k.reduce((a, c) => a + s[c], 0)));
    }, 0);
    const session = () => new CostModel(accel, { metric: 'latency', schedule: schedule as never });

    let costs = session();
    const dense = await costs.cost(spec);
    let t0 = performance.now();
    const plan = await allocateToBudget(spec, groups, scores, costs, 0.5 * dense);
    const seconds = (performance.now() - t0) / 1000;
    const problems = costs.problemsSolved;

    costs = session();
    t0 = performance.now();
    for (const f of SWEEP) await allocateToBudget(spec, groups, scores, costs, f * dense);
    const sweep = (performance.now() - t0) / 1000;

    // The previous planner, stopped at the cap (its scheduling calls check the clock).
    let previous = `> ${cap}`;
    let previousLost = 'n/a';
    const deadline = performance.now() + cap * 1000;
    const capped = new CostModel(accel, {
      metric: 'latency',
      schedule: async (c, problems, objective) => {
        if (performance.now() > deadline) throw new Error('cap');
        const { scheduleOnCpu } = await import('../src/accel/tiled.js');
        return schedule ? (schedule(c, problems, objective) as never) : problems.map((q) => scheduleOnCpu(c, q, objective));
      },
    });
    t0 = performance.now();
    try {
      const old = await previousAllocateToBudget(spec, groups, scores, capped, 0.5 * dense);
      previous = ((performance.now() - t0) / 1000).toFixed(1);
      previousLost = lost(old.kept).toFixed(4);
    } catch (e) {
      if ((e as Error).message !== 'cap') throw e;
    }
    rows.push([label, String(groups.reduce((a, g) => a + g.channels, 0)), seconds.toFixed(1), String(problems), sweep.toFixed(1), (sweep / seconds).toFixed(2), previous, lost(plan.kept).toFixed(4), previousLost]);
    console.log(rows.at(-1)!.join('  '));
  }
  console.log();
  console.log(`tile scheduler: ${which}; budget latency 0.5 on ${accel.name}; sweep: ${SWEEP.join(', ')} in one session`);
  console.log(table(['model', 'channels', 'plan s', 'problems solved', 'sweep of 5 s', 'sweep / plan', 'previous planner s', 'importance lost', 'previous lost'], rows));
  be?.destroy();
}
