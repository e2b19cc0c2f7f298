// --config FILE: a JSON object of a command's options, checked with the same types as the flags;
// flags on the command line win.
import { readFile } from '../data/sources.js';
import { UsageError } from './inputs.js';

type Values = Record<string, string | boolean | undefined>;

/** Options about the invocation itself, which a config file does not hold. */
const COMMAND_LINE_ONLY = ['config', 'help', 'verbose'];

/** The option `key` of `options`: own keys only ('__proto__', 'constructor' or 'toString' name no option). */
export const optionNamed = <T>(options: Record<string, T>, key: string): T | undefined => (Object.hasOwn(options, key) ? options[key] : undefined);

/** A JSON or YAML value as the flag takes it: a switch true or false, else a string or a finite number (as text); undefined where its type does not fit. */
export function flagValue(option: { type: string }, x: unknown): string | boolean | undefined {
  if (option.type === 'boolean') return typeof x === 'boolean' ? x : undefined;
  return typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x)) ? String(x) : undefined;
}

export function mergeConfigFile(file: string, values: Values, options: Record<string, { type: string }>, command: string): void {
  let config: unknown;
  try {
    config = JSON.parse(new TextDecoder().decode(readFile(file)));
  } catch (e) {
    throw new UsageError(`--config ${file}: ${(e as Error).message.replace(`${file}: `, '')}`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new UsageError(`--config ${file}: must be a JSON object of options`);
  for (const [k, x] of Object.entries(config)) {
    const option = optionNamed(options, k);
    if (!option) throw new UsageError(`--config ${file}: unknown option '${k}' for ${command}`);
    if (COMMAND_LINE_ONLY.includes(k)) throw new UsageError(`--config ${file}: '${k}' is an option of the command line, not of the run`);
    const value = flagValue(option, x);
    if (value === undefined) throw new UsageError(`--config ${file}: option '${k}' takes ${option.type === 'boolean' ? 'true or false' : 'a string or a number'}, got ${JSON.stringify(x)}`);
    if (values[k] === undefined) values[k] = value;
  }
}
