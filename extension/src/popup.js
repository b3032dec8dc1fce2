// The popup: the app's state, the current calls, a dial field, the receive scheme and outgoing
// number (the PBX decides who may change them; the app passes the change on), and this page's
// detection settings. It talks to the app only through the service worker, over a port that
// also brings the app's events while the popup is open.

import bridge from '../../common/browser_bridge.json' with { type: 'json' }
import schema from '../../common/control.schema.json' with { type: 'json' }
import { ext, t } from './api.js'
import { errorText } from './errors.js'
import { REGIONS, loadSettings, onSettingsChanged, saveSetting, setSiteEnabled } from './settings.js'

const RECEIVE_MODES = schema.$defs.request.oneOf.find((b) => b.properties.action.const === 'set_receive_mode')
  .properties.mode.enum
const RETRY_MS = 2000
const $ = (id) => document.getElementById(id)

let port = null
let nextRid = 1
const waiting = new Map()
let calls = new Map()
let pbx = null
let retryTimer = null

// --- the service worker ------------------------------------------------------------------------
function connect() {
  port = ext.runtime.connect({ name: 'popup' })
  port.onMessage.addListener(onPortMessage)
  port.onDisconnect.addListener(() => {
    // The worker was stopped (it may be, at any time): open a new port and start over.
    for (const resolve of waiting.values()) resolve({ ok: false, error: { code: 'host_exited', message: '' } })
    waiting.clear()
    port = null
    setTimeout(start, 100)
  })
}

function request(action, fields = {}) {
  if (!port) connect()
  const rid = nextRid++
  return new Promise((resolve) => {
    waiting.set(rid, resolve)
    port.postMessage({ type: 'request', rid, action, fields })
  })
}

function onPortMessage(message) {
  if (message.type === 'reply') {
    const resolve = waiting.get(message.rid)
    waiting.delete(message.rid)
    resolve?.(message.reply)
  } else if (message.type === 'event') {
    onEvent(message.event)
  } else if (message.type === 'state' && !message.connected && message.problem) {
    // The host went away (the app quit): say so, and look again shortly.
    showProblem(message.problem)
  }
}

// --- the app's state -----------------------------------------------------------------------------
async function start() {
  clearTimeout(retryTimer)
  if (!port) connect()
  const reply = await request('subscribe')
  if (!reply.ok) {
    showProblem(reply.error)
    return
  }
  showApp(reply.result)
  refreshMissed()
  const state = await request('pbx_state')
  renderPbx(state.ok ? state.result : { available: false, stale: false, reason: errorText(state.error) })
}

function showProblem(error) {
  const code = error?.code
  $('app').hidden = true
  $('problem').hidden = false
  setPill('problem', t('stateProblem'))
  const missing = code === 'host_missing'
  const notRunning = code === 'app_not_running' || code === 'host_exited'
  $('problem-title').textContent = missing ? t('problemNotInstalled') : notRunning ? t('problemNotRunning') : errorText(error)
  $('problem-help').textContent = missing ? t('problemNotInstalledHelp') : notRunning ? t('problemNotRunningHelp') : ''
  const command = $('problem-command')
  command.hidden = !missing && !notRunning
  command.textContent = missing ? `python -m native_host.install --browser ${browserId()}` : 'talker'
  clearTimeout(retryTimer)
  // Keep looking: the popup connects by itself once the app runs.
  if (!missing) retryTimer = setTimeout(start, RETRY_MS)
}

// The browser this popup runs in, as native_host.install names it. Firefox says so through
// its own API; a Chromium-family browser by its brand (every one of them also lists
// "Chromium", so that one comes last and is the answer when no other brand is known).
function browserId() {
  if (typeof ext.runtime.getBrowserInfo === 'function') return 'firefox'
  const brands = new Set((navigator.userAgentData?.brands ?? []).map((b) => b.brand))
  const family = Object.entries(bridge.browsers).filter(([, b]) => b.family === 'chromium' && b.brand)
  const found = family.find(([id, b]) => id !== 'chromium' && brands.has(b.brand))
  return found ? found[0] : 'chromium'
}

function showApp(status) {
  $('problem').hidden = true
  $('app').hidden = false
  renderRegistration(status.registration)
  calls = new Map((status.calls ?? []).map((c) => [c.call_id, c]))
  renderCalls()
}

