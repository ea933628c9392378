import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RESULT_MARKER, runChild } from '../src/child.js';

const dir = mkdtempSync(join(tmpdir(), 'ortrain-bench-child-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

describe('runChild', () => {
  it('returns the JSON printed after the marker, ignoring other output', async () => {
    const file = script(
      'ok.mjs',
      `console.log('progress'); console.error('to stderr');
       const [task, json] = process.argv.slice(2);
       process.stdout.write('\\n${RESULT_MARKER}' + JSON.stringify({ task, got: JSON.parse(json) }) + '\\n');`,
    );
    await expect(runChild(file, ['train', '{"x":1}'])).resolves.toEqual({ task: 'train', got: { x: 1 } });
  });

  it('reports the exit status and the end of the output when the child fails', async () => {
    const file = script('fail.mjs', `console.error('out of memory in step 3'); process.exit(3);`);
    await expect(runChild(file, ['train'])).rejects.toThrow(
      /train failed \(exit 3, no result line\):\nout of memory in step 3/,
    );
  });

  it('fails when the child exits cleanly without a result', async () => {
    const file = script('silent.mjs', `console.log('nothing');`);
    await expect(runChild(file, ['eval'])).rejects.toThrow(/exit 0, no result line/);
  });

  it('kills a child that runs past the timeout', async () => {
    const file = script('hang.mjs', `setInterval(() => {}, 1000);`);
    await expect(runChild(file, ['x'], { timeoutMs: 300 })).rejects.toThrow(/killed after 300 ms/);
  });
});
