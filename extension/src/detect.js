// Phone number detection in plain text. Pure: no DOM, no browser APIs, so it runs under Node
// for tests and benchmarks, and the content script only maps text nodes to offsets.
//
// Why not libphonenumber-js's findPhoneNumbersInText() directly: it runs a large Unicode regex
// and several parse attempts per digit sequence, and it accepts things a click-to-call link
// must not offer (dates in some regions, order numbers, digits glued to other digits). Here a
// cheap ASCII regex finds "runs" of digits and separators, plain string checks throw away the
// obvious non-numbers, and only the survivors reach libphonenumber-js (max metadata, so that
// the digits themselves are validated, not just the length).
//
// What counts, in short (extension/docs/number-detection.md has the reasons and the limits):
// - international numbers ("+…", or the region's IDD prefix such as "8 10…" / "00…");
// - national numbers of `region`, with the trunk prefix where the region writes one
//   (DE "030 …", GB "020 …"); a national number written as one unbroken block of digits must
//   carry some prefix ("84951234567" yes, "4951234567" no): bare blocks are too often IDs;
// - an extension after the number: "доб. 123", "доб 123", "(доб. 123)", "вн. 12", "ext. 12",
//   "ext 12", "x12", "#12";
// - a "+" number glued to the word before it ("факс+74951234568");
// - digits of other scripts (full-width "８", Arabic-Indic "٨", …), read as 0-9.
// What does not: dates, year ranges, times, prices, IP addresses, decimals and coordinates,
// ISBNs, blocks of 16+ digits and spaced card numbers, digits glued to letters, digits or
// URL/e-mail punctuation (a "+" glued to a word is the exception above), numbers labelled as an ID ("№", "#", "Order #", "Заказ №", "Invoice:",
// "ИНН", …), and short internal extensions on their own ("call 102").

import parsePhoneNumber, { Metadata, isSupportedCountry } from 'libphonenumber-js/max'

// Fewer digits than this is never a dialable outside number (E.164 minimum is 7 with the country
// code, e.g. Niue), and it keeps internal extensions ("call 102") and small figures out.
const MIN_DIGITS = 7
// E.164 allows 15 digits; a written IDD prefix ("8 10 …", "00 …") stays within 15 for every
// realistic number, so a block of 16 and more is a card or an ID, never part of a number.
const MAX_DIGITS = 15
// Numbers are written in groups; more than two one-digit groups ("+7 8 …" and "8 (84722) 2-34-56"
// have two) is digits spelled out or a row of small figures.
const MAX_SINGLE_DIGIT_GROUPS = 2

// Spaces that appear inside numbers in the wild: ASCII, no-break, figure, thin, narrow no-break.
// Tabs and line breaks end a run: table cells and lines are separate things.
const WS = ' \\u00A0\\u2007\\u2009\\u202F'
// Hyphen-minus, hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal bar, minus.
const DASHES = '\\-\\u2010\\u2011\\u2012\\u2013\\u2014\\u2015\\u2212'
// "(495)", and "(8 495)" / "(8-495)" with the trunk prefix inside.
const PAREN = `\\(\\d{1,5}(?:[${WS}${DASHES}]\\d{1,5})?\\)`
const GROUP = `(?:\\d+|${PAREN})`
// A dash with spaces on both sides is a range or an aside ("1990 – 2024", "… 22 — free call"),
// never a separator inside one number, so it is not one of the alternatives. A slash only counts
// without spaces ("030/1234567"); " / " separates two numbers.
const SEP = `(?:[${WS}]{1,2}|[${WS}][${DASHES}.]|[${DASHES}.][${WS}]?|/)`
// A paren group may touch its neighbours ("+7(912)3456789"); plain digit groups never touch
// each other, which keeps the pattern free of ambiguous backtracking.
const RUN = new RegExp(`\\+?${GROUP}(?:${SEP}${GROUP}|${PAREN}|(?<=\\))\\d+)*`, 'g')
const RUN_AT = new RegExp(RUN.source, 'y')
// Separators made of spaces only: the only places where a run may be cut into a shorter candidate
// ("с 9 до 18 8 800 555-35-35" → "8 800 555-35-35").
const SPACE_SEP = new RegExp(`[${WS}]{1,2}(?=[\\d(])`, 'g')

