// `npm start`: the main job on the embedded default. Loads the shipped LeNet-5 MNIST checkpoint,
// prunes it to 50% of its dense latency on the default accelerator preset (systolic-16x16) with
// distillation from the dense model, fine-tunes under a time cap, compares with uniform pruning at
// the same budget, evaluates on the MNIST test set, and writes out/pruned.onnx, out/pruned.safetensors,
// out/report.json and out/report.html. The same as:
//   wgprune prune --model default --budget latency=0.5 --kd --max-seconds 60 --compare-uniform --out out
import { main } from './cli/main.js';

const args = ['prune', '--model', 'default', '--data', 'mnist', '--budget', 'latency=0.5', '--kd', '--max-seconds', '60', '--compare-uniform', '--out', 'out', ...process.argv.slice(2)];
process.exit(await main(args));
