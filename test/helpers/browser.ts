// The demo page in real Chromium (Debian's /usr/bin/chromium, headless, driven by playwright-core): built
// with Vite and served by its preview server; WebGPU on SwiftShader with --enable-unsafe-webgpu, else
// gpu.js. `window.demo` is the page's state (demo/main.ts).
import { type Browser, type Page, chromium } from 'playwright-core';
import { type PreviewServer, build, preview } from 'vite';
import type { RunReport } from '../../src/report/report.js';

const CONFIG = new URL('../../demo/vite.config.ts', import.meta.url).pathname;
const BASE_FLAGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-swiftshader'];
/** A full-page screenshot waits for the page's next frame, which a gpu.js page on 2 loaded cores held past Playwright's 30 s once in CI. */
export const SCREENSHOT_MS = 120_000;

export interface PageState { phase: string; running: boolean; report?: RunReport; error?: string; backend?: string; model?: { source: string; name: string }; data?: { count: number; skipped: string[] } | null; modelError?: string; dataError?: string; trained?: { step: number; totalSteps: number } }

export async function servePage(): Promise<{ url: string; close: () => Promise<void> }> {
  await build({ configFile: CONFIG, logLevel: 'error' });
  const server: PreviewServer = await preview({ configFile: CONFIG, logLevel: 'error', preview: { port: 0, host: '127.0.0.1' } });
  return { url: server.resolvedUrls!.local[0], close: () => server.close() };
}

export class Browsers {
  private readonly open: Browser[] = [];
  async page(webgpu: boolean): Promise<{ page: Page; errors: string[] }> {
    const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...BASE_FLAGS, ...(webgpu ? ['--enable-unsafe-webgpu'] : [])] });
    this.open.push(b);
    const page = await b.newPage({ viewport: { width: 1400, height: 1200 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    return { page, errors };
  }
  async close() {
    for (const b of this.open) await b.close();
  }
}

export const pageState = (page: Page) => page.evaluate(() => (window as unknown as { demo: PageState }).demo);

/** Waits until `test` holds of the page's state. */
export async function waitFor(page: Page, test: string, timeout = 120_000): Promise<void> {
  await page.waitForFunction(`(() => { const d = window.demo; return ${test}; })()`, undefined, { timeout, polling: 250 });
}

export const runEnded = "['done', 'error', 'stopped'].some((p) => d.phase.startsWith(p))";
