#!/usr/bin/env node
// The `wgprune` executable: loads the TypeScript CLI through tsx and exits with its code.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exit(await main(process.argv.slice(2)));
