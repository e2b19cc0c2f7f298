import { preset } from '../src/accel/presets.js';
import { modelWorkloads } from '../src/accel/model-workload.js';
import { scheduleOnCpu, tileProblem } from '../src/accel/tiled.js';
import { keptWorkload } from '../src/accel/workload.js';
import { resnet50, resnet18 } from '../src/model/zoo.js';
const c = preset('systolic-16x16');
for (const [label, spec] of [['r50@224', resnet50([3, 224, 224])], ['r18@64', resnet18([3, 64, 64])]] as const) {
  const ls = modelWorkloads(spec).filter((l) => l.groups === 1);
  let n = 0; let t = performance.now();
  for (const l of ls.slice(0, 20)) for (let k = 1; k <= l.numFilters; k += 7) { scheduleOnCpu(c, tileProblem(c, keptWorkload(l, l.channels, k)), 'latency'); n++; }
  console.log(label, n, 'problems', ((performance.now() - t) / n).toFixed(3), 'ms each');
}
