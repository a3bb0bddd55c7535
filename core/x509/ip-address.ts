/**
 * IP addresses as a subjectAltName iPAddress carries them (RFC 5280 §4.2.1.6): the 4 octets of
 * an IPv4 address in dotted-decimal form, or the 16 octets of an IPv6 address in the text forms
 * of RFC 4291 §2.2 (hex groups, one `::`, an IPv4 tail). No zone IDs, no leading zeros in IPv4
 * parts (they read as octal elsewhere).
 */

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

/** The 4 octets of a dotted-decimal IPv4 address, or undefined. */
export function parseIpv4Address(text: string): Uint8Array | undefined {
  const parts = text.split('.')
  if (parts.length !== 4 || !parts.every((p) => IPV4_PART.test(p) && Number(p) < 256)) return undefined
  return Uint8Array.from(parts.map(Number))
}

function groups(text: string, allowIpv4Tail: boolean): number[] | undefined {
  if (text === '') return []
  const parts = text.split(':')
  const out: number[] = []
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!
    if (i === parts.length - 1 && allowIpv4Tail && p.includes('.')) {
      const v4 = parseIpv4Address(p)
      if (!v4) return undefined
      out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
    } else if (HEX_GROUP.test(p)) out.push(Number.parseInt(p, 16))
    else return undefined
  }
  return out
}

/** The 16 octets of an IPv6 address, or undefined. */
export function parseIpv6Address(text: string): Uint8Array | undefined {
  if (text.length > 45) return undefined
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  let words: number[]
  if (halves.length === 2) {
    const head = groups(halves[0]!, false)
    const tail = groups(halves[1]!, true)
    // `::` stands for at least one group of zeros
    if (!head || !tail || head.length + tail.length > 7) return undefined
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]
  } else {
    const all = groups(text, true)
    if (all?.length !== 8) return undefined
    words = all
  }
  const bytes = new Uint8Array(16)
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8
    bytes[2 * i + 1] = w & 0xff
  })
  return bytes
}

/** The octets of an IPv4 (4) or IPv6 (16) address, or undefined when `text` is neither. */
export function parseIpAddress(text: string): Uint8Array | undefined {
  return text.includes(':') ? parseIpv6Address(text) : parseIpv4Address(text)
}