function onEvent(event) {
  if (event.event === 'registration') {
    renderRegistration(event.registration)
  } else if (event.event === 'call') {
    if (event.call.state === 'ended') calls.delete(event.call.call_id)
    else calls.set(event.call.call_id, event.call)
    renderCalls()
    // A call that ends may be a missed one; a call out may be a call back, which settles them.
    if (event.call.state === 'ended' || event.call.state === 'calling') refreshMissed()
  } else if (event.event === 'pbx_state') {
    renderPbx(event.pbx_state)
    refreshMissed() // a call that reached nobody comes with the PBX's news
  }
}

function setPill(state, text) {
  const pill = $('connection-state')
  pill.dataset.state = state
  pill.textContent = text
}

function renderRegistration(reg) {
  const texts = {
    registered: t('regRegistered', reg.account ?? ''),
    registering: t('regRegistering', reg.account ?? ''),
    failed: t('regFailed', reg.reason ?? ''),
    offline: reg.account ? t('regOffline') : t('regNoAccount'),
  }
  // No account is not a network problem: the app's tray says "Not logged in" too.
  const noAccount = reg.state === 'offline' && !reg.account
  setPill(reg.state, noAccount ? t('stateNotLoggedIn') : t(`state_${reg.state}`))
  $('registration-text').textContent = texts[reg.state] ?? reg.state
}

function renderCalls() {
  const list = $('calls')
  list.replaceChildren()
  for (const call of calls.values()) {
    const li = document.createElement('li')
    li.append(span('who', whoCalls(call)), span('state', t(`call_${call.state}`)))
    if (call.state === 'incoming') {
      li.append(button(t('answer'), () => act('answer', call.call_id)), button(t('decline'), () => act('decline', call.call_id)))
    } else {
      li.append(button(t('hangUp'), () => act('hangup', call.call_id)))
    }
    list.append(li)
  }
  $('calls-section').hidden = calls.size === 0
}

// --- missed calls ----------------------------------------------------------------------------------
// The app keeps the missed calls not seen yet; calling one back (here, in the tray or anywhere)
// or "Mark as seen" settles them, and every list shows that.
async function refreshMissed() {
  const reply = await request('missed_calls')
  renderMissed(reply.ok ? reply.result.calls : [])
}

function renderMissed(missed) {
  const list = $('missed')
  list.replaceChildren(...missed.map((call) => {
    const li = document.createElement('li')
    const when = callTime(call.at) + (call.outcome === 'unreached' ? ` · ${t('missedUnreached')}` : '')
    li.append(span('who', whoCalls(call)), span('when', when))
    if (call.number) li.append(button(t('callBack'), () => callBack(call.number)))
    return li
  }))
  $('missed-section').hidden = missed.length === 0
}

// The time alone for a call today, the date too for an older one, in the browser's language.
function callTime(at) {
  const when = new Date(at)
  if (Number.isNaN(when.getTime())) return ''
  const today = when.toDateString() === new Date().toDateString()
  const options = today ? { hour: '2-digit', minute: '2-digit' }
    : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }
  return new Intl.DateTimeFormat(ext.i18n.getUILanguage(), options).format(when)
}

async function callBack(number) {
  result('dial-result', t('noteCalling', number), false)
  const reply = await request('call', { target: number })
  if (reply.ok) result('dial-result', t('noteCallStarted', reply.result?.call?.number ?? number), false, 'ok')
  else result('dial-result', errorText(reply.error), true)
  refreshMissed()
}

$('mark-seen').addEventListener('click', async () => {
  const reply = await request('mark_missed_seen')
  if (reply.ok) renderMissed(reply.result.calls)
  else result('dial-result', errorText(reply.error), true)
})

function span(className, text) {
  const s = document.createElement('span')
  if (className) s.className = className
  s.textContent = text
  return s
}

// Who a call is with, as the lists show it.
function whoCalls(call) {
  return call.name ? `${call.name} (${call.number})` : call.number
}

function button(label, onClick) {
  const b = document.createElement('button')
  b.type = 'button'
  b.textContent = label
  b.addEventListener('click', onClick)
  return b
}

async function act(action, callId) {
  const reply = await request(action, { call_id: callId })
  if (!reply.ok) result('dial-result', errorText(reply.error), true)
}

