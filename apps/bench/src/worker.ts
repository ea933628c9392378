/**
 * Child-process entry: `node worker.js <task> <json args>` runs one benchmark and prints its figures on one
 * stdout line after RESULT_MARKER (see child.ts).
 */
import { RESULT_MARKER } from './child.js';
import {
  compileTask,
  evalTask,
  forwardTask,
  gemmTask,
  mrpcTask,
  parallelTask,
  profileTask,
  serveTask,
  tokenizeTask,
  trainTask,
} from './tasks.js';

const TASKS = {
  compile: compileTask,
  train: trainTask,
  eval: evalTask,
  forward: forwardTask,
  mrpc: mrpcTask,
  parallel: parallelTask,
  tokenize: tokenizeTask,
  profile: profileTask,
  serve: serveTask,
  gemm: gemmTask,
} as const;

export type TaskName = keyof typeof TASKS;

const [name, json] = process.argv.slice(2);
const task = TASKS[name as TaskName] as ((args: unknown) => unknown) | undefined;
if (!task || json === undefined) {
  console.error(`usage: worker.js <${Object.keys(TASKS).join('|')}> <json args>`);
  process.exit(2);
}
const result = await task(JSON.parse(json));
process.stdout.write(`\n${RESULT_MARKER}${JSON.stringify(result)}\n`);
