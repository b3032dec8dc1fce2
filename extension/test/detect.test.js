import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'

import { findPhoneNumbers } from '../src/detect.js'
import { makePage } from '../bench/page.mjs'

// Each entry: text, optional region (default RU), expected numbers in order, each with the text
// as written ("match", extension included), the E.164 number and the extension if any.
const corpus = JSON.parse(readFileSync(new URL('./corpus.json', import.meta.url), 'utf8'))

// Where each expected match must be: the first occurrence after the previous one.
function expectedSpans(entry) {
  let from = 0
  return entry.expected.map((e) => {
    const start = entry.text.indexOf(e.match, from)
    assert.ok(start >= 0, `corpus error: ${JSON.stringify(e.match)} not in ${JSON.stringify(entry.text)}`)
    from = start + e.match.length
    const span = { start, end: from, number: e.number }
    if (e.extension !== undefined) span.extension = e.extension
    return span
  })
}

describe('corpus', () => {
  const sections = new Map()
  for (const entry of corpus) {
    if (!sections.has(entry.section)) sections.set(entry.section, [])
    sections.get(entry.section).push(entry)
  }
  for (const [section, entries] of sections) {
    describe(section, () => {
      for (const entry of entries) {
        const label = `${entry.region ?? 'RU'} ${JSON.stringify(entry.text)}`
        test(label, () => {
          const options = entry.region ? { region: entry.region } : undefined
          const got = findPhoneNumbers(entry.text, options)
          assert.deepEqual(got, expectedSpans(entry))
          for (const r of got) {
            assert.equal(entry.text.slice(r.start, r.end), entry.expected[got.indexOf(r)].match)
          }
        })
      }
    })
  }
})

describe('api', () => {
  test('region defaults to RU', () => {
    assert.deepEqual(findPhoneNumbers('8 495 123-45-67'), [{ start: 0, end: 15, number: '+74951234567' }])
    assert.deepEqual(findPhoneNumbers('8 495 123-45-67', {}), findPhoneNumbers('8 495 123-45-67'))
  })

  test('non-string and short input give no numbers', () => {
    for (const input of [undefined, null, 42, {}, '', '+7', '123456']) {
      assert.deepEqual(findPhoneNumbers(input), [])
    }
  })

  test('extension is present only when the text gives one', () => {
    const [plain] = findPhoneNumbers('+7 495 123-45-67')
    assert.equal('extension' in plain, false)
    const [withExt] = findPhoneNumbers('+7 495 123-45-67 доб. 5')
    assert.equal(withExt.extension, '5')
  })

  test('calls do not share state', () => {
    const text = 'Звоните 8 (495) 123-45-67'
    const first = findPhoneNumbers(text)
    findPhoneNumbers('030 12345678', { region: 'DE' })
    assert.deepEqual(findPhoneNumbers(text), first)
  })

  test('surrogate pairs before and after do not shift offsets', () => {
    const text = '😀😀 +7 495 123-45-67 𝐀'
    const [r] = findPhoneNumbers(text)
    assert.equal(text.slice(r.start, r.end), '+7 495 123-45-67')
  })

  test('a letter outside the BMP glued to the digits is still a letter', () => {
    assert.deepEqual(findPhoneNumbers('𝐀84951234567'), [])
  })
})

describe('generated page', () => {
  // The benchmark page: every number placed on it, and nothing else, is found at its place.
  const { text, phones } = makePage({ size: 200_000, numbers: 400, seed: 7 })
  const found = findPhoneNumbers(text)

  test('results are sorted and do not overlap', () => {
    for (let i = 1; i < found.length; i++) {
      assert.ok(found[i - 1].end <= found[i].start, `overlap at ${found[i].start}`)
    }
  })

  test('every placed number is found exactly where it was written', () => {
    assert.deepEqual(
      found.map((r) => text.slice(r.start, r.end)),
      phones.map((p) => p.text)
    )
  })

  test('each match found alone gives the same number', () => {
    for (const r of found) {
      const alone = findPhoneNumbers(text.slice(r.start, r.end))
      assert.equal(alone.length, 1)
      assert.equal(alone[0].number, r.number)
      assert.equal(alone[0].extension, r.extension)
    }
  })
})