const EXT_WORD = '(?:доб(?:авочный)?|доп|вн(?:утр(?:енний)?)?|ext(?:ension)?)\\.?'
const EXT = new RegExp(
  `(?:[${WS}]*,)?[${WS}]*(?:` +
    `\\([${WS}]*${EXT_WORD}[${WS}]*:?[${WS}]*(\\d{1,6})[${WS}]*\\)` +
    `|${EXT_WORD}[${WS}]*:?[${WS}]*(\\d{1,6})` +
    // "x"/"#" are single characters, so they may have at most one space before the digits.
    `|[xX#][${WS}]?(\\d{1,6}))`,
  'iuy'
)

const WORD_CHAR = /[\p{L}\p{N}\p{M}_]/u
// Before the number: these make it part of a URL, e-mail, query string, amount or ID.
const BAD_BEFORE = new Set('@/\\=&?#№$€£¥₽₴₸+%'.split(''))
// "12,84951234567", "10:84951234567", "7.84951234567": the number continues a figure.
const JOIN_BEFORE = new Set(['.', ',', ':'])
const HYPHENS_BEFORE = new Set(['-', '\u2010', '\u2011'])
const BAD_AFTER = new Set('@%‰°′″+'.split(''))

// Labels that make the following digits an identifier rather than a phone number. Words must
// stand alone, so "заказа" in "Телефон для заказа: 8 800 …" does not count.
// - "#" or "№" on its own.
// - Registry and product labels, never followed by a phone number: "ИНН 7707083893", "ISBN …".
// - Everyday words only with a marker after them: "Order #…", "order no. …", "Заказ № …",
//   "Invoice: …". Without one, "call to order 8 800 …" is a phone number.
const ID_MARKER = '(?:[#№:]|\\bno\\b\\.?|\\bnr\\b\\.?|number|номер|id\\b)'
const ID_LABEL = new RegExp(
  '(?:[#№]|(?<![\\p{L}\\p{N}_])(?:' +
    '(?:инн|огрн|огрнип|кпп|бик|окпо|октмо|снилс|isbn(?:-?1[03])?|issn|ean|upc|sku|артикул|арт|id|' +
    '[ркл]/с|паспорт|passport|imei|vin|s/n|serial)(?![\\p{L}\\p{N}_])' +
    '|(?:order|invoice|inv|заказ|счёт|счет|ticket|тикет|заявка|трек|tracking|ref|договор|contract|' +
    'account|acct)[\\s.-]*' + ID_MARKER +
    ')(?:[\\s.:#№-]|' + ID_MARKER + ')*)[\\s\\u00A0]*$',
  'iu'
)
// A currency sign counts as the number's own only when it does not close an amount before it
// ("714 474 ₽ 8 (905) 187-95-98" is a price, then a phone number).
const CURRENCY_BEFORE = /(?<!\d[\s\u00A0]?)(?:[$€£¥₽₴₸]|(?<![\p{L}\p{N}_])(?:usd|eur|rub|руб)\.?)[\s\u00A0]?$/iu
// "$" and friends right before digits open the next amount; they say nothing about this one.
const UNIT_AFTER =
  /^[\s\u00A0]?(?:[₽₴₸%‰]|[$€£¥](?![\s\u00A0]?\d)|(?:руб|rub|usd|eur|долл|dollars?|euros?|тыс|млн|млрд|коп|р\.|р(?![\p{L}])|km|км|kg|кг|мм|mm))/iu
const CONTEXT_CHARS = 40
// More space-separated pieces than this is a table of figures, not text with phone numbers
// (four numbers in a row written "8 800 555 55 22" take 20). Skipping it keeps a page of
// figures from costing a parse attempt per digit.
const MAX_PIECES = 32

// Shapes of the candidate itself (dashes normalised to "-").
// Two-digit years only with "." or "/": "12-12-12" is more often a local number than a date.
const DATE_DMY = /^(\d{1,2})([./])(\d{1,2})\2(\d{2}|\d{4})$|^(\d{1,2})-(\d{1,2})-\d{4}$/
const DATE_YMD = /^(\d{4})([./-])(\d{1,2})\2(\d{1,2})$/
const YEAR_RANGE = /^(?:1[5-9]|20)\d\d-(?:(?:1[5-9]|20)\d\d|\d\d)$/
const IP_V4 = /^\d{1,3}(?:\.\d{1,3}){3}$/
const DECIMAL = /^\d+\.\d+$/
const ISBN_13 = /^97[89]\d{10}$/
// "84 951 234 567": thousands grouping of a figure. Four or more groups, so that the 3-3-3 of
// Spanish numbers ("912 345 678") stays a phone number.
const THOUSANDS = /^\d{1,3}([ \u00A0\u2007\u2009\u202F.])\d{3}(?:\1\d{3}){2,}$/
const ALL_DASHES = new RegExp(`[${DASHES}]`, 'g')
const NON_DIGITS = /\D/g

