// `npm run bench [-- name...]`: runs the named benchmarks (all by default) and prints their tables.
import { benchAccelerator } from './accelerator.js';
import { benchMemory } from './memory.js';
import { benchBudget } from './budget.js';
import { benchDecompose } from './decompose.js';
import { benchFamilies } from './families.js';
import { benchFuzz } from './fuzz.js';
import { benchGpujs } from './gpujs.js';
import { benchKernels } from './kernels.js';
import { benchMixed } from './mixed.js';
import { benchPlanning } from './planning.js';
import { benchProfile } from './profile.js';
import { benchQuality } from './quality.js';
import { benchQuantize, benchQuantizeCost } from './quantize.js';
import { benchSpeedup } from './speedup.js';
import { benchSsl } from './ssl.js';
import { benchTasks } from './tasks.js';
import { benchTraining } from './training.js';

const benches: Record<string, () => Promise<void>> = { kernels: () => benchKernels(), accelerator: () => benchAccelerator(), memory: () => benchMemory(), training: () => benchTraining(), speedup: () => benchSpeedup(), budget: () => benchBudget(), gpujs: () => benchGpujs(), families: () => benchFamilies(), planning: () => benchPlanning(), fuzz: () => benchFuzz(), ssl: () => benchSsl(), decompose: () => benchDecompose(), quantize: () => benchQuantize(), 'quantize-cost': () => benchQuantizeCost(), mixed: () => benchMixed(), quality: () => benchQuality(), tasks: () => benchTasks(), profile: () => benchProfile() };
const chosen = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const name of chosen.length ? chosen : Object.keys(benches)) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark '${name}'; choose from: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log(`## ${name}`);
  await bench();
}
process.exit(process.exitCode ?? 0);
