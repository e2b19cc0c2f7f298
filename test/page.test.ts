// The page as a tool, in headless Chromium: a user's PyTorch-exported model (residual connections) and a
// folder of their images go in through the page's file inputs, the page prunes it to a latency budget
// with a few distillation steps in its worker, and the ONNX it offers is checked in Node: onnxruntime runs
// it (against the CPU reference on the same weights), its channel counts are those pruneToBudget gives
// in Node for the same settings and seed, and its simulated latency meets the budget. Also: no network
// request after the page loaded, no main-thread task over 200 ms during a run or a 100 MB model's
// import, importer errors and undecodable images named on the page, a run stopped midway, and inputs of
// every kind (a zip of class subfolders, NPY arrays, a SCALE-Sim .cfg, no data).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { CpuBackend, evaluate, exportOnnx, importOnnx, initModel, modelWorkloads, parseBudget, predict, presets, pruneToBudget, zooModel } from '../src/node.js';
import { encodeNpy } from '../src/data/dataset.js';
import { onnx } from '../src/onnx/proto.js';
import { Rng } from '../src/random.js';
import { Browsers, type PageState, SCREENSHOT_MS, pageState, runEnded, servePage, waitFor } from './helpers/browser.js';

const FIXTURE = new URL('./fixtures/onnx/resnet-mini.onnx', import.meta.url).pathname;
const PRESET = 'systolic-16x16';
const BUDGET = 'latency=0.5';

/** A flat folder (no class subfolders: no labels) of PNGs of assorted sizes, and one file that does not decode. */
async function imageFolder(): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'wgprune-page-')), 'photos');
  mkdirSync(dir);
  const rng = new Rng(5);
  for (let i = 0; i < 24; i++) {
    const [w, h] = [20 + (i % 5) * 4, 16 + (i % 3) * 6];
    const raw = Buffer.from(Array.from({ length: w * h * 3 }, (_, k) => Math.round(((k % (w * 3)) / (w * 3)) * 200 + rng.uniform(0, 55))));
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(dir, `img${String(i).padStart(2, '0')}.png`));
  }
  writeFileSync(join(dir, 'broken.png'), 'not a png');
  return dir;
}

/** Records every request after `start()` (the page's and its worker's) and the main thread's long tasks. */
async function watch(page: Page) {
  await page.addInitScript(() => {
    const w = window as unknown as { longTasks: { start: number; duration: number }[] };
    w.longTasks = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) w.longTasks.push({ start: e.startTime, duration: e.duration }); }).observe({ type: 'longtask', buffered: true });
  });
  const requests: string[] = [], all: string[] = [];
  let on = false;
  page.context().on('request', (r) => {
    if (/^(blob|data):/.test(r.url())) return;
    all.push(r.url());
    if (on) requests.push(r.url());
  });
  return {
    requests,
    /** Every request since the page was opened: the page's own files only (a static host, offline). */
    all,
    start: () => { on = true; },
    /** The longest main-thread task since `since` (page time, ms). */
    longest: (since: number) => page.evaluate((t) => Math.max(0, ...(window as unknown as { longTasks: { start: number; duration: number }[] }).longTasks.filter((x) => x.start >= t).map((x) => x.duration)), since),
  };
}

const now = (page: Page) => page.evaluate(() => performance.now());
const convWidths = (spec: { nodes: { op: string; outChannels?: number }[] }) => spec.nodes.filter((n) => n.op === 'conv2d').map((n) => n.outChannels);

