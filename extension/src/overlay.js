// What the extension draws on a page: the box under the pointer over a number, and the small
// note that says a call started (or why not), with Call/Cancel when confirmation is on.
//
// All of it lives in one closed shadow root on an element appended to <html>, fixed and of no
// size: it never moves the page's layout, page CSS cannot reach inside, and page scripts cannot
// read what it says (an error can name the PBX's address).

const STYLE = `
:host { all: initial !important; position: fixed !important; left: 0 !important; top: 0 !important;
  width: 0 !important; height: 0 !important; overflow: visible !important; z-index: 2147483647 !important;
  display: block !important; pointer-events: none !important; }
.box { position: fixed; pointer-events: auto; cursor: pointer; border-radius: 3px;
  background: rgba(26, 115, 232, 0.12); box-shadow: inset 0 -2px 0 rgba(26, 115, 232, 0.8); }
.note { position: fixed; pointer-events: auto; box-sizing: border-box; max-width: 340px; min-width: 180px;
  padding: 8px 12px; border-radius: 8px; background: #202124; color: #fff;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; box-shadow: 0 4px 16px rgba(0,0,0,.3);
  display: flex; gap: 8px; align-items: flex-start; }
.note.error { background: #5f1d1a; }
.note .text { flex: 1; overflow-wrap: anywhere; }
.note .buttons { display: flex; gap: 6px; margin-top: 6px; }
.note button { font: inherit; border: 0; border-radius: 4px; padding: 3px 10px; cursor: pointer; }
.note button.primary { background: #1a73e8; color: #fff; }
.note button.secondary { background: #3c4043; color: #fff; }
.note button.close { background: transparent; color: #bbb; padding: 0 2px; line-height: 1; font-size: 16px; }
`

const NOTE_GAP = 8

export class Overlay {
  constructor(document) {
    this.document = document
    this._host = null
    this._root = null
    this._boxes = []
    this._boxPayload = null
    this._note = null
    this._noteTimer = null
    this.onBoxClick = null
  }

  _ensure() {
    if (this._host?.isConnected) return this._root
    const host = this.document.createElement('talker-overlay')
    this._root = host.attachShadow({ mode: 'closed' })
    const style = this.document.createElement('style')
    style.textContent = STYLE
    this._root.append(style)
    this.document.documentElement.append(host)
    this._host = host
    return this._root
  }

  /** Is this event target our own element (as the page sees it)? */
  owns(target) {
    return target !== null && target === this._host
  }

  // --- the hover box ---------------------------------------------------------------------------
  showBox(rects, title, payload) {
    const root = this._ensure()
    this.hideBox()
    this._boxPayload = payload
    for (const r of rects) {
      const box = this.document.createElement('div')
      box.className = 'box'
      box.title = title
      Object.assign(box.style, { left: `${r.left - 1}px`, top: `${r.top}px`, width: `${r.width + 2}px`, height: `${r.height}px` })
      box.addEventListener('click', (e) => {
        e.stopPropagation()
        e.preventDefault()
        if (e.isTrusted) this.onBoxClick?.(payload, e)
      })
      box.addEventListener('mouseleave', (e) => {
        if (!this._boxes.includes(e.relatedTarget)) this.hideBox()
      })
      root.append(box)
      this._boxes.push(box)
    }
  }

  /** What the box under a point stands for, if one is shown there. A click that starts on
   * the page and ends on a box that appeared meanwhile targets neither: the content script
   * asks here. */
  payloadAt(x, y) {
    for (const box of this._boxes) {
      const r = box.getBoundingClientRect()
      if (x >= r.left && x <= r.right && y >= r.top && y <= r.bottom) return this._boxPayload
    }
    return null
  }

  hideBox() {
    for (const box of this._boxes) box.remove()
    this._boxes = []
    this._boxPayload = null
  }

  get boxShown() {
    return this._boxes.length > 0
  }

  // --- the note ------------------------------------------------------------------------------------
  /**
   * Show a note near a point (client coordinates). kind: 'progress' | 'ok' | 'error' | 'confirm'.
   * buttons: [{label, primary, onClick}]. Returns a function that removes this very note.
   */
  note(point, text, { kind = 'ok', buttons = [], closeLabel = '×', timeoutMs } = {}) {
    const root = this._ensure()
    this.hideNote()
    const note = this.document.createElement('div')
    note.className = `note ${kind}`
    note.setAttribute('role', kind === 'error' ? 'alert' : 'status')
    const body = this.document.createElement('div')
    body.className = 'text'
    body.textContent = text
    if (buttons.length) {
      const row = this.document.createElement('div')
      row.className = 'buttons'
      for (const b of buttons) {
        const button = this.document.createElement('button')
        button.type = 'button'
        button.className = b.primary ? 'primary' : 'secondary'
        button.textContent = b.label
        button.addEventListener('click', (e) => {
          e.stopPropagation()
          if (e.isTrusted) b.onClick()
        })
        row.append(button)
      }
      body.append(row)
    }
    const close = this.document.createElement('button')
    close.type = 'button'
    close.className = 'close'
    close.textContent = '×'
    close.setAttribute('aria-label', closeLabel)
    close.addEventListener('click', (e) => {
      e.stopPropagation()
      this.hideNote()
    })
    note.append(body, close)
    root.append(note)
    this._note = note
    this._place(note, point)
    const ms = timeoutMs ?? (kind === 'error' ? 8000 : kind === 'confirm' || kind === 'progress' ? 0 : 4000)
    if (ms) this._noteTimer = setTimeout(() => this._removeNote(note), ms)
    if (kind === 'confirm') note.querySelector('button.primary')?.focus({ preventScroll: true })
    return () => this._removeNote(note)
  }

  hideNote() {
    if (this._note) this._removeNote(this._note)
  }

  _removeNote(note) {
    if (this._note !== note) return
    clearTimeout(this._noteTimer)
    this._noteTimer = null
    note.remove()
    this._note = null
  }

  _place(note, point) {
    const view = this.document.documentElement
    const vw = view.clientWidth || 800
    const vh = view.clientHeight || 600
    const rect = note.getBoundingClientRect()
    let left = Math.min(point.x, vw - rect.width - NOTE_GAP)
    let top = point.y + 18
    if (top + rect.height > vh - NOTE_GAP) top = Math.max(NOTE_GAP, point.y - rect.height - 12)
    left = Math.max(NOTE_GAP, left)
    note.style.left = `${left}px`
    note.style.top = `${top}px`
  }
}
