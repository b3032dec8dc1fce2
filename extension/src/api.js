// The one wrapper over the WebExtension APIs. Firefox has promise-based `browser.*`, Chromium
// promise-based `chrome.*` (Manifest V3); the calls the extension makes behave the same on both.

export const ext = globalThis.browser ?? globalThis.chrome

// A message of _locales/<lang>/messages.json in the browser's language; the key itself if it
// is missing, so that a forgotten translation shows up instead of an empty label.
export function t(key, ...substitutions) {
  return ext.i18n.getMessage(key, substitutions.map(String)) || key
}

export function uiLanguage() {
  return (ext.i18n.getUILanguage?.() || 'en').toLowerCase().startsWith('ru') ? 'ru' : 'en'
}

// Whether a message or port comes from one of our own pages (the popup) rather than from a
// content script running inside a web page.
export function fromExtensionPage(sender) {
  const base = ext.runtime.getURL('')
  return sender?.id === ext.runtime.id && typeof sender.url === 'string' && sender.url.startsWith(base)
}

export function fromContentScript(sender) {
  return sender?.id === ext.runtime.id && sender.tab !== undefined && !fromExtensionPage(sender)
}
