// The service worker's native channel (src/native.js) against a fake port: no browser needed.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { NativeChannel } from '../src/native.js'

class FakePort {
  constructor() {
    this.sent = []
    this.messageListeners = []
    this.disconnectListeners = []
    this.disconnected = false
    this.onMessage = { addListener: (f) => this.messageListeners.push(f) }
    this.onDisconnect = { addListener: (f) => this.disconnectListeners.push(f) }
  }
  postMessage(m) {
    if (this.disconnected) throw new Error('Attempting to use a disconnected port object')
    this.sent.push(m)
  }
  disconnect() {
    this.disconnected = true
  }
  reply(m) {
    for (const f of this.messageListeners) f(m)
  }
  die(message) {
    this.disconnected = true
    for (const f of this.disconnectListeners) f({ error: message === undefined ? undefined : { message } })
  }
}

// Timers under the test's control.
function clock() {
  const timers = new Map()
  let next = 1
  return {
    set: (f, ms) => { timers.set(next, { f, ms }); return next++ },
    clear: (id) => timers.delete(id),
    fire(ms) {
      for (const [id, t] of [...timers]) if (t.ms === ms) { timers.delete(id); t.f() }
    },
    pending: () => [...timers.values()].map((t) => t.ms),
  }
}

function channel(options = {}) {
  const ports = []
  const c = clock()
  const ch = new NativeChannel({
    connect: () => { const p = new FakePort(); ports.push(p); return p },
    setTimer: c.set, clearTimer: c.clear, idleMs: 1000, timeoutMs: 500, ...options,
  })
  return { ch, ports, clock: c }
}

test('a request goes out with an id and resolves with its reply', async () => {
  const { ch, ports } = channel()
  const pending = ch.request('call', { target: '102' })
  assert.deepEqual(ports[0].sent, [{ target: '102', id: '1', action: 'call' }])
  ports[0].reply({ id: '1', ok: true, result: { call: { call_id: 'c1' } } })
  assert.deepEqual(await pending, { id: '1', ok: true, result: { call: { call_id: 'c1' } } })
})

test('fields cannot overwrite the id or the action', async () => {
  const { ch, ports } = channel()
  ch.request('status', { id: 'x', action: 'quit' })
  assert.deepEqual(ports[0].sent[0], { id: '1', action: 'status' })
})

test('replies out of order find their requests; events go to listeners', async () => {
  const { ch, ports } = channel()
  const events = []
  ch.onEvent((e) => events.push(e))
  const a = ch.request('call', { target: '1' })
  const b = ch.request('status')
  ports[0].reply({ event: 'call', call: { call_id: 'c1' } })
  ports[0].reply({ id: '2', ok: true, result: { calls: [] } })
  ports[0].reply({ id: '1', ok: false, error: { code: 'not_registered', message: 'x' } })
  assert.equal((await b).ok, true)
  assert.equal((await a).error.code, 'not_registered')
  assert.deepEqual(events, [{ event: 'call', call: { call_id: 'c1' } }])
  assert.equal(ports.length, 1, 'one port for everything')
})

test('a missing host is told apart from one that exited', async () => {
  const { ch, ports } = channel()
  const first = ch.request('status')
  ports[0].die('Specified native messaging host not found.')
  assert.equal((await first).error.code, 'host_missing')
  const second = ch.request('status')
  assert.equal(ports.length, 2, 'the next request opens a new port')
  ports[1].die('Native host has exited.')
  assert.equal((await second).error.code, 'host_exited')
  assert.equal(ch.lastProblem.code, 'host_exited')
  const third = ch.request('status')
  ports[2].die('Access to the specified native messaging host is forbidden.')
  assert.equal((await third).error.code, 'host_missing')
})

test('no reply in time is a timeout, and a late reply is ignored', async () => {
  const { ch, ports, clock: c } = channel()
  const pending = ch.request('status')
  c.fire(500)
  assert.equal((await pending).error.code, 'timeout')
  ports[0].reply({ id: '1', ok: true, result: {} })
})

test('an idle port is closed, unless a popup holds it', () => {
  const { ch, ports, clock: c } = channel()
  ch.warm()
  assert.ok(ch.connected)
  ch.hold()
  c.fire(1000)
  assert.ok(ch.connected, 'held: stays open')
  ch.release()
  c.fire(1000)
  assert.equal(ch.connected, false)
  assert.ok(ports[0].disconnected)
})

test('state listeners hear connects and disconnects', () => {
  const { ch, ports } = channel()
  const states = []
  ch.onState((s) => states.push(s))
  ch.warm()
  ports[0].die('Native host has exited.')
  assert.deepEqual(states, [{ connected: true }, { connected: false, problem: { code: 'host_exited', message: 'Native host has exited.' } }])
})

test('garbage from the port is ignored', async () => {
  const { ch, ports } = channel()
  const pending = ch.request('status')
  for (const junk of [null, 42, 'x', [], { id: 7 }, { event: 5 }]) ports[0].reply(junk)
  ports[0].reply({ id: '1', ok: true, result: {} })
  assert.equal((await pending).ok, true)
})
