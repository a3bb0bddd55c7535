/** GeneralName and GeneralNames (RFC 5280 §4.2.1.6). */
import { DerReader, TAG, contextTag, derFail, type DerElement } from '../der/reader.ts'
import { oidOf } from '../der/oid.ts'
import type { ToleranceOptions } from '../der/tolerance.ts'
import { parseName, type Name } from './name.ts'

export type GeneralName =
  /** [0] otherName: type-id and the raw [0] EXPLICIT value element */
  | { readonly type: 'otherName'; readonly typeId: string; readonly raw: Uint8Array }
  | { readonly type: 'rfc822Name'; readonly value: string }
  | { readonly type: 'dNSName'; readonly value: string }
  | { readonly type: 'x400Address'; readonly raw: Uint8Array }
  | { readonly type: 'directoryName'; readonly name: Name }
  | { readonly type: 'ediPartyName'; readonly raw: Uint8Array }
  | { readonly type: 'uri'; readonly value: string }
  /** 4 or 16 bytes in a SAN; 8 or 32 (address then mask) in name constraints */
  | { readonly type: 'iPAddress'; readonly bytes: Uint8Array }
  | { readonly type: 'registeredID'; readonly oid: string }

function ia5(el: DerElement, what: string): string {
  let s = ''
  for (const b of el.value) {
    if (b > 0x7f) derFail(`${what}: IA5String has a non-ASCII byte`, el.offset)
    s += String.fromCharCode(b)
  }
  return s
}

export function parseGeneralName(el: DerElement, what: string, options?: ToleranceOptions): GeneralName {
  switch (el.tag) {
    case contextTag(0, true): {
      const r = DerReader.of(el, `${what} otherName`)
      const id = r.expect(TAG.OID, 'type-id')
      const v = r.expect(contextTag(0, true), 'value')
      r.finish()
      return { type: 'otherName', typeId: oidOf(id), raw: v.tlv }
    }
    case contextTag(1, false):
      return { type: 'rfc822Name', value: ia5(el, `${what} rfc822Name`) }
    case contextTag(2, false):
      return { type: 'dNSName', value: ia5(el, `${what} dNSName`) }
    case contextTag(3, true):
      return { type: 'x400Address', raw: el.tlv }
    case contextTag(4, true): {
      const r = DerReader.of(el, `${what} directoryName`)
      const name = parseName(r.next('Name'), `${what} directoryName`, options)
      r.finish()
      return { type: 'directoryName', name }
    }
    case contextTag(5, true):
      return { type: 'ediPartyName', raw: el.tlv }
    case contextTag(6, false):
      return { type: 'uri', value: ia5(el, `${what} uniformResourceIdentifier`) }
    case contextTag(7, false):
      return { type: 'iPAddress', bytes: el.value }
    case contextTag(8, false):
      return { type: 'registeredID', oid: oidOf(el) }
    default:
      derFail(`${what}: tag 0x${el.tag.toString(16)} is not a GeneralName`, el.offset)
  }
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName */
export function parseGeneralNames(el: DerElement, what: string, options?: ToleranceOptions): GeneralName[] {
  const r = DerReader.sequence(el, what)
  const out: GeneralName[] = []
  while (!r.done) out.push(parseGeneralName(r.next('GeneralName'), what, options))
  if (out.length === 0) derFail(`${what}: empty GeneralNames`, el.offset)
  return out
}
