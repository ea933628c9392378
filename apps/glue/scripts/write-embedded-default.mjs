// Writes the embedded default (model/ and data/) into a folder, for scripts/check_embedded_learnable.py.
// Usage: pnpm --filter @ortrain/glue build && node apps/glue/scripts/write-embedded-default.mjs <dir> [json options]
import { writeEmbeddedDefault } from '../dist/embedded/index.js';

const [dir, options] = process.argv.slice(2);
if (!dir) {
  console.error('usage: write-embedded-default.mjs <dir> [json options, e.g. {"train":3000}]');
  process.exit(2);
}
const files = await writeEmbeddedDefault(dir, options ? JSON.parse(options) : {});
console.log(`wrote ${files.modelDir} (vocab ${files.config.vocab_size}) and ${files.dataDir}`);
