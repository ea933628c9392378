#!/usr/bin/env node
/**
 * The `pnpm train | predict | evaluate` entry point. Exit codes: 0 done, 1 a problem with the inputs or the
 * run (the message names the file, flag or step), 2 a command-line mistake, 130 interrupted (checkpoint saved).
 */
import { formatUsageError, UsageError } from '@ortrain/cli';
import { evaluate } from './commands/evaluate.js';
import { predict } from './commands/predict.js';
import { train } from './commands/train.js';

const COMMANDS: Record<string, (argv: readonly string[]) => Promise<number>> = { train, predict, evaluate };

const USAGE = `usage: ortrain-glue <train|predict|evaluate> [options]   (pnpm train --help, pnpm predict --help, ...)\n`;

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`error: unknown command '${name}'\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(formatUsageError(error));
      return error.exitCode;
    }
    // Our own errors carry the whole story; a stack would only bury it. ORTRAIN_DEBUG=1 shows it.
    const e = error as Error;
    process.stderr.write(`error: ${process.env['ORTRAIN_DEBUG'] ? e.stack : e.message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
