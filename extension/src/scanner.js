// Finds phone numbers in a live page without changing it: no element is added, wrapped or
// restyled. Found numbers are kept as ranges over the page's own text nodes and shown with the
// CSS Custom Highlight API (::highlight(talker-number) in content.css), which draws without
// touching layout; a click is matched to a range by hit-testing (see numberAt).
//
// Why not wrap numbers in elements, as click-to-call extensions used to: a framework that owns
// the text node (React, Vue) later writes to it and the page shows stale or doubled text;
// wrapping also changes what page CSS (`span`, `:first-child`) and page scripts see.
//
// Scanning is incremental: the DOM is walked and searched in slices of a few milliseconds,
// in idle time (requestIdleCallback), so a large page never blocks its main thread for long.
// A MutationObserver queues what changes later (search results, infinite scroll, single-page
// apps) for the next slice.
//
// Text is read in "segments": the text nodes of one block, joined across inline elements, so
// that "<b>8 (495)</b> 123-45-67" is one number; any other element ends a segment (table cells
// and list items are separate, as they look).

import { findPhoneNumbers, isDecimalDigit } from './detect.js'

export const HIGHLIGHT_NAME = 'talker-number'

// Never searched: text that is code, that the user edits, or that is not text at all. Links are
// left to the page (a number inside <a href="/contacts"> belongs to that link); tel:, callto:
// and sip: links are handled by their click, not by detection.
const SKIP = new Set([
  'script', 'style', 'noscript', 'template', 'textarea', 'input', 'select', 'option', 'optgroup', 'button',
  'code', 'pre', 'kbd', 'samp', 'var', 'tt', 'listing', 'xmp', 'plaintext', 'a', 'head', 'title',
  'iframe', 'frame', 'object', 'embed', 'canvas', 'video', 'audio', 'svg', 'math', 'img', 'picture',
  'talker-overlay',
])
const EDITABLE_ROLES = new Set(['textbox', 'searchbox', 'combobox', 'spinbutton'])
// Elements that flow inside a line: their text continues the text around them.
const INLINE = new Set([
  'b', 'strong', 'i', 'em', 'span', 'small', 'big', 'u', 's', 'strike', 'sub', 'sup', 'mark', 'font',
  'nobr', 'wbr', 'abbr', 'acronym', 'cite', 'dfn', 'q', 'time', 'data', 'bdi', 'bdo', 'ins', 'del', 'label',
])
const MIN_DIGITS = 7 // the detector's own minimum: shorter segments cannot hold a number
const SLICE_MS = 10 // at most this much work per idle callback (a long task is 50 ms)
const BATCH_CHARS = 8_192 // detector input per step: several segments, or a piece of a huge one
const CHUNK_CHARS = BATCH_CHARS
// Between segments searched together: a line break (no number, extension or label runs across
// one) and a character that is neither space, letter nor digit, so that no label or unit of one
// segment is read as touching a number of the next.
const SEPARATOR = '\n\uFFFC\n'
const CLEANUP_EVERY_MS = 2000
const TEXT_NODE = 3
const ELEMENT_NODE = 1

export class Scanner {
  /**
   * @param {Document} document
   * @param {{region: string, onStats?: Function}} options
   */
  constructor(document, { region, onStats }) {
    this.document = document
    this.region = region
    this.onStats = onStats
    this._byNode = new Map() // Text → entries touching it
    this._entries = new Set()
    this._queue = new Map() // root → 'deep' | 'shallow'
    this._walker = null
    this._segment = null // a segment whose text is being searched chunk by chunk
    this._scheduled = false
    this._observer = null
    this._highlight = null
    this._cleanupDue = false
    this._cleanupTimer = null
    this._lastCleanup = -Infinity
    this.stats = newStats()
    this.running = false
  }

  get count() {
    return this._entries.size
  }

  start() {
    if (this.running) return
    this.running = true
    this.stats = newStats()
    if (typeof Highlight === 'function' && globalThis.CSS?.highlights) {
      this._highlight = new Highlight()
      CSS.highlights.set(HIGHLIGHT_NAME, this._highlight)
    }
    const root = this.document.body ?? this.document.documentElement
    if (root) this._enqueue(root, 'deep')
    this._observer = new MutationObserver((records) => this._onMutations(records))
    this._observer.observe(this.document.documentElement, { childList: true, subtree: true, characterData: true })
  }

