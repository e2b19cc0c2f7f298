#!/usr/bin/env node
// The `wgprune` executable of the built package (dist/cli/bin.js). In a source checkout (src/ beside
// dist/, with tsx installed) it runs the TypeScript sources instead, as src/cli/bin.mjs does, so that an
// edited source is never met by a stale build; an installed package has no src/ and runs the build.
import { existsSync } from 'node:fs';

const source = new URL('../../src/cli/main.ts', import.meta.url);
async function loadMain(): Promise<(args: string[]) => Promise<number>> {
  if (existsSync(source)) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
      return (await import(source.href)).main;
    } catch {
      // no tsx (a production install of a checkout): the build
    }
  }
  return (await import('./main.js')).main;
}

process.exit(await (await loadMain())(process.argv.slice(2)));
