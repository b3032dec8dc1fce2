import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { buildExtension } from '../build.mjs'

// addons.mozilla.org's own checks (web-ext lint, i.e. addons-linter) on the Firefox build:
// not one error, warning or notice, so that a new rule (such as the data collection
// declaration new extensions must carry) is noticed here rather than at submission.
test('web-ext lint finds nothing in the Firefox build', async () => {
  const { default: webExt } = await import('web-ext')
  const dir = await mkdtemp(join(tmpdir(), 'talker-extension-firefox-lint-'))
  try {
    await buildExtension('firefox', dir)
    const result = await webExt.cmd.lint(
      { sourceDir: dir, output: 'none', boring: true },
      { shouldExitProgram: false },
    )
    const found = [...result.errors, ...result.warnings, ...result.notices].map((m) => `${m.code}: ${m.message}`)
    assert.deepEqual(found, [])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
