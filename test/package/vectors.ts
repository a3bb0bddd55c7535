/**
 * The vectors of the tarball test's program: a real GCE vTPM quote, a real STMicro EK chain, and an
 * X.509-SVID and a JWT-SVID minted here by the test CA. Everything is base64 or PEM in one JSON file
 * so every runtime (and a browser page, and a Worker) reads the same bytes.
 */
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { gceQuoteVector, stmicroEkChainVector } from '../support/real-tpm-vectors.ts'
import { bundleJson, makeJwtAuthority, mintJwtSvid, TestCa, toPemChain } from '../support/spiffe-ca.ts'

export const ROOT = resolve(import.meta.dirname, '../..')

export interface ProgramVectors {
  quote: { ak: string; attest: string; signature: string; nonce: string; pcrs: string[] }
  ekChain: { leaf: string; intermediates: string[]; anchor: string; at: number }
  x509Svid: { chainPem: string; bundleJson: string; otherBundleJson: string; trustDomain: string; id: string }
  jwtSvid: { token: string; bundleJson: string; trustDomain: string; audience: string; id: string }
}

const _b64 = (p: string) => readFileSync(join(ROOT, p)).toString('base64')

export async function makeProgramVectors(): Promise<ProgramVectors> {
  const root = TestCa.root('package.test', 'p256')
  const svid = root.childCa('package.test').issue('spiffe://package.test/workload')
  const authority = await makeJwtAuthority('ES256', 'k1')
  const token = await mintJwtSvid(authority, {
    claims: { sub: 'spiffe://package.test/api', aud: ['edge'], exp: Math.floor(Date.now() / 1000) + 3600 },
  })
  return {
    quote: gceQuoteVector(),
    ekChain: stmicroEkChainVector(),
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
