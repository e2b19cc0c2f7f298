#!/usr/bin/env node
// The `wgprune` executable of the built package (dist/cli/bin.js); in this repository src/cli/bin.mjs
// runs the TypeScript sources through tsx instead.
import { main } from './main.js';

process.exit(await main(process.argv.slice(2)));
