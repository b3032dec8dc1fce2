// The content script: finds numbers on the page (scanner.js), takes over clicks on them and on
// tel:, callto: and sip: links, and says on the page how the call went (overlay.js).
//
// It runs inside every web page, so it trusts nothing there: a click counts only if the user
// made it (isTrusted), and what goes to the service worker is the text under that click and
// nothing else; the app decides whether that text is something it dials (common/dialstring.py).

import { ext, t } from './api.js'
import { errorText } from './errors.js'
import { Overlay } from './overlay.js'
import { Scanner } from './scanner.js'
import { loadSettings, onSettingsChanged, siteEnabled } from './settings.js'

const LINK_SCHEME = /^\s*(?:tel|callto|sips?):/i
// A click that ends a drag selected text; it is not a call.
const DRAG_PX = 4

const host = location.hostname
let settings = null
let scanner = null
let warmed = false
const overlay = new Overlay(document)
overlay.onBoxClick = (entry, e) => callNumber(entry, pointOf(e))

// --- turning on and off --------------------------------------------------------------------------
function enabled() {
  return settings !== null && siteEnabled(settings, host)
}

function apply(next) {
  const regionChanged = settings !== null && next.region !== settings.region
  settings = next
  if (!enabled()) {
    scanner?.stop()
    overlay.hideBox()
    return
  }
  if (scanner && regionChanged) scanner.stop()
  if (!scanner || !scanner.running) {
    scanner = new Scanner(document, { region: settings.region, onStats })
    scanner.start()
  }
}

async function onStats(stats) {
  if (scanner.count > 0 || document.querySelector('a[href^="tel:" i], a[href^="callto:" i], a[href^="sip:" i]')) warm()
  const { debugStats } = await ext.storage.local.get('debugStats')
  if (debugStats) ext.runtime.sendMessage({ type: 'stats', stats: { ...stats, found: scanner.count } }).catch(() => {})
}

// Start the native host while the user reads the page, not when they click.
function warm() {
  if (warmed) return
  warmed = true
  ext.runtime.sendMessage({ type: 'warm' }).catch(() => {})
}

// --- clicks ----------------------------------------------------------------------------------------
let downAt = null

addEventListener('pointerdown', (e) => {
  downAt = { x: e.clientX, y: e.clientY }
}, { capture: true, passive: true })

// Capture on the window, as early as a listener gets it: the page's own handlers never see a click
// that becomes a call.
addEventListener('click', (e) => {
  if (!e.isTrusted || e.button !== 0 || !enabled() || overlay.owns(e.target)) return
  const link = linkOf(e)
  if (link) {
    stop(e)
    placeCall(link.getAttribute('href').trim(), pointOf(e))
    return
  }
  if (dragged(e) || !scanner) return
  const entry = overlay.payloadAt(e.clientX, e.clientY) ?? scanner.numberAt(e.clientX, e.clientY)
  if (entry) {
    stop(e)
    callNumber(entry, pointOf(e))
  }
}, { capture: true })

function linkOf(e) {
  for (const node of e.composedPath()) {
    if (node.nodeType !== 1) continue
    if (node.localName === 'a' || node.localName === 'area') {
      const href = node.getAttribute('href')
      return href !== null && LINK_SCHEME.test(href) ? node : null
    }
  }
  return null
}

function dragged(e) {
  if (!downAt) return false
  const moved = Math.abs(e.clientX - downAt.x) > DRAG_PX || Math.abs(e.clientY - downAt.y) > DRAG_PX
  return moved && !getSelection()?.isCollapsed
}

function stop(e) {
  e.preventDefault()
  e.stopImmediatePropagation()
}

function pointOf(e) {
  return { x: e.clientX, y: e.clientY }
}

function callNumber(entry, point) {
  overlay.hideBox()
  // What the page shows there now, detected again: the page cannot swap what a click dials.
  const found = scanner?.currentNumber(entry)
  if (!found) return
  // The number as the detector read it (E.164: what the hover box promised, whatever digits or
  // punctuation the page wrote it in) and its extension as RFC 3966's "ext", which the app
  // dials as tones once the call is answered. The notes show the text as the page wrote it.
  const target = found.extension === undefined ? `tel:${found.number}` : `tel:${found.number};ext=${found.extension}`
  placeCall(target, point, found.text, found.extension)
}

function placeCall(target, point, shown = target, extension = undefined) {
  const go = () => dial(target, point, shown, extension)
  if (!settings.confirm) {
    go()
    return
  }
  overlay.note(point, t('confirmCall', shown), {
    kind: 'confirm',
    closeLabel: t('close'),
    buttons: [
      { label: t('confirmYes'), primary: true, onClick: go },
      { label: t('confirmNo'), onClick: () => overlay.hideNote() },
    ],
  })
}

async function dial(target, point, shown, extension) {
  overlay.note(point, t('noteCalling', shown), { kind: 'progress', closeLabel: t('close') })
  let reply
  try {
    reply = await ext.runtime.sendMessage({ type: 'call', target })
  } catch {
    // The extension was updated or disabled under this page.
    reply = { ok: false, error: { code: 'extension_gone', message: '' } }
  }
  if (reply?.ok) {
    const number = reply.result?.call?.number || shown
    overlay.note(point, t('noteCallStarted', withExtension(number, extension)), { kind: 'ok', closeLabel: t('close') })
  } else {
    overlay.note(point, errorText(reply?.error), { kind: 'error', closeLabel: t('close') })
  }
}

function withExtension(number, extension) {
  return extension === undefined ? number : t('numberWithExtension', number, extension)
}

// --- hover -------------------------------------------------------------------------------------------
let hoverQueued = null

addEventListener('mousemove', (e) => {
  if (!scanner || scanner.count === 0 || overlay.owns(e.target)) return
  const first = hoverQueued === null
  hoverQueued = { x: e.clientX, y: e.clientY }
  if (first) requestAnimationFrame(hover)
}, { capture: true, passive: true })

addEventListener('scroll', () => overlay.hideBox(), { capture: true, passive: true })

function hover() {
  const p = hoverQueued
  hoverQueued = null
  if (!enabled() || !scanner) return
  const entry = scanner.numberAt(p.x, p.y)
  if (!entry) {
    overlay.hideBox()
    return
  }
  const rects = scanner.rectsOf(entry)
  if (rects.length) overlay.showBox(rects, t('hoverTitle', withExtension(entry.number, entry.extension)), entry)
}

// --- the popup asks about this page ---------------------------------------------------------------
ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (sender.id !== ext.runtime.id || message?.type !== 'site') return false
  sendResponse({ host, enabled: enabled(), found: scanner?.running ? scanner.count : 0 })
  return false
})

// --- start -------------------------------------------------------------------------------------------
loadSettings().then(apply)
onSettingsChanged(apply)
