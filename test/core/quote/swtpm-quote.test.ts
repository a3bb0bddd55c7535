import { constants, createHash, createPublicKey, randomBytes, verify } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyQuote } from '../../../core/quote/verify.ts'
import { splitPcrValues } from '../../../core/quote/pcr-digest.ts'
import { parseTpmsAttest } from '../../../core/tpm2/attest.ts'
import { verifyCertify } from '../../../core/tpm2/certify.ts'
import { parsePublicArea } from '../../../core/tpm2/public.ts'
import { parseTpmtSignature } from '../../../core/tpm2/signature.ts'
import { startSwtpm, type Swtpm } from '../../support/swtpm.ts'
import { Tpm2Tools, type AkObject, type EkObject, type QuoteResult } from '../../support/tpm2-tools.ts'
import { readFile } from 'node:fs/promises'

/** tpm2_quote with the AK's own signing scheme (the helper's quote() always asks for RSASSA/ECDSA). */
async function quote(tools: Tpm2Tools, ak: AkObject, scheme: string, pcrs: string, nonce: Uint8Array): Promise<QuoteResult> {
  const msgPath = tools.path('quote.msg')
  const sigPath = tools.path('quote.sig')
  const pcrsPath = tools.path('quote.pcrs')
  try {
    await tools.exec('tpm2_quote', [
      '-c',
      ak.ctx,
      '-l',
      pcrs,
      '-q',
      Buffer.from(nonce).toString('hex'),
      '-g',
      'sha256',
      '--scheme',
      scheme,
      '-m',
      msgPath,
      '-s',
      sigPath,
      '-f',
      'tss',
      '-o',
      pcrsPath,
      '-F',
      'values',
    ])
  } finally {
    await tools.flush()
  }
  return {
    attest: new Uint8Array(await readFile(msgPath)),
    sig: new Uint8Array(await readFile(sigPath)),
    pcrValues: new Uint8Array(await readFile(pcrsPath)),
    msgPath,
    sigPath,
    pcrsPath,
  }
}

// vouch and tpm2_checkquote, side by side on quotes from a live swtpm: every quote the peer
// accepts, vouch accepts; one flipped byte in attest, signature, nonce or a PCR value, and both reject.
let tpm: Swtpm
let tools: Tpm2Tools
let ek: EkObject
beforeAll(async () => {
  tpm = await startSwtpm({ name: 'quote' })
  tools = new Tpm2Tools(tpm)
  ek = await tools.createEk('rsa')
  // make the PCRs non-trivial
  await tools.exec('tpm2_pcrextend', [`7:sha256=${'ab'.repeat(32)}`])
})
afterAll(async () => {
  await tpm?.stop()
})

const flip = (b: Uint8Array, i: number) => {
  const x = Uint8Array.from(b) // a copy, also for Buffers (whose slice() is a view)
  x[i]! ^= 0x01
  return x
}

