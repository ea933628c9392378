import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tensor } from '@ortrain/graph';
import { type ArtifactManifest, MANIFEST_VERSION } from './manifest.js';
import { readSafetensors } from './safetensors.js';

/**
 * A compiled model as the runtime opens it: the folder ONNX Runtime loads the graphs from, the manifest and the
 * initial parameter values (kept in memory by compileArtifacts, read from the weights file by openCompiled).
 */
export interface CompiledModel {
  dir: string;
  manifest: ArtifactManifest;
  /** Initial values of every parameter, by name, checked against the manifest's shape and type. */
  weights: ReadonlyMap<string, Tensor>;
}

/** Reads and checks `<dir>/manifest.json`. */
export function readManifest(dir: string): ArtifactManifest {
  const path = join(dir, 'manifest.json');
  let m: ArtifactManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot read the artifacts manifest (${(e as Error).message})`);
  }
  if (m.format !== 'ortrain-artifacts' || m.version !== MANIFEST_VERSION) {
    throw new Error(
      `${path}: not an ortrain artifacts manifest (format ${m.format}, version ${m.version}; ` +
        `version ${MANIFEST_VERSION} expected: compile the model again)`,
    );
  }
  return m;
}

/** Opens a compiled folder: its manifest and initial weights, each parameter checked against the manifest. */
export function openCompiled(dir: string): CompiledModel {
  const manifest = readManifest(dir);
  const path = join(dir, manifest.weights);
  const weights = readSafetensors(path);
  for (const p of manifest.parameters) {
    const w = weights.get(p.name);
    if (!w) throw new Error(`${path}: parameter '${p.name}' is missing`);
    if (w.dataType !== p.dataType || w.dims.join() !== p.shape.join()) {
      throw new Error(
        `${path}: '${p.name}' is ${w.dataType} [${w.dims}], the manifest says ${p.dataType} [${p.shape}]`,
      );
    }
  }
  return { dir, manifest, weights };
}
