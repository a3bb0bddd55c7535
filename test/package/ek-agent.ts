/**
 * The smallest honest tpm_ek agent for the Bun server example: the fixture swtpm tpm-a, its RSA EK
 * and the committed RSA AK under the RSA SRK, answering a challenge with TPM2_ActivateCredential.
 * (test/core/attestation/live-agent.ts loads every fixture key; this loads only what tpm_ek needs.)
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeCredentialFile } from '../../core/credential/credential-file.ts'
import { FIXTURE_DIR, startFixtureTpm } from '../support/swtpm.ts'
import { Tpm2Tools } from '../support/tpm2-tools.ts'

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'))

export interface EkAgent {
  /** the tpm_ek answer to a challenge: the activated secret */
  answer(challenge: Record<string, unknown>): Promise<{ CredActivation: string }>
  stop(): Promise<void>
}

export async function startEkAgent(): Promise<EkAgent> {
  const tpm = await startFixtureTpm('tpm-a')
  try {
    const tools = new Tpm2Tools(tpm)
    const srk = await tools.createSrk('rsa')
    const ak = await tools.load(
      srk,
      { pubPath: join(FIXTURE_DIR, 'tpm-a/ak-rsa.pub'), privPath: join(FIXTURE_DIR, 'tpm-a/ak-rsa.priv') },
      'ak-rsa',
    )
    const ek = await tools.createEk('rsa')
    return {
      async answer(challenge) {
        const cred = challenge.CredActivation as { Credential: string; Secret: string }
        const path = tools.path('challenge.credential')
        await writeFile(path, encodeCredentialFile({ idObject: b64(cred.Credential), encSecret: b64(cred.Secret) }))
        const secret = await tools.activateCredential(ak, ek, path)
        return { CredActivation: Buffer.from(secret).toString('base64') }
      },
      stop: () => tpm.stop(),
    }
  } catch (e) {
    await tpm.stop()
    throw e
  }
}
