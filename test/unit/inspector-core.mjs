// Bundles the inspector's pure modules (extension/src/inspector/shared/core.ts) for Node with esbuild and loads
// them, so the unit tests exercise the TypeScript sources without a separate build step.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outfile = join(root, 'test/out/unit', `inspector-core-${process.pid}.cjs`);

let loaded;
/** @returns {Promise<typeof import('../../extension/src/inspector/shared/core')>} */
export async function loadCore() {
  if (!loaded) {
    mkdirSync(dirname(outfile), { recursive: true });
    await build({
      entryPoints: [join(root, 'extension/src/inspector/shared/core.ts')],
      outfile, bundle: true, platform: 'node', format: 'cjs', target: 'node20', logLevel: 'silent',
    });
    loaded = createRequire(import.meta.url)(outfile);
    process.on('exit', () => rmSync(outfile, { force: true }));
  }
  return loaded;
}