  stop() {
    if (!this.running) return
    this.running = false
    this._observer?.disconnect()
    this._observer = null
    clearTimeout(this._cleanupTimer)
    this._cleanupTimer = null
    if (this._highlight && CSS.highlights.get(HIGHLIGHT_NAME) === this._highlight) CSS.highlights.delete(HIGHLIGHT_NAME)
    this._highlight = null
    this._byNode.clear()
    this._entries.clear()
    this._queue.clear()
    this._walker = null
    this._segment = null
  }

  // --- what the page shows ---------------------------------------------------------------------
  /** The number under the point (client coordinates), or null. */
  numberAt(x, y) {
    if (this._entries.size === 0) return null
    const pos = caretFromPoint(this.document, x, y)
    if (!pos || pos.node.nodeType !== TEXT_NODE) return null
    const entries = this._byNode.get(pos.node)
    if (!entries) return null
    for (const entry of entries) {
      const rects = this.rectsOf(entry)
      if (rects.some((r) => x >= r.left && x <= r.right && y >= r.top && y <= r.bottom)) return entry
    }
    return null
  }

  /** The client rectangles of a number, one per line it spans (empty if it is gone). */
  rectsOf(entry) {
    const range = this.liveRange(entry)
    return range ? [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0) : []
  }

  liveRange(entry) {
    try {
      const range = this.document.createRange()
      range.setStart(entry.startNode, entry.startOffset)
      range.setEnd(entry.endNode, entry.endOffset)
      return range
    } catch {
      return null // the text changed under it; the next slice replaces the entry
    }
  }

  /** The number as the page shows it now, checked again: what a click dials.
   * {text: as written, number: E.164, extension?} or null. */
  currentNumber(entry) {
    const range = this.liveRange(entry)
    if (!range) return null
    const text = range.toString()
    const found = findPhoneNumbers(text, { region: this.region })
    if (found.length !== 1 || found[0].start !== 0 || found[0].end !== text.length) return null
    const { number, extension } = found[0]
    return extension === undefined ? { text, number } : { text, number, extension }
  }

  // --- the work queue ----------------------------------------------------------------------------
  _enqueue(root, mode) {
    if (this._queue.get(root) !== 'deep') this._queue.set(root, mode)
    this._schedule()
  }