describe('the page as a tool', () => {
  let served: Awaited<ReturnType<typeof servePage>>;
  let folder: string;
  const browsers = new Browsers();

  beforeAll(async () => {
    [served, folder] = await Promise.all([servePage(), imageFolder()]);
  }, 120_000);
  afterAll(async () => {
    await browsers.close();
    await served?.close();
  });

  it.each([['WebGPU', true], ['gpu.js', false]] as const)('on %s: an uploaded PyTorch export and folder of images, pruned to a latency budget with distillation, downloaded as ONNX that Node checks', async (backend, webgpu) => {
    const { page, errors } = await browsers.page(webgpu);
    const watcher = await watch(page);
    await page.goto(served.url);
    await waitFor(page, "d.phase === 'ready'");
    watcher.start();
    await page.setInputFiles('#model-file', FIXTURE);
    await waitFor(page, "d.model?.source === 'resnet-mini.onnx' || !!d.modelError");
    await page.setInputFiles('#data-folder', folder);
    await waitFor(page, '!!d.data || !!d.dataError');
    let state: PageState = await pageState(page);
    expect(state.modelError).toBeUndefined();
    expect(state.dataError).toBeUndefined();
    expect(state.data!.count).toBe(24);
    expect(await page.textContent('#data-warning')).toMatch(/skipped 1 file that did not decode: photos\/broken\.png: /);
    expect(await page.textContent('#data-status')).toMatch(/no labels: fine-tuned by distillation/);
    await page.selectOption('#preset', PRESET);
    await page.fill('#budget', BUDGET);
    await page.fill('#steps', '4');
    await page.fill('#batch-size', '8');
    const started = await now(page);
    await page.click('#run');
    await waitFor(page, runEnded, 600_000);
    state = await pageState(page);
    expect(state.error).toBeUndefined();
    expect(state.phase).toBe('done');
    expect(state.backend).toMatch(webgpu ? /^webgpu/ : /^gpujs/);
    const r = state.report!;
    expect(r.budget!.met).toBe(true);
    expect(r.notes.join('\n')).toMatch(/has no labels: the dense model labelled it and fine-tuning distilled from it alone/);
    expect(state.trained).toEqual({ step: 4, totalSteps: 4 });
    // The main thread only draws: no task over 200 ms while the worker pruned and fine-tuned.
    expect(await watcher.longest(started)).toBeLessThanOrEqual(200);

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-onnx')]);
    const bytes = new Uint8Array(readFileSync((await download.path())!));
    const downloaded = importOnnx(bytes, { file: 'pruned.onnx' });
    // onnxruntime runs it, and agrees with the CPU reference on the same weights.
    const session = await ort.InferenceSession.create(bytes);
    const x = new Rng(3).uniformArray(3 * 16 * 16, -1, 1);
    const out = (await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, 16, 16]) }))[session.outputNames[0]];
    expect(out.dims).toEqual([1, 10]);
    const reference = await predict(new CpuBackend(), downloaded, x, 1);
    (out.data as Float32Array).forEach((v, i) => expect(Math.abs(v - reference[i])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(reference[i]))));
    // Channel counts: those of pruneToBudget in Node for the same model, budget, criterion and seed.
    const accel = presets[PRESET];
    const node = await pruneToBudget(new CpuBackend(), importOnnx(readFileSync(FIXTURE), { file: 'resnet-mini.onnx' }), { criterion: 'l1', budget: parseBudget(BUDGET, accel), accelerator: accel, seed: 1 });
    expect(convWidths(downloaded.spec)).toEqual(convWidths(node.compact.spec));
    expect(convWidths(downloaded.spec)).not.toEqual(convWidths(importOnnx(readFileSync(FIXTURE)).spec));
    // Its simulated latency meets the budget.
    expect(r.budget!.value).toBe(node.budget);
    expect((await evaluate(accel, modelWorkloads(downloaded.spec))).total.cycles).toBeLessThanOrEqual(node.budget);
    expect(watcher.requests).toEqual([]);
    expect(watcher.all.filter((u) => !u.startsWith(served.url))).toEqual([]);
    mkdirSync('out', { recursive: true });
    await page.screenshot({ path: `out/page-${webgpu ? 'webgpu' : 'gpujs'}.png`, fullPage: true, timeout: SCREENSHOT_MS });
    expect(errors).toEqual([]);
  }, 900_000);

  it('names what the importer refuses, imports a 100 MB model without blocking the page, and stays usable after a stopped run', async () => {
    const { page, errors } = await browsers.page(true);
    const watcher = await watch(page);
    await page.goto(served.url);
    await waitFor(page, "d.phase === 'ready'");
    watcher.start();
    const dir = mkdtempSync(join(tmpdir(), 'wgprune-models-'));
    // An op the importer does not have: its message, naming the file, node and op, on the page; the shipped model stays.
    const proto = onnx.ModelProto.decode(readFileSync(FIXTURE));
    proto.graph!.node![2].opType = 'Elu';
    writeFileSync(join(dir, 'elu.onnx'), onnx.ModelProto.encode(proto).finish());
    await page.setInputFiles('#model-file', join(dir, 'elu.onnx'));
    await waitFor(page, '!!d.modelError');
    expect(await page.textContent('#model-error')).toMatch(/^elu\.onnx: node '\/stem\/stem\.2\/Relu' \(Elu\): op not supported/);
    expect((await pageState(page)).model!.name).toBe('lenet5');
    expect(await page.isEnabled('#run')).toBe(true);

    // ResNet-50 at 224x224 (~100 MB): read with progress and imported in the worker; the page never blocks.
    writeFileSync(join(dir, 'resnet50.onnx'), exportOnnx(initModel(zooModel('resnet50', [3, 224, 224], 1000), 1)));
    let since = await now(page);
    await page.setInputFiles('#model-file', join(dir, 'resnet50.onnx'));
    await waitFor(page, "d.model?.source === 'resnet50.onnx' || !!d.modelError", 300_000);
    expect((await pageState(page)).modelError).toBeUndefined();
    expect(await page.textContent('#model-info')).toMatch(/parameters25\.\d+ M/);
    expect(await watcher.longest(since)).toBeLessThanOrEqual(200);

    // A small model on the images: a long run stopped midway, then a short one that completes.
    const lenet = join(dir, 'lenet.onnx');
    writeFileSync(lenet, exportOnnx(initModel(zooModel('lenet5'), 2)));
    await page.setInputFiles('#model-file', lenet);
    await waitFor(page, "d.model?.source === 'lenet.onnx'");
    await page.setInputFiles('#data-folder', folder);
    await waitFor(page, '!!d.data');
    await page.fill('#steps', '100000');
    await page.fill('#batch-size', '4');
    since = await now(page);
    await page.click('#run');
    await waitFor(page, "d.phase.includes('step')", 300_000);
    await page.click('#stop');
    await waitFor(page, runEnded, 120_000);
    let state = await pageState(page);
    expect(state.phase).toMatch(/^stopped/);
    expect(state.running).toBe(false);
    expect(await page.isEnabled('#run')).toBe(true);
    // Usable: a short run completes.
    await page.fill('#steps', '2');
    await page.click('#run');
    await waitFor(page, runEnded, 600_000);
    state = await pageState(page);
    expect(state.error).toBeUndefined();
    expect(state.phase).toBe('done');
    expect(state.report!.budget!.met).toBe(true);
    expect(await watcher.longest(since)).toBeLessThanOrEqual(200);
    expect(watcher.requests).toEqual([]);
    expect(errors).toEqual([]);
  }, 900_000);

  it('takes a zip of class subfolders, NPY arrays, a SCALE-Sim .cfg, and no data at all', async () => {
    const { page, errors } = await browsers.page(true);
    await page.goto(served.url);
    await waitFor(page, "d.phase === 'ready'");
    const dir = mkdtempSync(join(tmpdir(), 'wgprune-inputs-'));
    // A SCALE-Sim config: the model is simulated on it, and the run's report names it.
    writeFileSync(join(dir, 'tiny.cfg'), '[general]\nrun_name = tiny8\n\n[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 16\nFilterSramSzkB: 16\nOfmapSramSzkB: 8\nDataflow: ws\nBandwidth: 4\n');
    await page.setInputFiles('#accel-cfg', join(dir, 'tiny.cfg'));
    await waitFor(page, "d.model.accelerator === 'tiny8'");
    // A zip holding one folder of class subfolders (names sort to labels as torchvision's ImageFolder does).
    const png = async (v: number) => new Uint8Array(await sharp(Buffer.alloc(30 * 30, v), { raw: { width: 30, height: 30, channels: 1 } }).png().toBuffer());
    const entries: Record<string, Uint8Array> = {};
    for (const [cls, v] of [['zebra', 200], ['ant', 40], ['ant-eater', 120]] as const) for (let i = 0; i < 4; i++) entries[`set/${cls}/${i}.png`] = await png(v + i);
    writeFileSync(join(dir, 'set.zip'), zipSync(entries));
    await page.setInputFiles('#data-files', join(dir, 'set.zip'));
    await waitFor(page, "d.data?.count === 12 || !!d.dataError");
    expect((await pageState(page)).data).toMatchObject({ name: 'set.zip/set', count: 12, classNames: ['ant', 'ant-eater', 'zebra'], unlabelled: false });
    await page.fill('#steps', '2');
    await page.fill('#batch-size', '4');
    await page.click('#run');
    await waitFor(page, runEnded, 600_000);
    let state = await pageState(page);
    expect(state.error).toBeUndefined();
    expect(state.report!.accelerator.name).toBe('tiny8');
    expect(state.report!.budget!.met).toBe(true);
    expect(state.trained).toEqual({ step: 2, totalSteps: 2 });
    // NPY arrays: images (N x 28 x 28 bytes) and labels.
    const n = 16;
    writeFileSync(join(dir, 'images.npy'), encodeNpy('|u1', [n, 28, 28], Uint8Array.from({ length: n * 784 }, (_, i) => (i * 7) % 256)));
    writeFileSync(join(dir, 'labels.npy'), encodeNpy('|u1', [n], Uint8Array.from({ length: n }, (_, i) => i % 10)));
    await page.setInputFiles('#data-files', [join(dir, 'images.npy'), join(dir, 'labels.npy')]);
    await waitFor(page, `d.data?.count === ${n} || !!d.dataError`);
    expect((await pageState(page)).data).toMatchObject({ name: join(dir, 'images.npy').replace(/^.*\//, ''), count: n, classes: 10, unlabelled: false });
    // No data: pruned by the criterion alone, said on the page and in the report; no accuracy.
    await page.click('#data-none');
    await waitFor(page, 'd.data === null');
    expect(await page.textContent('#data-status')).toMatch(/^no data: magnitude pruning/);
    await page.click('#run');
    await waitFor(page, runEnded, 600_000);
    state = await pageState(page);
    expect(state.error).toBeUndefined();
    expect(state.report!.pruned.accuracy).toBeUndefined();
    expect(state.report!.notes.join('\n')).toMatch(/no data: pruned by the l1 criterion alone/);
    expect(state.trained).toBeUndefined();
    expect(errors).toEqual([]);
  }, 900_000);
});
