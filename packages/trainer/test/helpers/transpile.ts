import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Compiles src/ and test/helpers/ to plain JavaScript for child-process tests (crash and signal tests need a real process that
 * runs the package's code). The output lives under the package's node_modules so that the child resolves the
 * package's own dependencies. Returns the compiled src/index.js, test/helpers/ and a cleanup function.
 */
export function transpileSources(): { index: string; helpers: string; cleanup: () => void } {
  const out = join(pkg, 'node_modules', '.cache', `trainer-test-${process.pid}`);
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  for (const file of [...walk(join(pkg, 'src')), ...walk(join(pkg, 'test', 'helpers'))]) {
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    }).outputText;
    const dest = join(out, relative(pkg, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, js);
  }
  writeFileSync(join(out, 'package.json'), '{"type":"module"}');
  return {
    index: join(out, 'src', 'index.js'),
    helpers: join(out, 'test', 'helpers'),
    cleanup: () => rmSync(out, { recursive: true, force: true }),
  };
}