  _schedule() {
    if (this._scheduled || !this.running) return
    this._scheduled = true
    const run = (deadline) => this._run(deadline)
    if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout: 250 })
    else setTimeout(() => run(null), 1)
  }

  _run(deadline) {
    this._scheduled = false
    if (!this.running) return
    const t0 = performance.now()
    const idle = deadline ? deadline.timeRemaining() : 0
    const end = t0 + Math.max(4, Math.min(idle, SLICE_MS))
    let more
    do {
      more = this._step()
    } while (more && performance.now() < end)
    if (!more && this._cleanupDue) this._cleanup(t0)
    const spent = performance.now() - t0
    const s = this.stats
    s.slices++
    s.busyMs += spent
    if (spent > s.longestSliceMs) {
      s.longestSliceMs = spent
      s.longestSlice = s.slices // 1 is the first: it also pays for compiling the detector
    }
    s.firstAt ??= t0
    if (more) {
      this._schedule()
    } else {
      s.doneAt = performance.now()
      s.found = this._entries.size
      this.onStats?.(s)
    }
  }

  // Removed nodes are looked for at most every CLEANUP_EVERY_MS: a page that keeps replacing
  // its content (a ticker, a virtual list) would otherwise pay for a full pass each time.
  _scheduleCleanup() {
    if (this._cleanupTimer !== null || !this.running) return
    const wait = Math.max(0, this._lastCleanup + CLEANUP_EVERY_MS - performance.now())
    this._cleanupTimer = setTimeout(() => {
      this._cleanupTimer = null
      this._cleanupDue = true
      this._schedule()
    }, wait)
  }

  // One bounded piece of work; false when there is nothing left.
  _step() {
    if (this._segment) {
      this._searchChunk()
      return true
    }
    // Segments are searched together, joined by SEPARATOR: one detector call per few thousand
    // characters instead of one per line, and numbers repeated on the page are parsed once.
    const batch = []
    let size = 0
    while (size < BATCH_CHARS) {
      if (!this._walker && !this._nextWalker()) break
      const nodes = this._walker.next(500)
      if (nodes === null) {
        this._walker = null
        continue
      }
      if (nodes === undefined) break // a long stretch without text: give the clock a look
      const segment = this._prepare(nodes)
      if (segment === null) continue
      if (segment.text.length > BATCH_CHARS) {
        this._segment = segment // searched on its own, in pieces
        break
      }
      batch.push(segment)
      size += segment.text.length + SEPARATOR.length
    }
    if (batch.length) this._searchBatch(batch)
    return Boolean(this._segment || this._walker || this._queue.size || batch.length)
  }

  _nextWalker() {
    while (this._queue.size) {
      const [root, mode] = this._queue.entries().next().value
      this._queue.delete(root)
      if (!root.isConnected || this._excluded(root)) continue
      this._walker = new SegmentWalker(root, mode === 'shallow')
      return true
    }
    return false
  }

  // The segment's text, after forgetting what was found in its nodes before; null if it
  // cannot hold a number.
  _prepare(nodes) {
    for (const node of nodes) this._forget(node)
    this.stats.segments++
    let text = ''
    const starts = []
    for (const node of nodes) {
      starts.push(text.length)
      text += node.data
    }
    if (countDigits(text) < MIN_DIGITS) return null
    return { nodes, starts, text, pos: 0 }
  }

  _searchBatch(batch) {
    const texts = batch.map((s) => s.text)
    this.stats.chars += texts.reduce((n, t) => n + t.length, 0)
    for (const [k, m] of findInSegments(texts, this.region)) this._add(batch[k], m.start, m.end, m)
  }

  _searchChunk() {
    const seg = this._segment
    const end = chunkEnd(seg.text, seg.pos)
    const piece = seg.text.slice(seg.pos, end)
    this.stats.chars += piece.length
    for (const m of findPhoneNumbers(piece, { region: this.region })) {
      this._add(seg, seg.pos + m.start, seg.pos + m.end, m)
    }
    seg.pos = end
    if (seg.pos >= seg.text.length) this._segment = null
  }

  _add(seg, start, end, match) {
    const a = locate(seg.starts, start, false)
    const b = locate(seg.starts, end, true)
    const entry = {
      startNode: seg.nodes[a],
      startOffset: start - seg.starts[a],
      endNode: seg.nodes[b],
      endOffset: end - seg.starts[b],
      nodes: seg.nodes.slice(a, b + 1),
      number: match.number,
      extension: match.extension,
      range: null,
    }
    if (this._highlight) {
      entry.range = new StaticRange({ startContainer: entry.startNode, startOffset: entry.startOffset,
        endContainer: entry.endNode, endOffset: entry.endOffset })
      this._highlight.add(entry.range)
    }
    this._entries.add(entry)
    for (const node of entry.nodes) {
      const list = this._byNode.get(node)
      if (list) list.push(entry)
      else this._byNode.set(node, [entry])
    }
  }

  _forget(node) {
    const entries = this._byNode.get(node)
    if (!entries) return
    for (const entry of [...entries]) this._remove(entry)
  }

  _remove(entry) {
    if (!this._entries.delete(entry)) return
    if (entry.range) this._highlight?.delete(entry.range)
    for (const node of entry.nodes) {
      const list = this._byNode.get(node)
      if (!list) continue
      const rest = list.filter((e) => e !== entry)
      if (rest.length) this._byNode.set(node, rest)
      else this._byNode.delete(node)
    }
  }

  // Numbers in nodes the page removed (a re-rendered list, an infinite scroll that recycles).
  _cleanup(now) {
    if (now - this._lastCleanup < CLEANUP_EVERY_MS) {
      this._scheduleCleanup()
      return
    }
    this._cleanupDue = false
    this._lastCleanup = now
    for (const [node, entries] of [...this._byNode]) {
      if (!node.isConnected) for (const entry of [...entries]) this._remove(entry)
    }
  }

  // --- changes -------------------------------------------------------------------------------------
  _onMutations(records) {
    for (const r of records) {
      if (r.type === 'characterData') {
        this._enqueueContext(r.target)
        continue
      }
      if (r.removedNodes.length) this._cleanupDue = true
      for (const node of r.addedNodes) {
        if (node.nodeType === TEXT_NODE) {
          this._enqueueContext(node)
        } else if (node.nodeType === ELEMENT_NODE) {
          if (INLINE.has(node.localName)) this._enqueueContext(node)
          else if (!SKIP.has(node.localName) && !this._excluded(node.parentNode)) this._enqueue(node, 'deep')
        }
      }
    }
    if (this._cleanupDue) this._schedule()
  }

  // A change inside a segment: search that segment's block again (not its child blocks).
  _enqueueContext(node) {
    let root = node.parentNode
    while (root && root.nodeType === ELEMENT_NODE && INLINE.has(root.localName)) root = root.parentNode
    if (!root || root.nodeType !== ELEMENT_NODE || this._excluded(root)) return
    this._enqueue(root, 'shallow')
  }

  // Inside something never searched (an editor, code, our own overlay)?
  _excluded(element) {
    if (this.document.designMode === 'on') return true
    for (let el = element; el && el.nodeType === ELEMENT_NODE; el = el.parentNode) {
      if (skipElement(el)) return true
    }
    return false
  }
}

