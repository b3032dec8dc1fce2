import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import vm from 'node:vm'
import { build } from 'esbuild'

import { BROWSERS, buildExtension, bundleOptions } from '../build.mjs'

const bridge = JSON.parse(await readFile(new URL('../../common/browser_bridge.json', import.meta.url), 'utf8'))
const locales = {
  en: JSON.parse(await readFile(new URL('../_locales/en/messages.json', import.meta.url), 'utf8')),
  ru: JSON.parse(await readFile(new URL('../_locales/ru/messages.json', import.meta.url), 'utf8')),
}

// Chromium's extension ID: SHA-256 of the DER public key, first 32 hex digits mapped to a-p.
function extensionId(keyBase64) {
  const hex = createHash('sha256').update(Buffer.from(keyBase64, 'base64')).digest('hex').slice(0, 32)
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('')
}

async function withBuild(browser, fn) {
  const outdir = await mkdtemp(join(tmpdir(), `talker-extension-${browser}-`))
  try {
    await buildExtension(browser, outdir)
    await fn(outdir)
  } finally {
    await rm(outdir, { recursive: true, force: true })
  }
}

test('the Chromium manifest key yields the extension ID the host manifests allow', async () => {
  await withBuild('chromium', async (dir) => {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))
    assert.equal(manifest.key, bridge.chromium.key)
    assert.equal(extensionId(manifest.key), bridge.chromium.extension_id)
    assert.equal(manifest.manifest_version, 3)
    assert.deepEqual(manifest.permissions, ['nativeMessaging', 'storage'])
    assert.equal(manifest.host_permissions, undefined)
    assert.equal(manifest.externally_connectable, undefined, 'web pages must not reach the extension')
    assert.equal(manifest.background.service_worker, 'background.js')
  })
})

test('the Firefox manifest has the fixed add-on ID', async () => {
  await withBuild('firefox', async (dir) => {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))
    assert.equal(manifest.browser_specific_settings.gecko.id, bridge.firefox.addon_id)
    assert.equal(manifest.key, undefined)
    assert.deepEqual(manifest.background.scripts, ['background.js'])
    assert.deepEqual(manifest.permissions, ['nativeMessaging', 'storage'])
  })
})

test('every file a manifest names is in the build, and the scripts are classic scripts', async () => {
  for (const browser of BROWSERS) {
    await withBuild(browser, async (dir) => {
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'))
      const named = [
        manifest.action.default_popup,
        ...Object.values(manifest.icons),
        ...manifest.content_scripts.flatMap((c) => [...c.js, ...c.css]),
        ...(manifest.background.scripts ?? [manifest.background.service_worker]),
      ]
      const files = new Set(await readdir(dir, { recursive: true }))
      for (const file of named) assert.ok(files.has(file), `${browser}: ${file} is missing`)
      for (const script of ['content.js', 'background.js', 'popup.js']) {
        const code = await readFile(join(dir, script), 'utf8')
        // Content scripts cannot be modules; parse each as a classic script.
        assert.doesNotThrow(() => new vm.Script(code, { filename: script }), `${browser}: ${script}`)
      }
    })
  }
})

test('the detector bundles into a classic script that works with no DOM', async () => {
  const outdir = await mkdtemp(join(tmpdir(), 'talker-extension-detect-'))
  try {
    await build({ ...bundleOptions, entryPoints: { detect: 'src/detect.js' }, globalName: 'talkerDetect', outdir,
      logLevel: 'silent' })
    const code = await readFile(join(outdir, 'detect.js'), 'utf8')
    const context = vm.createContext({})
    vm.runInContext(code, context)
    const text = 'Звоните: +7 (495) 123-45-67 доб. 12'
    assert.deepEqual(
      JSON.parse(JSON.stringify(context.talkerDetect.findPhoneNumbers(text))),
      [{ start: 9, end: 35, number: '+74951234567', extension: '12' }]
    )
  } finally {
    await rm(outdir, { recursive: true, force: true })
  }
})

test('English and Russian have the same messages, and every message used exists', async () => {
  assert.deepEqual(Object.keys(locales.ru).sort(), Object.keys(locales.en).sort())
  for (const [lang, messages] of Object.entries(locales)) {
    for (const [key, { message }] of Object.entries(messages)) {
      assert.ok(message.trim(), `${lang}: ${key} is empty`)
      // Chrome substitutes $1..$9; a stray "$" must be written "$$".
      assert.doesNotMatch(message.replace(/\$\$|\$[1-9]/g, ''), /\$/, `${lang}: ${key}`)
    }
  }
  const used = new Set()
  for (const file of ['content.js', 'popup.js', 'errors.js', 'popup.html']) {
    const source = await readFile(new URL(`../src/${file}`, import.meta.url), 'utf8')
    for (const m of source.matchAll(/\bt\('([A-Za-z0-9_]+)'/g)) used.add(m[1])
    for (const m of source.matchAll(/data-i18n(?:-[a-z-]+)?="([A-Za-z0-9_]+)"/g)) used.add(m[1])
  }
  for (const manifest of BROWSERS) {
    const source = await readFile(new URL(`../manifest/${manifest}.json`, import.meta.url), 'utf8')
    for (const m of source.matchAll(/__MSG_([A-Za-z0-9_]+)__/g)) used.add(m[1])
  }
  // Keys built at run time: registration and call states.
  for (const s of ['offline', 'registering', 'registered', 'failed']) used.add(`state_${s}`)
  for (const s of ['calling', 'incoming', 'ringing', 'connected', 'ended']) used.add(`call_${s}`)
  for (const key of used) assert.ok(key in locales.en, `message ${key} is used but not defined`)
  for (const key of Object.keys(locales.en)) assert.ok(used.has(key), `message ${key} is defined but never used`)
})