// --- dialing ---------------------------------------------------------------------------------------
// While a name (or the start of a number) is typed, the app offers the colleagues and contacts it
// may mean (`find_people`); the one picked is dialed by its number, even where two share a name.
let chosen = null // { name, number } of the suggestion picked, while the field still shows its name
let asking = null // the query in flight; the newest text is asked for when it answers

$('dial-input').addEventListener('input', () => {
  const text = $('dial-input').value.trim()
  if (chosen && text !== chosen.name) chosen = null
  const digits = (text.match(/\d/g) ?? []).length
  if (!/\p{L}/u.test(text) && digits < 2) {
    showSuggestions([])
    return
  }
  if (asking === null) askSuggestions(text)
  else asking = text
})

async function askSuggestions(query) {
  asking = query
  const reply = await request('find_people', { query: query.slice(0, 256), limit: 8 })
  const latest = asking
  asking = null
  if (latest !== query) {
    askSuggestions(latest)
    return
  }
  if ($('dial-input').value.trim() === query) showSuggestions(reply.ok ? reply.result.people : [])
}

function showSuggestions(people) {
  const list = $('dial-suggestions')
  list.replaceChildren(...people.map((person) => {
    const li = document.createElement('li')
    li.setAttribute('role', 'option')
    li.append(person.name, span('number', ` (${person.number})`))
    li.addEventListener('click', () => {
      chosen = { name: person.name, number: person.number }
      $('dial-input').value = person.name
      showSuggestions([])
      $('dial-input').focus()
    })
    return li
  }))
  list.hidden = people.length === 0
}

$('dial-form').addEventListener('submit', async (e) => {
  e.preventDefault()
  let target = $('dial-input').value.trim()
  if (!target) return
  if (chosen && target === chosen.name) target = chosen.number
  showSuggestions([])
  $('dial-button').disabled = true
  result('dial-result', t('noteCalling', target), false)
  const reply = await request('call', { target })
  $('dial-button').disabled = false
  if (reply.ok) result('dial-result', t('noteCallStarted', reply.result?.call?.number ?? target), false, 'ok')
  else result('dial-result', errorText(reply.error), true)
})

function result(id, text, isError, kind) {
  const el = $(id)
  el.textContent = text
  el.className = `result ${isError ? 'error' : kind ?? ''}`
}

// --- the PBX part ----------------------------------------------------------------------------------
function renderPbx(state) {
  pbx = state
  const controls = $('pbx-controls')
  const note = $('pbx-note')
  note.className = 'note'
  if (!state.available) {
    controls.hidden = true
    note.textContent = t('pbxUnavailable', state.reason || t('pbxNotLoggedIn'))
    return
  }
  controls.hidden = false
  const receive = state.receive ?? null
  const editable = Boolean(receive?.editable) && !state.stale
  const notes = []
  if (state.employee) notes.push(`${state.employee.name} · ${state.employee.extension}`)
  if (state.stale) notes.push(t('pbxStale', state.reason ?? ''))
  else if (receive && !receive.editable) notes.push(t('pbxAdminsOnly'))
  note.textContent = notes.join('\n')

  // Do not disturb: every employee's own, so not bound to `editable` (administrators only).
  const until = receive?.do_not_disturb_until ?? null
  $('dnd').hidden = !receive
  $('dnd-state').textContent = until ? t('dndUntil', callTime(until)) : t('dndTitle')
  $('dnd-minutes').hidden = $('dnd-on').hidden = Boolean(until)
  $('dnd-off').hidden = !until
  for (const id of ['dnd-minutes', 'dnd-on', 'dnd-off']) $(id).disabled = Boolean(state.stale)

  for (const input of document.querySelectorAll('input[name="mode"]')) {
    input.checked = receive?.mode === input.value
    input.disabled = !editable || !RECEIVE_MODES.includes(input.value)
  }
  const devices = $('devices')
  devices.replaceChildren()
  for (const d of [...(receive?.devices ?? [])].sort((a, b) => (a.position ?? 0) - (b.position ?? 0))) {
    const li = document.createElement('li')
    const label = document.createElement('label')
    const box = document.createElement('input')
    box.type = 'checkbox'
    box.checked = d.active
    box.disabled = !editable
    box.dataset.deviceId = d.id
    box.addEventListener('change', () => change('set_device_active', { device_id: d.id, active: box.checked }))
    label.append(box, span('', d.label))
    if (d.address && d.address !== d.label) label.append(span('address', d.address))
    li.append(label)
    devices.append(li)
  }
  $('devices-fieldset').hidden = !(receive?.devices?.length)
  $('modes').hidden = !receive

  const outgoing = state.outgoing ?? null
  const select = $('outgoing')
  select.replaceChildren(new Option(t('outgoingDefault'), ''))
  for (const n of outgoing?.numbers ?? []) select.append(new Option(n.label ? `${n.number} — ${n.label}` : n.number, String(n.id)))
  select.value = outgoing?.selected_id == null ? '' : String(outgoing.selected_id)
  select.disabled = state.stale || !outgoing
  $('outgoing-row').hidden = !outgoing
  const buy = $('buy-number')
  buy.hidden = !outgoing?.buy_url || !/^https?:\/\//.test(outgoing.buy_url)
  if (!buy.hidden) buy.href = outgoing.buy_url
}

