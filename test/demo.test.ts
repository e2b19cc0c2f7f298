// The browser demo in real Chromium (Debian's /usr/bin/chromium, headless, driven by playwright-core):
// built with Vite and served by its preview server, it prunes the shipped LeNet-5 to a latency budget
// on WebGPU (SwiftShader here), fine-tunes with distillation and shows numbers we check; without
// WebGPU it runs on gpu.js and says so in a banner (WebAssembly here, where WebGL is SwiftShader; WebGL2
// forced, with a short run).
import { mkdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MNIST_NORMALIZATION, type PruningHistory, decodeCheckpoint, evaluateModel, loadCheckpoint, makeDataset, openBackend, parseIdx, prunedSpec } from '../src/node.js';
import type { RunReport } from '../src/report/report.js';
import { Browsers, SCREENSHOT_MS, servePage } from './helpers/browser.js';

describe('browser demo', () => {
  let served: Awaited<ReturnType<typeof servePage>>;
  let url: string;
  const browsers = new Browsers();

  beforeAll(async () => {
    served = await servePage();
    url = served.url;
  }, 120_000);
  afterAll(async () => {
    await browsers.close();
    await served?.close();
  });

  /** The library's accuracy (native backend, in Node) of a checkpoint on the test images the page was served. */
  const libraryAccuracy = async (checkpoint: Uint8Array | string) => {
    const fetchBytes = async (name: string) => new Uint8Array(await (await fetch(new URL(name, url))).arrayBuffer());
    const [images, labels] = await Promise.all([fetchBytes('mnist-test-images.idx'), fetchBytes('mnist-test-labels.idx')]);
    const test = makeDataset('served test sample', parseIdx(images, 'images'), parseIdx(labels, 'labels'), { files: ['mnist-test-images.idx', 'mnist-test-labels.idx'], scale: 1 / 255, normalization: MNIST_NORMALIZATION, classes: 10 });
    const model = typeof checkpoint === 'string' ? (await loadCheckpoint(checkpoint)).model : decodeCheckpoint(checkpoint, 'downloaded').model;
    const be = await openBackend({ backend: 'native' });
    try {
      return { accuracy: (await evaluateModel(be, model, test)).accuracy, count: test.count };
    } finally {
      be.destroy();
    }
  };
  const SHIPPED = new URL('../models/lenet5-mnist.safetensors', import.meta.url).pathname;

  const launch = (webgpu: boolean) => browsers.page(webgpu);

  it('prunes to the budget on WebGPU, fine-tunes with distillation, shows the numbers and predicts a drawn digit', async () => {
    const { page, errors } = await launch(true);
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { demo: { phase: string } }).demo.phase === 'ready', undefined, { timeout: 120_000 });
    await page.fill('#steps', '60');
    await page.fill('#budget', 'latency=0.5');
    await page.check('#kd');
    await page.selectOption('#preset', 'systolic-16x16');
    await page.click('#run');
    await page.waitForFunction(() => ['done', 'error'].some((p) => (window as unknown as { demo: { phase: string } }).demo.phase.startsWith(p)), undefined, { timeout: 600_000 });
    const state = await page.evaluate(() => {
      const d = (window as unknown as { demo: { phase: string; report?: RunReport; error?: string } }).demo;
      return { phase: d.phase, report: d.report, error: d.error };
    });
    expect(state.error).toBeUndefined();
    const r = state.report!;
    expect(r.budget!.met).toBe(true);
    expect(r.pruned.cycles).toBeLessThanOrEqual(0.5 * r.dense.cycles);
    expect(r.pruned.accuracy).toBeGreaterThan(0.9); // 60 distilled steps on a 4000-image sample, 1000 test images
    // The page's accuracies are the library's: the pruned checkpoint the page offers for download and the
    // shipped dense one, evaluated in Node on the native backend on the same served images (a different
    // backend may flip an argmax or two among 1000).
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-checkpoint')]);
    const bytes = new Uint8Array(readFileSync((await download.path())!));
    const pruned = await libraryAccuracy(bytes);
    expect(pruned.count).toBe(1000);
    expect(Math.abs(pruned.accuracy - r.pruned.accuracy!)).toBeLessThanOrEqual(2 / 1000);
    expect(Math.abs((await libraryAccuracy(SHIPPED)).accuracy - r.dense.accuracy!)).toBeLessThanOrEqual(2 / 1000);
    const downloaded = decodeCheckpoint(bytes, 'downloaded');
    expect(prunedSpec((await loadCheckpoint(SHIPPED)).model.spec, downloaded.info!.pruning as PruningHistory)).toEqual(downloaded.model.spec);
    expect(Number(await page.textContent('#pruned-cycles'))).toBe(r.pruned.cycles);
    expect(await page.locator('#chart-cycles svg rect.bar').count()).toBe(2 * r.layers.length);
    expect(await page.locator('#chart-staircase svg line.mark').count()).toBe(1);
    expect(await page.locator('#chart-training svg path.series').count()).toBe(2);
    expect(await page.locator('#mask-view .cell.off').count()).toBeGreaterThan(0);
    // Draw a stroke: both models predict a distribution over the ten digits.
    const pad = page.locator('#pad');
    await pad.scrollIntoViewIfNeeded();
    const box = (await pad.boundingBox())!;
    await page.mouse.move(box.x + 140, box.y + 40);
    await page.mouse.down();
    await page.mouse.move(box.x + 140, box.y + 240, { steps: 8 });
    await page.mouse.up();
    await page.waitForFunction(() => document.querySelectorAll('#pred-pruned .row').length === 10, undefined, { timeout: 30_000 });
    expect(await page.locator('#pred-dense .row').count()).toBe(10);
    mkdirSync('out', { recursive: true });
    await page.screenshot({ path: 'out/demo-webgpu.png', fullPage: true, timeout: SCREENSHOT_MS });
    expect(errors).toEqual([]);
  }, 900_000);

  /** Presses Prune and waits for the run to end; returns the page's state. */
  const runOnPage = async (page: Page, steps: number) => {
    await page.waitForFunction(() => (window as unknown as { demo: { phase: string } }).demo.phase === 'ready', undefined, { timeout: 120_000 });
    await page.fill('#steps', String(steps));
    await page.fill('#budget', 'latency=0.5');
    await page.check('#kd');
    await page.selectOption('#preset', 'systolic-16x16');
    await page.click('#run', { noWaitAfter: true });
    await page.waitForFunction(() => ['done', 'error'].some((p) => (window as unknown as { demo: { phase: string } }).demo.phase.startsWith(p)), undefined, { timeout: 600_000, polling: 1000 });
    return page.evaluate(() => {
      const d = (window as unknown as { demo: { phase: string; report?: RunReport; error?: string; backend?: string } }).demo;
      return { phase: d.phase, report: d.report, error: d.error, backend: d.backend };
    });
  };

  it('without WebGPU the page runs on gpu.js, says so in a banner, and completes a prune within budget', async () => {
    const { page, errors } = await launch(false);
    await page.goto(url);
    const state = await runOnPage(page, 60);
    expect(state.error).toBeUndefined();
    expect(state.backend).toMatch(/^gpujs \((webgl2|webasm)\)$/);
    expect(await page.locator('#banner').isVisible()).toBe(true);
    expect(await page.textContent('#banner')).toMatch(/^WebGPU unavailable \(no WebGPU adapter: .*\); running on gpu\.js/);
    const r = state.report!;
    expect(r.pruned.cycles).toBeLessThanOrEqual(0.5 * r.dense.cycles);
    expect(Math.abs((await libraryAccuracy(SHIPPED)).accuracy - r.dense.accuracy!)).toBeLessThanOrEqual(2 / 1000); // gpu.js in the page, native in Node
    expect(r.pruned.accuracy).toBeGreaterThan(0.9);
    expect(Number(await page.textContent('#pruned-cycles'))).toBe(r.pruned.cycles);
    await page.screenshot({ path: 'out/demo-gpujs.png', fullPage: true, timeout: SCREENSHOT_MS });
    expect(errors).toEqual([]);
  }, 600_000);

  it('gpu.js on WebGL2 (forced: WebGL is SwiftShader here) prunes and fine-tunes too', async () => {
    const { page, errors } = await launch(false);
    await page.goto(`${url}?backend=gpujs&gpujs=webgl2`);
    const state = await runOnPage(page, 4);
    expect(state.error).toBeUndefined();
    expect(state.backend).toBe('gpujs (webgl2)');
    const r = state.report!;
    expect(Math.abs((await libraryAccuracy(SHIPPED)).accuracy - r.dense.accuracy!)).toBeLessThanOrEqual(2 / 1000);
    expect(r.pruned.cycles).toBeLessThanOrEqual(0.5 * r.dense.cycles);
    expect(r.pruned.accuracy).toBeGreaterThan(0.8); // 4 distilled steps
    expect(errors).toEqual([]);
  }, 600_000);
});