// Digits of other scripts and the full-width forms of "+", "(", ")", "-", "." and space are read
// as their ASCII selves, one UTF-16 unit for one, so offsets into the page's text stay valid.
// Only the Basic Multilingual Plane: every script that writes phone numbers in its own digits
// has them there (a digit outside it takes two units and is left alone, as a non-digit).
const FOLDABLE = /(?![0-9])\p{Nd}|[\uFF08\uFF09\uFF0B\uFF0D\uFF0E\u3000]/gu
const FOLD_PUNCT = { '\uFF08': '(', '\uFF09': ')', '\uFF0B': '+', '\uFF0D': '-', '\uFF0E': '.', '\u3000': ' ' }
const ND = /\p{Nd}/u
// A "+" number may follow a word with nothing between ("тел+7…", "факс+7…") unless that word
// belongs to a URL, a path or an address ("q=phone+7…", "/a+7…").
const WORD_BEFORE_PLUS = /(?:^|[^\p{L}\p{N}\p{M}_@/\\=&?#%.:-]|(?<=\p{L})[.:])\p{L}[\p{L}\p{M}]+$/u
const LETTER = /\p{L}/u

const metadata = new Metadata()
const formatRegexCache = new Map()

/**
 * Find phone numbers in `text`.
 *
 * @param {string} text
 * @param {{region?: string}} [options] region: ISO 3166 code whose national formats are
 *   recognised ("RU", "DE", "US", …). An unknown region leaves international numbers only.
 * @returns {{start: number, end: number, number: string, extension?: string}[]} sorted by start,
 *   non-overlapping; start/end are UTF-16 offsets of the number as written, extension included;
 *   number is E.164.
 */
export function findPhoneNumbers(text, { region = 'RU' } = {}) {
  if (typeof text !== 'string' || text.length < MIN_DIGITS) return []
  text = foldDigits(text)
  const country = typeof region === 'string' && isSupportedCountry(region.toUpperCase())
    ? region.toUpperCase()
    : undefined
  // Pages repeat their numbers (header, footer, every card of a listing) and parsing is the
  // expensive step, so results are remembered for the length of one call, valid or not.
  const scan = { country, prefixStart: prefixStart(country), cache: new Map(), lastEnd: -1 }
  const found = []
  const re = new RegExp(RUN)
  let m
  while ((m = re.exec(text)) !== null) {
    const run = m[0]
    // Cheap exits first: most runs on a page are short figures.
    if (run.length < MIN_DIGITS || countDigits(run) < MIN_DIGITS) continue
    const runEnd = matchRun(text, m.index, run, scan, found)
    // An extension lies outside the run; the next search must not start inside it.
    if (runEnd > re.lastIndex) re.lastIndex = runEnd
  }
  return found
}

// A run can hold several things separated by plain spaces: "17.02.2005 8-925-016-22-45",
// "Заказ № 818727383 8 (977) 125-50-25", "с 9 до 18 8 800 555-35-35". It is cut into pieces at
// space-only separators and numbers are looked for left to right, longest first, over whole
// pieces. Returns the end of the last match (or 0).
function matchRun(text, runStart, run, scan, found) {
  const pieces = splitPieces(run)
  if (pieces === null) return 0
  const n = pieces.length
  const barrier = markBarriers(run, pieces)

  // Labels and units are about the piece they touch: "Заказ № 818727383" makes the first piece
  // an ID, "1 500 000 руб." the last one an amount; the pieces in between are still looked at.
  const plus = run.charCodeAt(0) === 43 /* + */
  const runEnd = runStart + run.length
  let first = 0
  let last = n - 1
  const before = text.slice(Math.max(0, runStart - CONTEXT_CHARS), runStart)
  if (CURRENCY_BEFORE.test(before) || (!plus && ID_LABEL.test(before))) first = 1
  if (UNIT_AFTER.test(text.slice(runEnd, runEnd + 8))) last = n - 2

  let lastEnd = 0
  // Dropping a labelled first piece counts as skipping it.
  let afterMatch = first === 0
  let i = first
  while (i <= last) {
    if (barrier[i] || pieces[i].singles > MAX_SINGLE_DIGIT_GROUPS) {
      i++
      afterMatch = false
      continue
    }
    // Extend as far as the digit and group budgets allow, then shrink from the right.
    let j = i
    let digits = pieces[i].digits
    let singles = pieces[i].singles
    while (
      j < last &&
      !barrier[j + 1] &&
      digits + pieces[j + 1].digits <= MAX_DIGITS &&
      singles + pieces[j + 1].singles <= MAX_SINGLE_DIGIT_GROUPS
    ) {
      j++
      digits += pieces[j].digits
      singles += pieces[j].singles
    }
    let match = null
    for (; j >= i && digits >= MIN_DIGITS; digits -= pieces[j].digits, j--) {
      if (digits > MAX_DIGITS) continue
      const start = runStart + pieces[i].start
      const end = runStart + pieces[j].end
      // After a skipped piece, a number must show where it starts: with "+", a trunk or IDD
      // prefix. Otherwise a failed "00 1 935 429 6389" would leave "935 429 6389" to be
      // read as a national number of another country.
      match = matchCandidate(text, start, end, scan, i > 0 && !afterMatch)
      if (match) break
    }
    if (match) {
      found.push(match)
      scan.lastEnd = match.end
      lastEnd = match.end
      afterMatch = true
      i = j + 1
      continue
    }
    // "+1 (935) 429-6389 36": an international number that does not validate; its pieces must
    // not be reused as national numbers.
    if (plus && i === 0) return lastEnd
    afterMatch = false
    i++
  }
  return lastEnd
}

// Returns null past MAX_PIECES, without looking at the rest of a possibly huge run.
function splitPieces(run) {
  const pieces = []
  let start = 0
  SPACE_SEP.lastIndex = 0
  let s
  while ((s = SPACE_SEP.exec(run)) !== null) {
    // Not inside "(8 495)": that space belongs to one group. The "(" can only be in this piece.
    if (insideParens(run, start, s.index)) continue
    if (pieces.length === MAX_PIECES) return null
    pieces.push(piece(run, start, s.index))
    start = s.index + s[0].length
  }
  if (pieces.length === MAX_PIECES) return null
  pieces.push(piece(run, start, run.length))
  return pieces
}

function piece(run, start, end) {
  let digits = 0
  let singles = 0
  let group = 0
  for (let k = start; k <= end; k++) {
    const c = k < end ? run.charCodeAt(k) : 0
    if (c >= 48 && c <= 57) {
      group++
      continue
    }
    digits += group
    if (group === 1) singles++
    group = 0
  }
  return { start, end, digits, singles }
}

function insideParens(run, from, i) {
  for (let k = i - 1; k >= from; k--) {
    const c = run.charCodeAt(k)
    if (c === 40 /* ( */) return true
    if (c === 41 /* ) */) return false
  }
  return false
}

// Pieces no number may include: more digits than any number has (cards with dashes, account
// numbers), a date, IP address or decimal of its own ("92 03.04.2004" is not "+79203042004"),
// and the last four of four or more 4-digit blocks in a row (a card number with spaces; the
// blocks before them may still end a number: "+44 20 7946 0958 4276 1234 5678 9012").
function markBarriers(run, pieces) {
  const barrier = pieces.map(
    (p) => p.digits > MAX_DIGITS || looksLikeNonPhone(run.slice(p.start, p.end).replace(ALL_DASHES, '-'))
  )
  let streak = 0
  for (let i = 0; i <= pieces.length; i++) {
    if (i < pieces.length && pieces[i].digits === 4 && pieces[i].end - pieces[i].start === 4) {
      streak++
      continue
    }
    if (streak >= 4) for (let k = i - 4; k < i; k++) barrier[k] = true
    streak = 0
  }
  return barrier
}

function matchCandidate(text, start, end, scan, needPrefix) {
  const cand = text.slice(start, end)
  // Cheapest tests first: after a skipped piece most starts cannot be a prefixed number, and
  // digits already known to be invalid need no look at their surroundings.
  if (needPrefix && !scan.prefixStart.includes(firstDigit(cand))) return null
  const plus = cand.charCodeAt(0) === 43 /* + */
  const digits = cand.replace(NON_DIGITS, '')
  const key = plus ? '+' + digits : digits
  if (scan.cache.get(key) === null) return null
  if (!boundaryBeforeOk(text, start, scan.lastEnd)) return null

  let ext
  let stop = end
  EXT.lastIndex = end
  const e = EXT.exec(text)
  if (e && !isWordAt(text, EXT.lastIndex)) {
    ext = e[1] || e[2] || e[3]
    stop = EXT.lastIndex
  } else if (!boundaryAfterOk(text, end)) {
    return null
  }

  if (looksLikeNonPhone(cand.replace(ALL_DASHES, '-'))) return null

  const parsed = parseCached(scan, key, digits, plus)
  if (!parsed) return null
  if (!plus) {
    const prefixed = digits.length > parsed.nationalNumberLength
    // One unbroken block with no prefix is an ID far more often than a phone number.
    if (!prefixed && (needPrefix || /^\d+$/.test(cand))) return null
    if (!prefixed && prefixRequired(parsed)) return null
  }
  const result = { start, end: stop, number: parsed.number }
  if (ext) result.extension = ext
  return result
}

function looksLikeNonPhone(flat) {
  let d = DATE_DMY.exec(flat)
  if (d && (isDayMonth(+d[1], +d[3]) || isDayMonth(+d[5], +d[6]))) return true
  d = DATE_YMD.exec(flat)
  if (d && isDayMonth(+d[4], +d[3])) return true
  if (YEAR_RANGE.test(flat) || IP_V4.test(flat) || DECIMAL.test(flat) || THOUSANDS.test(flat)) return true
  return ISBN_13.test(flat.replace(/-/g, ''))
}

function isDayMonth(a, b) {
  // Either order: 12/05 and 05/12 are both dates somewhere.
  return a >= 1 && b >= 1 && ((a <= 31 && b <= 12) || (a <= 12 && b <= 31))
}

function boundaryBeforeOk(text, start, lastEnd) {
  if (start === 0) return true
  const cp = codePointBefore(text, start)
  const ch = String.fromCodePoint(cp)
  if (WORD_CHAR.test(ch) || BAD_BEFORE.has(ch)) {
    return text.charCodeAt(start) === 43 /* + */ && LETTER.test(ch) &&
      WORD_BEFORE_PLUS.test(text.slice(Math.max(0, start - CONTEXT_CHARS), start))
  }
  if (start >= 2) {
    const prev = text[start - 2]
    // ...unless the digit before ends the number just found: "…45-67,8 800 555-55-22" is a list.
    if (JOIN_BEFORE.has(ch) && isDigit(prev) && start - 1 !== lastEnd) return false
    // "ID-84951234567", "SKU-…": a hyphen glued to a word joins the digits to it.
    if (HYPHENS_BEFORE.has(ch) && (isDigit(prev) || WORD_CHAR.test(prev))) return false
  }
  return true
}

function boundaryAfterOk(text, end) {
  if (end >= text.length) return true
  const ch = text[end]
  if (isWordAt(text, end) || BAD_AFTER.has(ch)) return false
  const next = text[end + 1]
  // "84951234567,5" is a figure; "84951234567:30" a time; "…/page" or "…/42" a path.
  if ((ch === '.' || ch === ':') && isDigit(next)) return false
  if (ch === ',' && isDigit(next) && !numberFollows(text, end + 1)) return false
  if ((ch === '/' || ch === '\\') && next !== undefined && WORD_CHAR.test(next)) return false
  return true
}

// A comma then a whole run of digits is a list of numbers, not a decimal comma.
function numberFollows(text, i) {
  RUN_AT.lastIndex = i
  const m = RUN_AT.exec(text)
  return m !== null && countDigits(m[0]) >= MIN_DIGITS
}

function isWordAt(text, i) {
  if (i >= text.length) return false
  return WORD_CHAR.test(String.fromCodePoint(text.codePointAt(i)))
}

function codePointBefore(text, i) {
  const c = text.charCodeAt(i - 1)
  if (c >= 0xdc00 && c <= 0xdfff && i >= 2) {
    const h = text.charCodeAt(i - 2)
    if (h >= 0xd800 && h <= 0xdbff) return text.codePointAt(i - 2)
  }
  return c
}

/** Whether a UTF-16 unit is a decimal digit of any script the detector reads (0-9, "٣", "３", …). */
export function isDecimalDigit(code) {
  if (code < 0x660) return code >= 48 && code <= 57
  return ND.test(String.fromCharCode(code))
}

function foldDigits(text) {
  FOLDABLE.lastIndex = 0
  if (!FOLDABLE.test(text)) return text
  return text.replace(FOLDABLE, (ch) => {
    if (ch.length !== 1) return ch
    if (FOLD_PUNCT[ch] !== undefined) return FOLD_PUNCT[ch]
    return String(digitValue(ch.charCodeAt(0)))
  })
}

// Unicode encodes each script's decimal digits as one run of ten, 0 to 9 (a stability policy),
// so a digit's value is its distance from the start of its run of digits, modulo ten.
function digitValue(code) {
  let k = 0
  while (k < 60 && ND.test(String.fromCharCode(code - k - 1))) k++
  return k % 10
}

function firstDigit(s) {
  for (let i = 0; i < s.length; i++) if (isDigit(s[i])) return s[i]
  return 'none'
}

function isDigit(ch) {
  return ch !== undefined && ch >= '0' && ch <= '9'
}

function countDigits(s) {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) n++
  }
  return n
}

