// Two real-hardware vectors the runtime suites run everywhere, as base64 so every runtime (a
// browser page, a Worker) reads the same bytes: a GCE vTPM TPM2_Quote (nonce 9009, SHA-256 bank)
// and STMicro's EK chain (leaf, intermediates, anchor, the time it is checked at).
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')
const b64 = (p: string) => readFileSync(join(ROOT, p)).toString('base64')

export interface QuoteVector {
  ak: string
  attest: string
  signature: string
  nonce: string
  /** one per selected PCR, in selection order */
  pcrs: string[]
}

export interface EkChainVector {
  leaf: string
  intermediates: string[]
  anchor: string
  /** ms since the epoch */
  at: number
}

export function gceQuoteVector(): QuoteVector {
  const gce = 'test/vectors/real-tpm/google-go-tpm-tools/derived/gce-cos-85-nonce9009/'
  const pcrs = JSON.parse(readFileSync(join(ROOT, gce, 'expected.json'), 'utf8')).quotes.sha256.pcrs as Record<string, string>
  return {
    ak: b64(`${gce}ak_pub.tpmt_public.bin`),
    attest: b64(`${gce}quote_sha256.tpms_attest.bin`),
    signature: b64(`${gce}quote_sha256.tpmt_signature.bin`),
    nonce: Buffer.from('9009', 'hex').toString('base64'),
    pcrs: Object.keys(pcrs)
      .sort((a, b) => +a - +b)
      .map((k) => Buffer.from(pcrs[k]!, 'hex').toString('base64')),
  }
}

export function stmicroEkChainVector(): EkChainVector {
  const ekDir = 'test/vectors/real-tpm-ek/'
  const ek = JSON.parse(readFileSync(join(ROOT, ekDir, 'cases.json'), 'utf8'))
  const st = ek.cases.find((c: { id: string }) => c.id === 'ek-st_sha256_with_rsa_der.ff_padded.der')
  const pemToB64 = (p: string) => readFileSync(join(ROOT, ekDir, p), 'utf8').replace(/-----[^-]+-----|\s/g, '')
  return { leaf: b64(ekDir + st.leaf), intermediates: st.intermediates.map(pemToB64), anchor: pemToB64(st.anchor), at: Date.parse(ek.at) }
}
