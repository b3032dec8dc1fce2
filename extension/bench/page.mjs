// A deterministic test page for the scanner: mixed Russian/English prose with phone numbers
// spread evenly, and the dates, prices, IDs, addresses and figures that real pages are full of.
// Shared by bench/scan.mjs and the property tests in test/. `phones` lists where each placed
// number is, as written.

// mulberry32: tiny, fast and the same on every machine, so every run scans the same page.
function rng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function makePage({ size = 1_000_000, numbers = 2000, seed = 20240512 } = {}) {
  const rand = rng(seed)
  const pick = (xs) => xs[Math.floor(rand() * xs.length)]
  const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1))
  const pad = (n, w) => String(n).padStart(w, '0')
  const digits = (w) => Array.from({ length: w }, () => int(0, 9)).join('')

  const words = (
    'компания предлагает услуги доставки по всей России звоните нашим менеджерам в рабочее время ' +
    'the company offers delivery services across the country call our managers during business hours ' +
    'офис находится в центре города рядом с метро подробности на сайте или по телефону ' +
    'please contact our support team for details about your order and invoice status'
  ).split(' ')

  const areas = ['495', '499', '812', '343', '383', '800', '903', '905', '912', '916', '925', '977']
  const phone = () => {
    const a = pick(areas)
    const b = digits(3)
    const c = digits(2)
    const d = digits(2)
    switch (int(0, 9)) {
      case 0: return `+7 (${a}) ${b}-${c}-${d}`
      case 1: return `8 (${a}) ${b}-${c}-${d}`
      case 2: return `8 ${a} ${b} ${c} ${d}`
      case 3: return `+7${a}${b}${c}${d}`
      case 4: return `8${a}${b}${c}${d}`
      case 5: return `8-${a}-${b}-${c}-${d}`
      case 6: return `+7 ${a} ${b}${c}${d}`
      case 7: return `+44 20 ${int(7000, 8999)} ${pad(int(0, 9999), 4)}`
      case 8: return `+1 (${pick(['212', '213', '312', '415', '617', '646', '702', '718'])}) ${int(201, 989)}-${pad(int(0, 9999), 4)}`
      default: return `+7 (${a}) ${b}-${c}-${d} доб. ${int(10, 999)}`
    }
  }
  const noise = () => {
    switch (int(0, 11)) {
      case 0: return `${pad(int(1, 28), 2)}.${pad(int(1, 12), 2)}.${int(1990, 2030)}`
      case 1: return `${int(1990, 2030)}-${pad(int(1, 12), 2)}-${pad(int(1, 28), 2)}`
      case 2: return `${pad(int(0, 23), 2)}:${pad(int(0, 59), 2)}`
      case 3: return `${int(1, 999)} ${pad(int(0, 999), 3)} ₽`
      case 4: return `$${int(1, 999)},${pad(int(0, 999), 3)}.${pad(int(0, 99), 2)}`
      case 5: return `Заказ № ${digits(9)}`
      case 6: return `Order #${digits(11)}`
      case 7: return `${int(1, 254)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`
      case 8: return `${int(10, 80)}.${digits(6)}, ${int(10, 170)}.${digits(6)}`
      case 9: return `${int(1, 99)}%`
      case 10: return `${digits(4)} ${digits(4)} ${digits(4)} ${digits(4)}`
      default: return `${int(1, 500)}`
    }
  }

  // Spread the numbers evenly so the density is the same everywhere on the page.
  const gap = size / numbers
  const parts = []
  const phones = []
  let length = 0
  let nextPhone = gap / 2
  let placed = 0
  while (length < size) {
    let piece
    if (length >= nextPhone && placed < numbers) {
      piece = phone()
      phones.push({ start: length, end: length + piece.length, text: piece })
      placed++
      nextPhone += gap
    } else if (rand() < 0.12) {
      piece = noise()
    } else {
      piece = pick(words)
    }
    piece += rand() < 0.08 ? '.\n' : rand() < 0.1 ? ', ' : ' '
    parts.push(piece)
    length += piece.length
  }
  return { text: parts.join(''), placed, phones }
}
