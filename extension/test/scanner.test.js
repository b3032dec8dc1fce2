// The parts of src/scanner.js that need no DOM.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { chunkEnd } from '../src/scanner.js'
import { findPhoneNumbers } from '../src/detect.js'

test('short text is one chunk', () => {
  assert.equal(chunkEnd('abc', 0), 3)
})

test('a huge text is cut at line breaks, and the pieces find what the whole finds', () => {
  const lines = []
  for (let i = 0; i < 4000; i++) lines.push(`Строка ${i}: звоните 8 (495) ${String(100 + (i % 900)).padStart(3, '0')}-45-67 доб. ${i % 100}`)
  const text = lines.join('\n')
  const pieces = []
  for (let pos = 0; pos < text.length;) {
    const end = chunkEnd(text, pos)
    assert.ok(end > pos)
    assert.ok(end === text.length || text[end - 1] === '\n', 'cut after a line break')
    pieces.push([pos, end])
    pos = end
  }
  assert.ok(pieces.length > 1)
  const whole = findPhoneNumbers(text)
  const byPiece = pieces.flatMap(([a, b]) => findPhoneNumbers(text.slice(a, b)).map((m) => ({ ...m, start: m.start + a, end: m.end + a })))
  assert.deepEqual(byPiece, whole)
})

test('with no line break, a cut falls on a space before a word', () => {
  const text = 'слово 8 800 555-35-35 '.repeat(5000)
  const end = chunkEnd(text, 0)
  assert.ok(end < text.length)
  assert.equal(text[end - 1], ' ')
  assert.match(text[end], /\p{L}/u)
})

test('texts searched together find exactly what each finds alone (the whole corpus)', async () => {
  const { readFileSync } = await import('node:fs')
  const { findInSegments } = await import('../src/scanner.js')
  const corpus = JSON.parse(readFileSync(new URL('./corpus.json', import.meta.url), 'utf8'))
  for (const region of ['RU', 'US', 'DE', 'GB']) {
    const texts = corpus.filter((e) => (e.region ?? 'RU') === region).map((e) => e.text)
    // Neighbours matter (labels, units, digits before and after): try several groupings.
    for (const size of [2, 3, 7, texts.length]) {
      for (let i = 0; i < texts.length; i += size) {
        const group = texts.slice(i, i + size)
        const alone = group.flatMap((t, k) => findPhoneNumbers(t, { region }).map((m) => [k, m]))
        assert.deepEqual(findInSegments(group, region), alone, JSON.stringify(group))
      }
    }
  }
})
