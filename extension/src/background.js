// The service worker: the only part of the extension that talks to the native host. It may be
// evicted at any time; nothing here survives that or needs to (the next message starts it
// again, and the next request opens a new port).
//
// Handlers are grouped by who may call them:
// - content scripts, i.e. code running inside any web page: `call` with the text the user
//   clicked, and nothing else that reaches the app;
// - our own pages (the popup): any request the control channel opens to the browser.

import bridge from '../../common/browser_bridge.json' with { type: 'json' }
import { ext, fromContentScript, fromExtensionPage } from './api.js'
import { NativeChannel } from './native.js'

const MAX_TARGET_CHARS = 256 // the schema's $defs/target

const native = new NativeChannel({ connect: () => ext.runtime.connectNative(bridge.host_name) })
const popups = new Set()

// --- content scripts ------------------------------------------------------------------------
const pageHandlers = {
  async call(message) {
    const target = message.target
    if (typeof target !== 'string' || target.trim() === '' || target.length > MAX_TARGET_CHARS) {
      return { id: null, ok: false, error: { code: 'invalid_number', message: '' } }
    }
    // Only the target crosses over: the request is built here, never taken from the page.
    return native.request('call', { target })
  },
  async warm() {
    native.warm()
    return { ok: true }
  },
  async stats(message, sender) {
    debug.stats.set(sender.tab?.id ?? -1, { ...message.stats, url: sender.url })
    return { ok: true }
  },
}

ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
  const handler = handlerFor(message, sender)
  if (!handler) return false
  handler(message, sender).then(sendResponse, (e) =>
    sendResponse({ id: null, ok: false, error: { code: 'internal', message: String(e?.message ?? e) } }))
  return true // the answer comes asynchronously
})

function handlerFor(message, sender) {
  if (message === null || typeof message !== 'object' || typeof message.type !== 'string') return null
  const table = fromExtensionPage(sender) ? extensionHandlers : fromContentScript(sender) ? pageHandlers : {}
  return Object.hasOwn(table, message.type) ? table[message.type] : null
}

// --- our own pages ----------------------------------------------------------------------------
async function popupRequest(message) {
  const { action, fields } = message
  if (typeof action !== 'string') return { id: null, ok: false, error: { code: 'invalid_message', message: '' } }
  // The host checks the action against the schema and what the browser may use.
  return native.request(action, fields && typeof fields === 'object' ? fields : {})
}

const extensionHandlers = { ...pageHandlers, request: popupRequest }

// The popup keeps a port open while it shows: it gets events and connection changes, and the
// native port stays open meanwhile.
ext.runtime.onConnect.addListener((port) => {
  if (port.name !== 'popup' || !fromExtensionPage(port.sender)) {
    port.disconnect()
    return
  }
  popups.add(port)
  native.hold()
  port.onMessage.addListener(async (message) => {
    if (message?.type !== 'request') return
    const reply = await popupRequest(message)
    try {
      port.postMessage({ type: 'reply', rid: message.rid, reply })
    } catch {
      // the popup closed meanwhile
    }
  })
  port.onDisconnect.addListener(() => {
    popups.delete(port)
    native.release()
  })
  port.postMessage({ type: 'state', connected: native.connected, problem: native.lastProblem })
})

function toPopups(message) {
  for (const port of popups) {
    try {
      port.postMessage(message)
    } catch {
      popups.delete(port)
    }
  }
}

native.onEvent((event) => toPopups({ type: 'event', event }))
native.onState((state) => {
  debug.timeline.push([state.connected ? 'native-connect' : 'native-disconnect', performance.timeOrigin + performance.now()])
  if (debug.timeline.length > 100) debug.timeline.splice(0, 50)
  toPopups({ type: 'state', ...state })
})

// For tests and benchmarks, from the worker's own scope (devtools, Playwright): nothing a web
// page can reach.
const debug = {
  native,
  stats: new Map(),
  // Wall-clock milliseconds of this worker's start and of its native ports opening and closing.
  startedAt: performance.timeOrigin + performance.now(),
  timeline: [],
  reset() {
    native.disconnect()
    this.stats.clear()
  },
}
globalThis.talker = debug
