// Scan speed of findPhoneNumbers() against a plain libphonenumber-js scan of the same text.
//
//   node bench/scan.mjs [--size BYTES] [--numbers N] [--runs N] [--seed N] [--adversarial]
//
// Builds a deterministic page of mixed Russian/English text (about 1 MB with about 2,000 phone
// numbers by default, plus the dates, prices, IDs and figures a real page has), then times both
// scanners. --adversarial also times findPhoneNumbers alone on pages built to be slow (long rows
// of figures, digits spelled out); libphonenumber-js takes seconds on those, so it is left out.
// Prints figures only; it never fails on time (bench/ convention of the project).

import { performance } from 'node:perf_hooks'
import { findPhoneNumbersInText } from 'libphonenumber-js/max'
import { findPhoneNumbersInText as findWithMinMetadata } from 'libphonenumber-js'
import { findPhoneNumbers } from '../src/detect.js'
import { makePage } from './page.mjs'

const args = parseArgs(process.argv.slice(2))
const SIZE = args.size ?? 1_000_000
const NUMBERS = args.numbers ?? 2000
const RUNS = args.runs ?? 5
const SEED = args.seed ?? 20240512

function time(fn, runs) {
  fn() // warm-up: JIT and lazily compiled metadata regexes
  const samples = []
  let result
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    result = fn()
    samples.push(performance.now() - t0)
  }
  samples.sort((a, b) => a - b)
  return { median: samples[Math.floor(samples.length / 2)], min: samples[0], result }
}

function parseArgs(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '')
    const value = argv[i + 1]
    if (value === undefined || value.startsWith('--')) {
      out[key] = true
    } else {
      out[key] = Number(value)
      i++
    }
  }
  return out
}

const { text, placed } = makePage({ size: SIZE, numbers: NUMBERS, seed: SEED })
const raw = time(() => findPhoneNumbersInText(text, { defaultCountry: 'RU' }), RUNS)
// For reference only: the package's default export validates lengths but not digits.
const rawMin = time(() => findWithMinMetadata(text, { defaultCountry: 'RU' }), RUNS)
const ours = time(() => findPhoneNumbers(text, { region: 'RU' }), RUNS)

const fmt = (ms) => ms.toFixed(1).padStart(8) + ' ms'
console.log(`page: ${text.length} UTF-16 units, ${placed} phone numbers placed, ${RUNS} runs, median (min)`)
console.log(`libphonenumber-js findPhoneNumbersInText (max): ${fmt(raw.median)} (${raw.min.toFixed(1)}), ${raw.result.length} found`)
console.log(`  (for reference, default 'min' metadata):    ${fmt(rawMin.median)} (${rawMin.min.toFixed(1)}), ${rawMin.result.length} found`)
console.log(`talker findPhoneNumbers (max):                  ${fmt(ours.median)} (${ours.min.toFixed(1)}), ${ours.result.length} found`)
console.log(`ratio talker / libphonenumber-js: ${(ours.median / raw.median).toFixed(3)} (goal <= 1.3)`)

if (args.adversarial) {
  const rep = (unit) => unit.repeat(Math.ceil(SIZE / unit.length))
  const row = (cell) => Array(32).fill(cell).join(' ') + '\n'
  const pages = {
    'one run of single digits': rep('1 2 3 4 5 6 7 8 9 0 '),
    'rows of 32 eights': rep(row('8')),
    'rows of 32 "88"': rep(row('88')),
    'spaced numbers, 6 a row': rep('8 800 555 55 22 8 495 123 45 67 8 912 345 67 89 8 800 555 55 23 8 800 555 55 24 8 800 555 55 25\n'),
    'one number 55k times': rep('+7 495 123-45-67, '),
    'dates and times': rep('12.05.2024 10:30 '),
    'order numbers': rep('Order #84951234567 '),
    'parentheses': rep('(1)'),
  }
  console.log(`\nadversarial pages, ${SIZE} UTF-16 units each, findPhoneNumbers only, median of ${RUNS}:`)
  for (const [name, page] of Object.entries(pages)) {
    const r = time(() => findPhoneNumbers(page, { region: 'RU' }), RUNS)
    console.log(`  ${name.padEnd(28)} ${fmt(r.median)}, ${r.result.length} found`)
  }
}
