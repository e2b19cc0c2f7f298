// Builds build/onednn.node, the native backend's oneDNN kernels (src/native/onednn/*.cc), where
// Debian's libdnnl-dev (oneDNN 2.x, the library PyTorch's CPU convolutions run on), a C++ compiler and
// Node's headers are present. Run by `npm install`/`npm ci`; never fails the install: where something is
// missing it says what and the native backend runs every op on onnxruntime. It calls the compiler
// directly rather than node-gyp, which would download Node's headers from nodejs.org.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = ['conv.cc', 'direct-conv.cc', 'memory.cc', 'norm.cc', 'pool.cc', 'optim.cc', 'samplewise.cc'].map((f) => join(root, 'src', 'native', 'onednn', f));
const target = join(root, 'build', 'onednn.node');
const compiler = process.env.CXX ?? 'g++';
const nodeHeaders = [join(process.config.variables.node_prefix ?? '/usr', 'include', 'node'), join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node']
  .find((d) => existsSync(join(d, 'node_api.h')));

function skip(why) {
  rmSync(target, { force: true }); // an addon left from other sources would not match the code loading it
  console.log(`wgprune: the native addon (oneDNN kernels) not built (${why}); the native backend will run every op on onnxruntime.`);
  process.exit(0);
}

if (process.env.WGPRUNE_ONEDNN === 'off') skip('WGPRUNE_ONEDNN=off');
const absent = sources.find((f) => !existsSync(f));
if (absent) skip(`${absent} is missing`);
if (!existsSync('/usr/include/oneapi/dnnl/dnnl.hpp')) skip('no oneDNN headers: apt-get install libdnnl-dev');
if (!nodeHeaders) skip('no node_api.h: install Node with its headers (Debian: nodejs; or set npm_config_nodedir)');
if (spawnSync(compiler, ['--version']).status !== 0) skip(`no C++ compiler '${compiler}': apt-get install g++`);

mkdirSync(dirname(target), { recursive: true });
const partial = `${target}.partial`;
const r = spawnSync(compiler, ['-O2', '-fno-trapping-math', '-std=c++17', '-shared', '-fPIC', '-fopenmp', '-fvisibility=hidden', '-DNODE_GYP_MODULE_NAME=onednn',
  `-I${nodeHeaders}`, ...sources, '-ldnnl', '-o', partial], { encoding: 'utf8' });
if (r.status !== 0) {
  rmSync(partial, { force: true });
  skip(`${compiler} failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(0, 5).join(' | ')}`);
}
renameSync(partial, target); // atomically: a half-written addon never sits at the loaded path
console.log(`wgprune: built ${target} (oneDNN kernels for the native backend)`);
