// Bundles the extension's scripts into dist/. `npm run build`; test/build.test.js reuses the
// same options with another output folder.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

export const options = {
  entryPoints: { 'build-probe': 'src/build-probe.js' },
  absWorkingDir: fileURLToPath(new URL('.', import.meta.url)),
  bundle: true,
  // Content scripts are classic scripts; the global name lets tests reach the exports.
  format: 'iife',
  globalName: 'talkerDetect',
  // Oldest browsers the extension supports (MV3 service workers, RegExp lookbehind).
  target: ['chrome110', 'firefox115'],
  outdir: 'dist',
  logLevel: 'info',
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await build(options)
}
