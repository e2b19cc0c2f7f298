// What the tests need from the system beside npm packages: Chromium's SwiftShader and the Vulkan loader
// (WebGPU without a GPU, the browser tests) and oneDNN's headers with the addon built from them (the
// native backend's kernels). `npm test` runs this first and stops at once, naming the missing Debian
// packages and the command that installs them; `npm run setup` (this script with --install) installs
// them with apt-get where it can and builds the addon.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const hasLib = (name) => spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout?.includes(`${name} `) ?? false;
const needs = [
  ['chromium', () => existsSync('/usr/lib/chromium/vk_swiftshader_icd.json'), 'SwiftShader (WebGPU on the CPU) and headless Chromium'],
  ['libvulkan1', () => hasLib('libvulkan.so.1'), 'the Vulkan loader Dawn opens'],
  ['libdnnl-dev', () => existsSync('/usr/include/oneapi/dnnl/dnnl.hpp'), "oneDNN's headers for the native backend's addon"],
  ['g++', () => spawnSync('g++', ['--version']).status === 0, 'the compiler that builds the addon'],
];
const missing = () => needs.filter(([, present]) => !present());

if (process.argv.includes('--install')) {
  const packages = missing().map(([name]) => name);
  if (packages.length) {
    if (process.getuid?.() !== 0) {
      console.error(`setup: run as root (or with sudo): apt-get install -y ${packages.join(' ')}`);
      process.exit(1);
    }
    console.log(`setup: apt-get install -y ${packages.join(' ')}`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', ...packages], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } else console.log('setup: the system packages are installed');
  execFileSync(process.execPath, ['scripts/build-onednn.mjs'], { cwd: root, stdio: 'inherit' });
  process.exit(0);
}

const absent = missing();
const addon = existsSync(new URL('../build/onednn.node', import.meta.url));
if (absent.length || !addon) {
  const lines = absent.map(([name, , why]) => `  ${name}: ${why}`);
  if (!addon && !absent.some(([name]) => name === 'libdnnl-dev' || name === 'g++')) lines.push('  the oneDNN addon is not built (build/onednn.node)');
  console.error(`The tests need these system parts, missing here:\n${lines.join('\n')}\nInstall them with: npm run setup   (that is, as root: ${absent.length ? `apt-get install -y ${absent.map(([n]) => n).join(' ')} && ` : ''}node scripts/build-onednn.mjs)`);
  process.exit(1);
}
