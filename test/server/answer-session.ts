/**
 * A tpm_devid session started through an app and the answer a live swtpm agent would send to it,
 * with a new P-256 SVID key and its key proof (docs/protocol.md "SVID key"), not sent: for the
 * suites that drive the answer route of a bootstrapped server in process.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { expect } from 'vitest'
import { makeSvidKeyProofMessage } from '../../core/attestation/svid-key.ts'
import type { LiveAgent } from '../core/attestation/live-agent.ts'

export type PostJson = (path: string, body: unknown) => Promise<{ status: number; body: Record<string, unknown> }>

export async function startAndAnswer(
  post: PostJson,
  agent: LiveAgent,
  evidence: Record<string, string>,
): Promise<{ sessionId: string; path: string; body: Record<string, unknown> }> {
  const start = await post('/v1/attest', { providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } })
  expect(start.status, JSON.stringify(start.body)).toBe(200)
  const sessionId = start.body.sessionId as string
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const spki = publicKey.export({ format: 'der', type: 'spki' })
  const binding = new Uint8Array(createHash('sha256').update(spki).digest())
  const challenge = (start.body.challenges as Record<string, Record<string, unknown>>).tpm_devid!
  const body = {
    answers: {
      tpm_devid: await agent.answer(challenge, { devIdPub: evidence.DevIDPub!, akPub: evidence.AKPub!, ekPub: evidence.EKPub!, binding }),
    },
    publicKey: spki.toString('base64'),
    keyProof: sign('sha256', makeSvidKeyProofMessage(sessionId, binding), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString(
      'base64',
    ),
  }
  return { sessionId, path: `/v1/attest/${sessionId}/answer`, body }
}
