// Opt-in download of onnxruntime-node's CUDA 12 execution provider (from NuGet, as its own install script
// does). The default install skips it because it needs network beyond the npm registry.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(join(process.cwd(), 'packages/trainer/package.json'));
const ortDir = dirname(require.resolve('onnxruntime-node/package.json'));
console.log(`running onnxruntime-node's installer in ${ortDir} with ONNXRUNTIME_NODE_INSTALL=cuda12`);
const result = spawnSync(process.execPath, ['script/install.js'], {
  cwd: ortDir,
  stdio: 'inherit',
  env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' },
});
process.exit(result.status ?? 1);
