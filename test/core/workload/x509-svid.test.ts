import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ProtoWriter } from '../../../core/workload/wire.ts'
import {
  decodeX509BundlesRequest,
  decodeX509BundlesResponse,
  decodeX509Svid,
  decodeX509SvidRequest,
  decodeX509SvidResponse,
  encodeX509BundlesRequest,
  encodeX509BundlesResponse,
  encodeX509Svid,
  encodeX509SvidRequest,
  encodeX509SvidResponse,
} from '../../../core/workload/x509-svid.ts'
import { x509BundlesResponse, x509Svid, x509SvidResponse } from './arbitraries.ts'
import { RUNS, decodesOrFailsStably, fromHex, hex, mutations } from './fuzz.ts'

const te = new TextEncoder()

describe('X.509-SVID profile messages', () => {
  it('encodes an X509SVID field by field (tags 0a 12 1a 22 2a)', () => {
    const svid = {
      spiffeId: 'spiffe://td/w',
      x509Svid: fromHex('3003'),
      x509SvidKey: fromHex('3004'),
      bundle: fromHex('3005'),
      hint: 'in',
    }
    const bytes = encodeX509Svid(svid)
    expect(hex(bytes)).toBe(`0a0d${hex(te.encode('spiffe://td/w'))}120230031a02300422023005 2a02${hex(te.encode('in'))}`.replace(/ /g, ''))
    expect(decodeX509Svid(bytes)).toEqual(svid)
  })

  it('reads an X509SVID without a hint (older servers) as hint ""', () => {
    const bytes = new ProtoWriter().string(1, 'spiffe://td/w').bytes(2, fromHex('01')).finish()
    expect(decodeX509Svid(bytes)).toEqual({
      spiffeId: 'spiffe://td/w',
      x509Svid: fromHex('01'),
      x509SvidKey: new Uint8Array(),
      bundle: new Uint8Array(),
      hint: '',
    })
  })

  it('skips unknown fields and known fields of another wire type (proto3)', () => {
    const bytes = new ProtoWriter()
      .varint(1, 7) // spiffe_id as a varint: not a string, skipped
      .string(1, 'spiffe://td/a')
      .bytes(99, fromHex('ffff'))
      .double(100, 1.5)
      .string(5, 'h')
      .finish()
    const d = decodeX509Svid(bytes)
    expect(d.spiffeId).toBe('spiffe://td/a')
    expect(d.hint).toBe('h')
  })

  it('keeps the last value of a repeated singular field and the last value of a repeated map key', () => {
    const entry = (k: string, v: string) => new ProtoWriter().string(1, k).bytes(2, fromHex(v)).finish()
    const bytes = new ProtoWriter()
      .message(3, entry('spiffe://a', '01'))
      .message(3, entry('spiffe://b', '02'))
      .message(3, entry('spiffe://a', '03'))
      .message(3, new Uint8Array()) // an empty entry: key '' and value empty
      .finish()
    const d = decodeX509SvidResponse(bytes)
    expect([...d.federatedBundles.keys()]).toEqual(['spiffe://a', 'spiffe://b', ''])
    expect(d.federatedBundles.get('spiffe://a')).toEqual(fromHex('03'))
    expect(d.federatedBundles.get('')).toEqual(new Uint8Array())
  })

  it('returns copies, not views into the input', () => {
    const bytes = encodeX509SvidResponse({
      svids: [{ spiffeId: 's', x509Svid: fromHex('aa'), x509SvidKey: fromHex('bb'), bundle: fromHex('cc'), hint: '' }],
      crl: [],
      federatedBundles: new Map(),
    })
    const d = decodeX509SvidResponse(bytes)
    bytes.fill(0)
    expect(d.svids[0]!.x509SvidKey).toEqual(fromHex('bb'))
  })

  it('the empty requests encode to nothing and decode skipping unknown fields', () => {
    expect(encodeX509SvidRequest()).toHaveLength(0)
    expect(encodeX509BundlesRequest()).toHaveLength(0)
    expect(decodeX509SvidRequest(fromHex('0801'))).toEqual({})
    expect(decodeX509BundlesRequest(new Uint8Array())).toEqual({})
    expect(() => decodeX509SvidRequest(fromHex('0a05'))).toThrow(/X509SVIDRequest: field 1 at offset 1 declares 5 bytes/)
  })

  it('names the SVID of a response in errors', () => {
    const bad = new ProtoWriter()
      .message(1, encodeX509Svid({ spiffeId: 'a', x509Svid: fromHex(''), x509SvidKey: fromHex(''), bundle: fromHex(''), hint: '' }))
      .message(1, fromHex('0a02c328'))
      .finish()
    expect(() => decodeX509SvidResponse(bad)).toThrow(/^X509SVIDResponse.svids\[1\]: spiffe_id at offset 1 is not valid UTF-8/)
  })

  it('property: X509SVID, X509SVIDResponse, X509BundlesResponse round-trip', () => {
    fc.assert(
      fc.property(x509Svid, (m) => {
        expect(decodeX509Svid(encodeX509Svid(m))).toEqual(m)
      }),
      { numRuns: 1000 },
    )
    fc.assert(
      fc.property(x509SvidResponse, (m) => {
        expect(decodeX509SvidResponse(encodeX509SvidResponse(m))).toEqual(m)
      }),
      { numRuns: 1000 },
    )
    fc.assert(
      fc.property(x509BundlesResponse, (m) => {
        expect(decodeX509BundlesResponse(encodeX509BundlesResponse(m))).toEqual(m)
      }),
      { numRuns: 1000 },
    )
  })

  it('property: decoding any bytes gives a message or ERR_WORKLOAD_MALFORMED', () => {
    fc.assert(
      fc.property(mutations(x509SvidResponse.map(encodeX509SvidResponse)), (b) => decodesOrFailsStably(() => decodeX509SvidResponse(b))),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(mutations(x509Svid.map(encodeX509Svid)), (b) => decodesOrFailsStably(() => decodeX509Svid(b))),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(mutations(x509BundlesResponse.map(encodeX509BundlesResponse)), (b) =>
        decodesOrFailsStably(() => decodeX509BundlesResponse(b)),
      ),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(mutations(fc.constant(new Uint8Array())), (b) => decodesOrFailsStably(() => decodeX509SvidRequest(b))),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(mutations(fc.constant(new Uint8Array())), (b) => decodesOrFailsStably(() => decodeX509BundlesRequest(b))),
      { numRuns: RUNS },
    )
  })
})
