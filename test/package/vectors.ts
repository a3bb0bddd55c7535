/**
 * The vectors of the tarball test's program: a real GCE vTPM quote, a real STMicro EK chain, and an
 * X.509-SVID and a JWT-SVID minted here by the test CA. Everything is base64 or PEM in one JSON file
 * so every runtime (and a browser page, and a Worker) reads the same bytes.
 */
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { bundleJson, makeJwtAuthority, mintJwtSvid, TestCa, toPemChain } from '../support/spiffe-ca.ts'

export const ROOT = resolve(import.meta.dirname, '../..')

export interface ProgramVectors {
  quote: { ak: string; attest: string; signature: string; nonce: string; pcrs: string[] }
  ekChain: { leaf: string; intermediates: string[]; anchor: string; at: number }
  x509Svid: { chainPem: string; bundleJson: string; otherBundleJson: string; trustDomain: string; id: string }
  jwtSvid: { token: string; bundleJson: string; trustDomain: string; audience: string; id: string }
}

const b64 = (p: string) => readFileSync(join(ROOT, p)).toString('base64')

export async function makeProgramVectors(): Promise<ProgramVectors> {
  const gce = 'test/vectors/real-tpm/google-go-tpm-tools/derived/gce-cos-85-nonce9009/'
  const pcrs = JSON.parse(readFileSync(join(ROOT, gce, 'expected.json'), 'utf8')).quotes.sha256.pcrs as Record<string, string>
  const ekDir = 'test/vectors/real-tpm-ek/'
  const ek = JSON.parse(readFileSync(join(ROOT, ekDir, 'cases.json'), 'utf8'))
  const st = ek.cases.find((c: { id: string }) => c.id === 'ek-st_sha256_with_rsa_der.ff_padded.der')
  const pemToB64 = (p: string) => readFileSync(join(ROOT, ekDir, p), 'utf8').replace(/-----[^-]+-----|\s/g, '')
  const root = TestCa.root('package.test', 'p256')
  const svid = root.childCa('package.test').issue('spiffe://package.test/workload')
  const authority = await makeJwtAuthority('ES256', 'k1')
  const token = await mintJwtSvid(authority, {
    claims: { sub: 'spiffe://package.test/api', aud: ['edge'], exp: Math.floor(Date.now() / 1000) + 3600 },
  })
  return {
    quote: {
      ak: b64(`${gce}ak_pub.tpmt_public.bin`),
      attest: b64(`${gce}quote_sha256.tpms_attest.bin`),
      signature: b64(`${gce}quote_sha256.tpmt_signature.bin`),
      nonce: Buffer.from('9009', 'hex').toString('base64'),
      pcrs: Object.keys(pcrs)
        .sort((a, b) => +a - +b)
        .map((k) => Buffer.from(pcrs[k]!, 'hex').toString('base64')),
    },
    ekChain: {
      leaf: b64(ekDir + st.leaf),
      intermediates: st.intermediates.map(pemToB64),
      anchor: pemToB64(st.anchor),
      at: Date.parse(ek.at),
    },
    x509Svid: {
      chainPem: toPemChain(svid.chain),
      bundleJson: bundleJson([], [root.cert.der]),
      // a bundle of the same trust domain under another root key: the SVID must not chain to it
      otherBundleJson: bundleJson([], [TestCa.root('package.test', 'p256', 5).cert.der]),
      trustDomain: 'package.test',
      id: 'spiffe://package.test/workload',
    },
    jwtSvid: { token, bundleJson: bundleJson([authority]), trustDomain: 'package.test', audience: 'edge', id: 'spiffe://package.test/api' },
  }
}