// Walks a subtree and hands out segments (arrays of text nodes) one at a time; resumable, so a
// huge subtree is walked across several slices.
class SegmentWalker {
  constructor(root, shallow) {
    this.shallow = shallow
    this.stack = [{ el: root, child: root.firstChild }]
    this.current = []
  }

  /** The next segment; undefined if `budget` nodes were visited without finishing one; null at the end. */
  next(budget) {
    while (this.stack.length) {
      if (budget-- <= 0) return undefined
      const top = this.stack[this.stack.length - 1]
      const node = top.child
      if (node === null) {
        this.stack.pop()
        if (!INLINE.has(top.el.localName)) {
          const seg = this._flush()
          if (seg) return seg
        }
        continue
      }
      top.child = node.nextSibling
      if (node.nodeType === TEXT_NODE) {
        if (node.data.length) this.current.push(node)
        continue
      }
      if (node.nodeType !== ELEMENT_NODE) continue
      const name = node.localName
      if (INLINE.has(name) && !skipElement(node)) {
        this.stack.push({ el: node, child: node.firstChild })
        continue
      }
      // Any other element ends the segment around it.
      const seg = this._flush()
      if (!skipElement(node) && !this.shallow) this.stack.push({ el: node, child: node.firstChild })
      if (seg) return seg
    }
    return this._flush() ?? null
  }

  _flush() {
    if (this.current.length === 0) return null
    const seg = this.current
    this.current = []
    return seg
  }
}

function skipElement(el) {
  if (SKIP.has(el.localName)) return true
  // Attributes only: isContentEditable would make the browser compute styles.
  const editable = el.getAttribute('contenteditable')
  if (editable !== null && editable.toLowerCase() !== 'false') return true
  const role = el.getAttribute('role')
  return role !== null && EDITABLE_ROLES.has(role)
}

function caretFromPoint(doc, x, y) {
  if (typeof doc.caretPositionFromPoint === 'function') {
    const p = doc.caretPositionFromPoint(x, y)
    return p ? { node: p.offsetNode, offset: p.offset } : null
  }
  if (typeof doc.caretRangeFromPoint === 'function') {
    const r = doc.caretRangeFromPoint(x, y)
    return r ? { node: r.startContainer, offset: r.startOffset } : null
  }
  return null
}

// Index of the node holding offset `i`; an end offset belongs to the node it ends in.
function locate(starts, i, isEnd) {
  let k = starts.length - 1
  while (k > 0 && (isEnd ? starts[k] >= i : starts[k] > i)) k--
  return k
}

/**
 * Numbers in several texts with one detector call: [index of the text, match with offsets in
 * that text], as if each text were searched on its own.
 */
export function findInSegments(texts, region) {
  const joined = texts.length === 1 ? texts[0] : texts.join(SEPARATOR)
  const out = []
  let k = 0
  let base = 0
  for (const m of findPhoneNumbers(joined, { region })) {
    while (m.start >= base + texts[k].length) {
      base += texts[k].length + SEPARATOR.length
      k++
    }
    out.push([k, { ...m, start: m.start - base, end: m.end - base }])
  }
  return out
}

// Where the piece of text starting at `from` ends: at a line break if there is one in the
// second half of the window (the detector never joins lines), else at a space before a letter.
export function chunkEnd(text, from) {
  if (text.length - from <= CHUNK_CHARS) return text.length
  const limit = from + CHUNK_CHARS
  const nl = text.lastIndexOf('\n', limit)
  if (nl > from + CHUNK_CHARS / 2) return nl + 1
  for (let i = limit; i > from + CHUNK_CHARS / 2; i--) {
    if (text[i - 1] === ' ' && /\p{L}/u.test(text[i])) return i
  }
  return limit
}

function countDigits(s) {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    if (isDecimalDigit(s.charCodeAt(i)) && ++n >= MIN_DIGITS) return n
  }
  return n
}

function newStats() {
  return { slices: 0, busyMs: 0, longestSliceMs: 0, longestSlice: 0, segments: 0, chars: 0, found: 0, firstAt: null, doneAt: null }
}