function parseCached(scan, key, digits, plus) {
  let hit = scan.cache.get(key)
  if (hit === undefined) {
    hit = parse(digits, plus ? undefined : scan.country, plus)
    scan.cache.set(key, hit)
  }
  return hit
}

function parse(digits, country, plus) {
  if (!plus && !country) return null
  const pn = plus
    ? parsePhoneNumber('+' + digits)
    : parsePhoneNumber(digits, { defaultCountry: country })
  if (!pn || !pn.isValid()) return null
  // libphonenumber strips a country code and then a trunk prefix ("7 8 495 …" → +7 495 …). With
  // "+" that is a common slip; without it, a leading "7 " is more likely a house number.
  if (!plus) {
    const written = digits.slice(0, digits.length - pn.nationalNumber.length)
    if (written.length > 1 && written === pn.countryCallingCode + nationalPrefix(country)) return null
  }
  return {
    number: pn.number,
    country: pn.country || country,
    nationalNumber: pn.nationalNumber,
    nationalNumberLength: pn.nationalNumber.length,
    prefixRequired: undefined,
  }
}

function prefixRequired(parsed) {
  if (parsed.prefixRequired === undefined) {
    parsed.prefixRequired = nationalPrefixRequired(parsed.country, parsed.nationalNumber)
  }
  return parsed.prefixRequired
}

