// The user's settings, in storage.local. Every part of the extension reads them here, so the
// defaults are written once.

import { ext } from './api.js'

export const DEFAULTS = Object.freeze({
  // Find numbers on pages at all.
  detect: true,
  // Host names where Talker leaves pages alone (no numbers, no links taken over).
  disabledSites: [],
  // Whose national formats count ("8 (495) …" is Russian, "(415) 555-…" American).
  region: 'RU',
  // Ask before a click calls.
  confirm: false,
})

// Regions offered in the popup; detect.js accepts any ISO 3166 code libphonenumber knows.
export const REGIONS = ['RU', 'BY', 'KZ', 'UA', 'UZ', 'AM', 'GE', 'AZ', 'KG', 'MD', 'TJ', 'US', 'CA', 'GB', 'DE',
  'FR', 'IT', 'ES', 'NL', 'PL', 'FI', 'EE', 'LV', 'LT', 'TR', 'IL', 'AE', 'CN', 'IN']

export async function loadSettings() {
  const stored = await ext.storage.local.get(Object.keys(DEFAULTS))
  return normalise({ ...DEFAULTS, ...stored })
}

export function normalise(s) {
  return {
    detect: s.detect !== false,
    disabledSites: Array.isArray(s.disabledSites) ? s.disabledSites.filter((h) => typeof h === 'string') : [],
    region: typeof s.region === 'string' && /^[A-Z]{2}$/.test(s.region) ? s.region : DEFAULTS.region,
    confirm: s.confirm === true,
  }
}

export function siteEnabled(settings, host) {
  return settings.detect && !settings.disabledSites.includes(host)
}

export async function setSiteEnabled(host, enabled) {
  const { disabledSites } = await loadSettings()
  const others = disabledSites.filter((h) => h !== host)
  await ext.storage.local.set({ disabledSites: enabled ? others : [...others, host] })
}

export async function saveSetting(key, value) {
  if (!(key in DEFAULTS)) throw new Error(`unknown setting ${key}`)
  await ext.storage.local.set({ [key]: value })
}

// Calls back with fresh settings whenever one changes (in any tab or the popup).
export function onSettingsChanged(callback) {
  ext.storage.onChanged.addListener((changes, area) => {
    if (area === 'local' && Object.keys(changes).some((k) => k in DEFAULTS)) loadSettings().then(callback)
  })
}
