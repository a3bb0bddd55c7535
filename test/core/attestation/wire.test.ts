import { describe, expect, it } from 'vitest'
import {
  decodeBootAnswer,
  decodeTpmDevidAnswer,
  decodeTpmDevidEvidence,
  decodeTpmEkAnswer,
  decodeTpmEkEvidence,
  encodeAnswer,
  encodeQuoteAnswer,
  encodeTpmDevidEvidence,
  encodeTpmEkEvidence,
} from '../../../core/attestation/wire.ts'

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill)

describe('wire format: what the agent encodes is what the verifier decodes', () => {
  it('tpm_devid evidence and answer, with and without an EK certificate and a quote', () => {
    const e = {
      devIdCerts: [bytes(300, 1), bytes(280, 2)],
      devIdPub: bytes(280, 3),
      ekPub: bytes(310, 4),
      akPub: bytes(280, 5),
      certifiedDevId: bytes(120, 6),
      certificationSignature: bytes(262, 7),
    }
    expect(decodeTpmDevidEvidence(encodeTpmDevidEvidence(e))).toEqual({ ...e, ekIntermediates: [] })
    const withCert = { ...e, ekCert: bytes(900, 8) }
    expect(decodeTpmDevidEvidence(encodeTpmDevidEvidence(withCert))).toEqual({ ...withCert, ekIntermediates: [] })
    const quote = encodeQuoteAnswer({
      attest: bytes(140, 9),
      signature: bytes(262, 10),
      pcrValues: [bytes(32, 11)],
      eventLog: bytes(5000, 12),
    })
    const answer = encodeAnswer({ devIdSignature: bytes(256, 13), credActivation: bytes(32, 14), quote })
    expect(decodeTpmDevidAnswer(answer)).toEqual({ devIdSignature: bytes(256, 13), credActivation: bytes(32, 14) })
    expect(decodeBootAnswer(answer.Quote, 'q')).toEqual({
      attest: bytes(140, 9),
      signature: bytes(262, 10),
      pcrValues: [bytes(32, 11)],
      eventLog: bytes(5000, 12),
    })
    expect(encodeAnswer({ credActivation: bytes(32, 1) })).toEqual({ CredActivation: Buffer.from(bytes(32, 1)).toString('base64') })
  })
  it('tpm_ek evidence and answer', () => {
    const e = { ekPub: bytes(310, 4), akPub: bytes(280, 5) }
    expect(decodeTpmEkEvidence(encodeTpmEkEvidence(e))).toEqual({ ...e, ekIntermediates: [] })
    expect(decodeTpmEkAnswer(encodeAnswer({ credActivation: bytes(32, 2) }))).toEqual({ credActivation: bytes(32, 2) })
  })
})