document.querySelectorAll('input[name="mode"]').forEach((input) =>
  input.addEventListener('change', () => change('set_receive_mode', { mode: input.value })))
$('dnd-on').addEventListener('click', () => change('set_do_not_disturb', { minutes: Number($('dnd-minutes').value) }))
$('dnd-off').addEventListener('click', () => change('set_do_not_disturb', { minutes: 0 }))
$('outgoing').addEventListener('change', (e) =>
  change('set_outgoing_number', { number_id: e.target.value === '' ? null : Number(e.target.value) }))

async function change(action, fields) {
  $('pbx-controls').inert = true
  result('pbx-result', t('pbxSaving'), false)
  const reply = await request(action, fields)
  if (!reply.ok) {
    result('pbx-result', errorText(reply.error), true)
  } else {
    result('pbx-result', t('pbxSaved'), false, 'ok')
  }
  // What the PBX has now, whether or not the change went through. The controls take clicks
  // again only once they show it: a click on the old ones would be drawn over and lost.
  const fresh = reply.ok && typeof reply.result?.available === 'boolean' ? reply : await request('pbx_state')
  if (fresh.ok) renderPbx(fresh.result)
  else if (pbx) renderPbx(pbx)
  $('pbx-controls').inert = false
}

// --- this page --------------------------------------------------------------------------------------
async function renderPage() {
  const settings = await loadSettings()
  $('detect-enabled').checked = settings.detect
  $('confirm').checked = settings.confirm
  const region = $('region')
  if (region.options.length === 0) {
    const names = new Intl.DisplayNames([ext.i18n.getUILanguage()], { type: 'region' })
    for (const code of REGIONS) region.append(new Option(`${names.of(code)} (${code})`, code))
  }
  region.value = settings.region
  const site = await siteInfo()
  $('site-row').hidden = !site
  if (site) {
    $('site-label').textContent = t('detectOnSite', site.host)
    $('site-enabled').checked = settings.detect && !settings.disabledSites.includes(site.host)
    $('site-enabled').disabled = !settings.detect
    $('site-enabled').dataset.host = site.host
  }
}

// The page's host name comes from its content script: the popup needs no "tabs" permission.
// popup.html?tab=ID names the tab (the popup opened as a tab, in tests).
async function siteInfo() {
  try {
    const wanted = Number(new URLSearchParams(location.search).get('tab'))
    const tabId = wanted || (await ext.tabs.query({ active: true, currentWindow: true }))[0]?.id
    if (!tabId) return null
    const info = await ext.tabs.sendMessage(tabId, { type: 'site' }, { frameId: 0 })
    return info?.host ? info : null
  } catch {
    return null // no content script there (a browser page, a file, the web store)
  }
}

$('detect-enabled').addEventListener('change', (e) => saveSetting('detect', e.target.checked))
$('confirm').addEventListener('change', (e) => saveSetting('confirm', e.target.checked))
$('region').addEventListener('change', (e) => saveSetting('region', e.target.value))
$('site-enabled').addEventListener('change', (e) => setSiteEnabled(e.target.dataset.host, e.target.checked))
onSettingsChanged(renderPage)

// --- start ------------------------------------------------------------------------------------------------
function translate() {
  document.documentElement.lang = ext.i18n.getUILanguage()
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n)
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder)
  for (const el of document.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel))
}

$('retry').addEventListener('click', start)
translate()
renderPage()
start()
