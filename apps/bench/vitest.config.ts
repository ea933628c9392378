import { defineConfig } from 'vitest/config';

// Tests here create ONNX Runtime sessions; under turbo's parallel runs on 2 cores they can take far longer
// than vitest's 5 s default without being wrong.
export default defineConfig({ test: { testTimeout: 120_000, hookTimeout: 120_000 } });
