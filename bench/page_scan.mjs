// Writes the page of bench/page_scan.py into a folder: the deterministic 1 MB text with about
// 2,000 phone numbers of extension/bench/page.mjs as HTML (one paragraph per line, every tenth
// line a table row, every seventh a list item), and raw.js, a classic-script bundle of
// libphonenumber-js's own scanner (max metadata) and of Talker's detector, for the comparison
// on the same text in the same page.
//
//   node bench/page_scan.mjs OUTDIR [--size BYTES] [--numbers N]
import { createRequire } from 'node:module'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const extension = fileURLToPath(new URL('../extension/', import.meta.url))
const require = createRequire(join(extension, 'package.json'))
const { build } = require('esbuild')
const { makePage } = await import(new URL('../extension/bench/page.mjs', import.meta.url))

const [outdir, ...rest] = process.argv.slice(2)
if (!outdir) throw new Error('usage: node bench/page_scan.mjs OUTDIR [--size BYTES] [--numbers N]')
const opt = (name, dflt) => {
  const i = rest.indexOf(`--${name}`)
  return i >= 0 ? Number(rest[i + 1]) : dflt
}
const { text, placed } = makePage({ size: opt('size', 1_000_000), numbers: opt('numbers', 2000), seed: 20240512 })

const escape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const parts = []
let table = []
const lines = text.split('\n')
lines.forEach((line, i) => {
  if (i % 10 === 9) {
    table.push(`<tr><td>${i}</td><td>${escape(line)}</td></tr>`)
    return
  }
  if (table.length) {
    parts.push(`<table>${table.join('')}</table>`)
    table = []
  }
  parts.push(i % 7 === 6 ? `<ul><li>${escape(line)}</li></ul>` : `<p>${escape(line)}</p>`)
})
if (table.length) parts.push(`<table>${table.join('')}</table>`)

await mkdir(outdir, { recursive: true })
await writeFile(join(outdir, 'page.html'),
  '<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>scan benchmark</title></head><body>' +
  parts.join('\n') + '<script src="raw.js"></script></body></html>')
await writeFile(join(outdir, 'entry.js'),
  "export { findPhoneNumbersInText } from 'libphonenumber-js/max'\n" +
  `export { findPhoneNumbers } from ${JSON.stringify(join(extension, 'src', 'detect.js'))}\n`)
await build({
  entryPoints: [join(outdir, 'entry.js')], bundle: true, format: 'iife', globalName: 'talkerRaw', minify: true,
  outfile: join(outdir, 'raw.js'), absWorkingDir: extension, nodePaths: [join(extension, 'node_modules')],
  logLevel: 'warning',
})
console.log(JSON.stringify({ chars: text.length, placed, lines: lines.length }))