// libphonenumber's VALID leniency also demands the trunk prefix where the region always writes it
// (Java PhoneNumberMatcher.isNationalPrefixPresentIfRequired); libphonenumber-js skips that check
// ("Skipped for simplicity" in its Leniency.js). Without it, in Germany "20240512" is a valid
// number. Regions where the prefix is optional in national format (RU, US) are unaffected.
function nationalPrefixRequired(country, nationalNumber) {
  metadata.selectNumberingPlan(country)
  const plan = metadata.numberingPlan
  for (const format of plan.formats()) {
    const leading = format.leadingDigitsPatterns()
    if (leading.length > 0 && !regex('^(?:' + leading[leading.length - 1] + ')').test(nationalNumber)) {
      continue
    }
    if (!regex('^(?:' + format.pattern() + ')$').test(nationalNumber)) continue
    return format.nationalPrefixIsMandatoryWhenFormattingInNationalFormat()
  }
  return false
}

// The digits a prefixed national-format number can start with: first digits of the trunk
// prefix, of each alternative of the international call prefix pattern, and of the country code.
// Only a fast pre-check; the parse decides.
const prefixStartCache = new Map()
function prefixStart(country) {
  if (!country) return ''
  let digits = prefixStartCache.get(country)
  if (digits === undefined) {
    metadata.selectNumberingPlan(country)
    const plan = metadata.numberingPlan
    digits = ''
    for (const prefix of [plan.nationalPrefix(), plan.callingCode(), ...topLevelAlternatives(plan.IDDPrefix())]) {
      const first = prefix ? prefix.charAt(0) : ''
      if (first >= '0' && first <= '9' && !digits.includes(first)) digits += first
      else if (first && !(first >= '0' && first <= '9')) digits = '0123456789' // a pattern we do not read
    }
    prefixStartCache.set(country, digits)
  }
  return digits
}

function topLevelAlternatives(pattern) {
  if (!pattern) return []
  const out = []
  let depth = 0
  let from = 0
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\') i++
    else if (c === '(' || c === '[') depth++
    else if (c === ')' || c === ']') depth--
    else if (c === '|' && depth === 0) {
      out.push(pattern.slice(from, i))
      from = i + 1
    }
  }
  out.push(pattern.slice(from))
  return out
}

function nationalPrefix(country) {
  metadata.selectNumberingPlan(country)
  return metadata.numberingPlan.nationalPrefix() || ''
}

function regex(source) {
  let r = formatRegexCache.get(source)
  if (!r) {
    r = new RegExp(source)
    formatRegexCache.set(source, r)
  }
  return r
}