describe.each([
  ['RSA-2048 RSASSA', 'rsa', 'rsassa'],
  ['RSA-2048 RSAPSS', 'rsa', 'rsapss'],
  ['ECC P-256 ECDSA', 'ecc', 'ecdsa'],
] as const)('quote by a %s AK', (_label, alg, scheme) => {
  let ak: AkObject
  const selection = 'sha256:0,1,2,7+sha1:7'
  beforeAll(async () => {
    ak = await tools.createAk(ek, alg, scheme)
  })

  function psspeer(attest: Uint8Array, sig: Uint8Array, nonce: Uint8Array, pcrs: Uint8Array): boolean {
    const raw = sig.subarray(6) // TPMT_SIGNATURE: sigAlg, hash, u16 size, then the signature
    const ok = verify('sha256', attest, { key: createPublicKey(ak.pem), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, raw)
    const extraLen = (attest[6 + 2 + ((attest[6]! << 8) | attest[7]!)]! << 8) | attest[6 + 2 + ((attest[6]! << 8) | attest[7]!) + 1]!
    const extraAt = 6 + 2 + ((attest[6]! << 8) | attest[7]!) + 2
    const extra = attest.subarray(extraAt, extraAt + extraLen)
    const digest = attest.subarray(attest.length - 32)
    return ok && Buffer.from(extra).equals(Buffer.from(nonce)) && createHash('sha256').update(pcrs).digest().equals(Buffer.from(digest))
  }

  async function both(attest: Uint8Array, sig: Uint8Array, nonce: Uint8Array, pcrs: Uint8Array): Promise<[boolean, boolean]> {
    const q = { msgPath: tools.path('q.msg'), sigPath: tools.path('q.sig'), pcrsPath: tools.path('q.pcrs') }
    await writeFile(q.msgPath, attest)
    await writeFile(q.sigPath, sig)
    await writeFile(q.pcrsPath, pcrs)
    // tpm2_checkquote 5.4 cannot verify RSAPSS quotes (it refuses genuine ones); for that AK the
    // peer is OpenSSL's PSS verify (salt = digest length, what libtpms signs with) plus the
    // nonce and PCR digest compared by hand.
    const peer = scheme === 'rsapss' ? psspeer(attest, sig, nonce, pcrs) : await tools.checkquote(ak.pubPath, q, nonce, selection)
    let ours = true
    try {
      const a = parseTpmsAttest(attest)
      if (a.type !== 0x8018) throw new Error('not a quote')
      await verifyQuote({
        ak: parsePublicArea(ak.pub),
        attest: a,
        signature: parseTpmtSignature(sig),
        nonce,
        pcrValues: splitPcrValues(a.attested.pcrSelect, pcrs),
      })
    } catch {
      ours = false
    }
    return [peer, ours]
  }

  it('agrees with its peer (tpm2_checkquote) on the genuine quote and on every tampered one', async () => {
    const nonce = randomBytes(20)
    const q = await quote(tools, ak, scheme, selection, nonce)
    expect(await both(q.attest, q.sig, nonce, q.pcrValues)).toEqual([true, true])
    expect(await both(flip(q.attest, q.attest.length - 40), q.sig, nonce, q.pcrValues)).toEqual([false, false])
    expect(await both(q.attest, flip(q.sig, q.sig.length - 5), nonce, q.pcrValues)).toEqual([false, false])
    expect(await both(q.attest, q.sig, flip(nonce, 0), q.pcrValues)).toEqual([false, false])
    expect(await both(q.attest, q.sig, nonce, flip(q.pcrValues, 40))).toEqual([false, false])
  })

  it('names the failure: nonce and PCR digest', async () => {
    const nonce = randomBytes(32)
    const q = await quote(tools, ak, scheme, selection, nonce)
    const attest = parseTpmsAttest(q.attest)
    if (attest.type !== 0x8018) throw new Error('not a quote')
    const input = {
      ak: parsePublicArea(ak.pub),
      attest,
      signature: parseTpmtSignature(q.sig),
      nonce,
      pcrValues: splitPcrValues(attest.attested.pcrSelect, q.pcrValues),
    }
    await expect(verifyQuote(input)).resolves.toMatchObject({ clockInfo: { safe: true } })
    await expect(verifyQuote({ ...input, nonce: flip(nonce, 3) })).rejects.toMatchObject({ code: 'ERR_QUOTE_NONCE_MISMATCH' })
    await expect(
      verifyQuote({ ...input, pcrValues: splitPcrValues(attest.attested.pcrSelect, flip(q.pcrValues, 1)) }),
    ).rejects.toMatchObject({ code: 'ERR_QUOTE_PCR_DIGEST_MISMATCH' })
  })
})

it('tpm2_checkquote 5.4 refuses even genuine RSAPSS quotes (why the PSS case uses OpenSSL as its peer)', async () => {
  const ak = await tools.createAk(ek, 'rsa', 'rsapss')
  const nonce = randomBytes(20)
  const q = await quote(tools, ak, 'rsapss', 'sha256:0', nonce)
  expect(await tools.checkquote(ak.pubPath, q, nonce, 'sha256:0')).toBe(false)
  const attest = parseTpmsAttest(q.attest)
  if (attest.type !== 0x8018) throw new Error('not a quote')
  await expect(
    verifyQuote({
      ak: parsePublicArea(ak.pub),
      attest,
      signature: parseTpmtSignature(q.sig),
      nonce,
      pcrValues: splitPcrValues(attest.attested.pcrSelect, q.pcrValues),
    }),
  ).resolves.toBeDefined()
})

describe('certify by an AK on a live swtpm', () => {
  it.each([['rsa'], ['ecc256']] as const)('%s key: certify verifies, and not for another key', async (keyAlg) => {
    const ak = await tools.createAk(ek, 'rsa')
    const srk = await tools.createSrk('rsa')
    const blobs = await tools.createKey(srk, { alg: keyAlg })
    const other = await tools.createKey(srk, { alg: keyAlg })
    const key = await tools.load(srk, blobs, 'devid')
    const c = await tools.certify(key, ak)
    const input = {
      signer: parsePublicArea(ak.pub),
      attest: parseTpmsAttest(c.attest),
      signature: parseTpmtSignature(c.sig),
      certified: parsePublicArea(blobs.pub),
    }
    const result = await verifyCertify(input)
    // tpm2-tools 5.4 always sends qualifyingData 00ff55aa
    expect(Buffer.from(result.extraData).toString('hex')).toBe('00ff55aa')
    await expect(verifyCertify({ ...input, qualifyingData: new Uint8Array([0, 0xff, 0x55, 0xaa]) })).resolves.toBeDefined()
    await expect(verifyCertify({ ...input, qualifyingData: new Uint8Array(4) })).rejects.toMatchObject({
      code: 'ERR_TPM2_QUALIFYING_DATA_MISMATCH',
    })
    await expect(verifyCertify({ ...input, certified: parsePublicArea(other.pub) })).rejects.toMatchObject({
      code: 'ERR_TPM2_NAME_MISMATCH',
    })
    // a certify is not accepted as a quote, nor signed by the certified key
    await expect(verifyCertify({ ...input, signer: parsePublicArea(blobs.pub) })).rejects.toMatchObject({
      code: expect.stringMatching(/ERR_TPM2_(SIGNATURE_INVALID|SCHEME_MISMATCH)/),
    })
  })
})
