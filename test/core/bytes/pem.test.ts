import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromBase64 } from '../../../core/bytes/encoding.ts'
import { parsePemBlocks, toPem } from '../../../core/bytes/pem.ts'
import { EncodingError } from '../../../core/errors.ts'
import { decodeBase64Canonical } from '../../../runtimes/node/base64.ts'

/** The regular-expression parser vouch used before the scanner: the reference for its behaviour. */
function reference(text: string, what = 'PEM'): { label: string; der: Uint8Array }[] {
  const blocks: { label: string; der: Uint8Array }[] = []
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g)) {
    const [, begin, body, end] = m
    if (begin !== end)
      throw new EncodingError('ERR_ENCODING_MALFORMED', `${what}: block ${blocks.length} begins "${begin}" but ends "${end}"`)
    blocks.push({ label: begin!, der: fromBase64(body!.replace(/\s+/g, ''), `${what}: block ${blocks.length} (${begin})`) })
  }
  return blocks
}

const outcome = (f: () => { label: string; der: Uint8Array }[]) => {
  try {
    return { blocks: f().map((b) => ({ label: b.label, der: Array.from(b.der) })) }
  } catch (e) {
    return { error: (e as Error).message }
  }
}

describe('PEM scanner', () => {
  it('agrees with the regular-expression reference on random texts made of PEM fragments, with and without the Node base64 path', () => {
    const fragment = fc.constantFrom(
      '-----BEGIN ',
      '-----END ',
      'CERTIFICATE',
      'PUBLIC KEY',
      'X',
      'x',
      '-----',
      '-',
      '\n',
      '\r\n',
      '\r',
      'AAAA',
      'AA==',
      'QUJD',
      ' ',
      '\t',
      'junk',
      '=',
    )
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 40 }), (parts) => {
        const text = parts.join('')
        const want = outcome(() => reference(text))
        expect(outcome(() => parsePemBlocks(text))).toEqual(want)
        expect(outcome(() => parsePemBlocks(text, 'PEM', decodeBase64Canonical))).toEqual(want)
      }),
      { numRuns: 20_000 },
    )
  })

  it('agrees with the reference on near-PEM blocks (labels, line ends and bodies bent at random); most reach a block (parsed or refused)', () => {
    const label = fc.constantFrom('CERTIFICATE', 'PUBLIC KEY', 'X', 'x', '', 'A1 B', 'CERT-X')
    const br = fc.constantFrom('\n', '\r\n', '\r', '', ' \n')
    const body = fc.array(fc.constantFrom('AAAA', 'QUJD', 'AA==', 'A', ' ', '\t', '\n', '\r\n', '-', '=', '*'), { maxLength: 8 })
    const block = fc
      .tuple(
        label,
        fc.constantFrom('-----', '----', '------'),
        br,
        body,
        label,
        fc.constantFrom('-----', '----'),
        fc.constantFrom('', '\n', 'junk\n'),
      )
      .map(([l1, d1, nl, b, l2, d2, tail]) => `-----BEGIN ${l1}${d1}${nl}${b.join('')}-----END ${l2}${d2}${tail}`)
    let parsed = 0
    fc.assert(
      fc.property(fc.array(block, { minLength: 1, maxLength: 4 }), (blocks) => {
        const text = blocks.join('')
        const want = outcome(() => reference(text))
        if (want.blocks === undefined || want.blocks.length > 0) parsed++
        expect(outcome(() => parsePemBlocks(text))).toEqual(want)
        expect(outcome(() => parsePemBlocks(text, 'PEM', decodeBase64Canonical))).toEqual(want)
      }),
      { numRuns: 20_000 },
    )
    expect(parsed).toBeGreaterThan(1000)
  })

  it('reads real blocks: CRLF line ends, whitespace inside a body, text around and between', () => {
    const one = toPem(
      'CERTIFICATE',
      Uint8Array.from({ length: 100 }, (_, i) => i),
    )
    const crlf = one.replace(/\n/g, '\r\n')
    const spaced = one.replace(/\n(?!-)/g, '\n \t')
    for (const text of [one, crlf, `prefix\n${spaced}between\n${one}suffix`]) {
      const want = reference(text)
      expect(parsePemBlocks(text)).toEqual(want)
      expect(parsePemBlocks(text, 'PEM', decodeBase64Canonical).map((b) => Array.from(b.der))).toEqual(want.map((b) => Array.from(b.der)))
    }
  })

  it('is linear: thousands of BEGIN lines without an END are ignored quickly', () => {
    const text = '-----BEGIN CERTIFICATE-----\nAAAA\n'.repeat(20_000)
    expect(parsePemBlocks(text)).toEqual([])
  })
})
