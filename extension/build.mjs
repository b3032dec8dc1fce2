// Builds the extension for each browser family into dist/<browser>/, ready to load unpacked:
//
//   npm run build                 # dist/chromium and dist/firefox
//   node build.mjs chromium       # one of them
//
// The manifest comes from manifest/<browser>.json, completed with the facts every part of
// Talker shares (common/browser_bridge.json: the Chromium key, the Firefox add-on ID, minimum
// versions) and the version of package.json. Scripts are bundled with esbuild; the service
// worker and the popup import the JSON files they need, so there is one definition of each.
import { build } from 'esbuild'
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
export const BROWSERS = ['chromium', 'firefox']
const BRIDGE = join(here, '..', 'common', 'browser_bridge.json') // common/browser_bridge.json

export const bundleOptions = {
  entryPoints: { content: 'src/content.js', background: 'src/background.js', popup: 'src/popup.js' },
  absWorkingDir: here,
  bundle: true,
  // Content scripts must be classic scripts (MV3 has no module content scripts); the worker and
  // the popup could be modules, but one format keeps the build simple.
  format: 'iife',
  // Oldest browsers the extension supports: MV3 service workers, the Custom Highlight API and
  // RegExp lookbehind (detect.js) in Chromium 110 (highlights since 105); Firefox 142.
  target: ['chrome110', 'firefox142'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
}

const STATIC = [
  ['src/popup.html', 'popup.html'],
  ['src/popup.css', 'popup.css'],
  ['src/content.css', 'content.css'],
  ['_locales', '_locales'],
  ['icons', 'icons'],
]

export async function manifestFor(browser) {
  const bridge = JSON.parse(await readFile(BRIDGE, 'utf8'))
  const pkg = JSON.parse(await readFile(join(here, 'package.json'), 'utf8'))
  const manifest = JSON.parse(await readFile(join(here, 'manifest', `${browser}.json`), 'utf8'))
  manifest.version = pkg.version
  if (browser === 'chromium') {
    manifest.key = bridge.chromium.key
    manifest.minimum_chrome_version = bridge.chromium.minimum_version
  } else {
    manifest.browser_specific_settings.gecko.id = bridge.firefox.addon_id
    manifest.browser_specific_settings.gecko.strict_min_version = bridge.firefox.minimum_version
  }
  return manifest
}

export async function buildExtension(browser, outdir = join(here, 'dist', browser), overrides = {}) {
  if (!BROWSERS.includes(browser)) throw new Error(`unknown browser ${browser}; one of ${BROWSERS.join(', ')}`)
  await rm(outdir, { recursive: true, force: true })
  await mkdir(outdir, { recursive: true })
  await build({ ...bundleOptions, outdir, ...overrides })
  for (const [from, to] of STATIC) await cp(join(here, from), join(outdir, to), { recursive: true })
  await writeFile(join(outdir, 'manifest.json'), JSON.stringify(await manifestFor(browser), null, 2) + '\n')
  return outdir
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = process.argv.slice(2)
  for (const browser of wanted.length ? wanted : BROWSERS) {
    console.log(`built ${await buildExtension(browser)}`)
  }
}
