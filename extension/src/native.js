// The extension's end of the native-messaging channel: one port to the host, requests matched
// to replies by id, events passed on. It owns no state worth keeping: the service worker can be
// evicted at any time, and the next request simply opens a new port (and so a new host).
//
// Replies keep the control channel's shape ({id, ok, result} or {id, ok: false, error: {code,
// message}}). Problems on this side get codes of their own:
//   host_missing  the browser found no host manifest for us, or it does not admit this extension
//   host_exited   the host went away before it answered
//   timeout       no answer in time

export const HOST_MISSING = 'host_missing'
export const HOST_EXITED = 'host_exited'
export const TIMEOUT = 'timeout'

// Chrome: "Specified native messaging host not found.", "Access to the specified native
// messaging host is forbidden."; Firefox: "No such native application …", "… is not allowed …".
const MISSING = /not found|forbidden|no such native application|not allowed/i

export class NativeChannel {
  /**
   * @param {{connect: () => object, idleMs?: number, timeoutMs?: number,
   *          setTimer?: Function, clearTimer?: Function}} options
   *   connect opens a port (runtime.connectNative); the timers are there for tests.
   */
  constructor({ connect, idleMs = 10 * 60_000, timeoutMs = 20_000, setTimer = (f, ms) => setTimeout(f, ms),
    clearTimer = (id) => clearTimeout(id) }) {
    this._connect = connect
    this._idleMs = idleMs
    this._timeoutMs = timeoutMs
    this._setTimer = setTimer
    this._clearTimer = clearTimer
    this._port = null
    this._next = 1
    this._pending = new Map()
    this._holders = 0
    this._idleTimer = null
    this._eventListeners = new Set()
    this._stateListeners = new Set()
    this.lastProblem = null
  }

  get connected() {
    return this._port !== null
  }

  onEvent(listener) {
    this._eventListeners.add(listener)
    return () => this._eventListeners.delete(listener)
  }

  // Called with {connected: boolean, problem?: {code, message}}.
  onState(listener) {
    this._stateListeners.add(listener)
    return () => this._stateListeners.delete(listener)
  }

  // Open the port now, so that the first click does not pay for the host's start.
  warm() {
    this._ensurePort()
    this._touch()
  }

  // While held (an open popup), the port stays open however idle it is.
  hold() {
    this._holders++
    this._touch()
  }

  release() {
    this._holders = Math.max(0, this._holders - 1)
    this._touch()
  }

  /** Send a request; resolves with the reply (never rejects). */
  request(action, fields = {}, { timeoutMs = this._timeoutMs } = {}) {
    const id = String(this._next++)
    return new Promise((resolve) => {
      let port
      try {
        port = this._ensurePort()
      } catch (e) {
        resolve(problemReply(id, HOST_MISSING, String(e?.message ?? e)))
        return
      }
      const timer = this._setTimer(() => this._settle(id, problemReply(id, TIMEOUT, 'no reply in time')), timeoutMs)
      this._pending.set(id, { resolve, timer })
      try {
        port.postMessage({ ...fields, id, action })
      } catch (e) {
        // The port died between the check and the send (the host exited).
        this._settle(id, problemReply(id, HOST_EXITED, String(e?.message ?? e)))
      }
      this._touch()
    })
  }

  disconnect() {
    if (this._port) {
      const port = this._port
      this._port = null
      try {
        port.disconnect()
      } catch {
        // already gone
      }
      this._failPending(HOST_EXITED, 'disconnected')
      this._emitState({ connected: false })
    }
  }

  _ensurePort() {
    if (this._port) return this._port
    const port = this._connect()
    this._port = port
    port.onMessage.addListener((message) => this._onMessage(message))
    port.onDisconnect.addListener((p) => this._onDisconnect(port, p))
    this.lastProblem = null
    this._emitState({ connected: true })
    return port
  }

  _onMessage(message) {
    if (message === null || typeof message !== 'object') return
    if (typeof message.event === 'string') {
      for (const listener of this._eventListeners) listener(message)
      return
    }
    if (typeof message.id === 'string') this._settle(message.id, message)
  }

  _onDisconnect(port, p) {
    if (port !== this._port) return
    // Chrome reports why in runtime.lastError (read it, or Chrome logs "Unchecked lastError");
    // Firefox in port.error.
    const lastError = globalThis.chrome?.runtime?.lastError
    const why = String(p?.error?.message ?? lastError?.message ?? 'the host exited')
    this._port = null
    const code = MISSING.test(why) ? HOST_MISSING : HOST_EXITED
    this.lastProblem = { code, message: why }
    this._failPending(code, why)
    this._emitState({ connected: false, problem: this.lastProblem })
  }

  _settle(id, reply) {
    const pending = this._pending.get(id)
    if (!pending) return
    this._pending.delete(id)
    this._clearTimer(pending.timer)
    pending.resolve(reply)
    this._touch()
  }

  _failPending(code, message) {
    for (const id of [...this._pending.keys()]) this._settle(id, problemReply(id, code, message))
  }

  // Close an idle port, so that a browser left open does not keep a host process forever.
  _touch() {
    if (this._idleTimer !== null) this._clearTimer(this._idleTimer)
    this._idleTimer = null
    if (this._port && this._holders === 0 && this._pending.size === 0) {
      this._idleTimer = this._setTimer(() => {
        this._idleTimer = null
        if (this._holders === 0 && this._pending.size === 0) this.disconnect()
      }, this._idleMs)
    }
  }

  _emitState(state) {
    for (const listener of this._stateListeners) listener(state)
  }
}

export function problemReply(id, code, message) {
  return { id, ok: false, error: { code, message } }
}
