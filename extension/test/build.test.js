import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import vm from 'node:vm'
import { build } from 'esbuild'

import { options } from '../build.mjs'

test('the bundle runs as a classic script and detects numbers', async () => {
  const outdir = await mkdtemp(join(tmpdir(), 'talker-extension-build-'))
  try {
    await build({ ...options, outdir, logLevel: 'silent' })
    const code = await readFile(join(outdir, 'build-probe.js'), 'utf8')
    assert.doesNotMatch(code, /^\s*(import|export)\s/m, 'a content script cannot use module syntax')
    // A bare context: no DOM, no Node globals, as little as a content script can rely on.
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
