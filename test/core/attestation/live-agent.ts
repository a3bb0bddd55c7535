/**
 * A test agent over a live fixture swtpm (test/vectors/swtpm): loads the committed DevID and AK
 * blobs under SPIRE's SRK-High primaries, creates the EKs, and answers vouch challenges with
 * TPM2_ActivateCredential (tpm2-tools credential file via core/credential/credential-file.ts) and
 * TPM2_Sign by the DevID key.
 */
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeCredentialFile } from '../../../core/credential/credential-file.ts'
import { FIXTURE_DIR, startFixtureTpm, type Swtpm } from '../../support/swtpm.ts'
import { Tpm2Tools, type EkObject, type LoadedKey, type TpmObject } from '../../support/tpm2-tools.ts'

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'))
/** TPMT_PUBLIC (base64) of a committed key file */
export const tpmt = (tpm: string, key: string) => readFileSync(join(FIXTURE_DIR, tpm, `${key}.tpmt`)).toString('base64')
export const vector = (path: string) => new Uint8Array(readFileSync(join(FIXTURE_DIR, path)))
export const vectorB64 = (path: string) => readFileSync(join(FIXTURE_DIR, path)).toString('base64')
export const vectorText = (path: string) => readFileSync(join(FIXTURE_DIR, path), 'utf8')
export function evidenceSet(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, 'sets', `${name}.json`), 'utf8')) as Record<string, unknown>
}

export interface AnswerSpec {
  /** DevIDPub (base64 TPMT_PUBLIC) of the key to sign with; omitted for tpm_ek */
  devIdPub?: string
  akPub: string
  ekPub: string
  binding?: Uint8Array
  /** sign this instead of the challenge nonce (attacks) */
  signOverride?: Uint8Array
}

export class LiveAgent {
  private readonly keys = new Map<string, LoadedKey>()
  private readonly eks = new Map<string, EkObject>()
  private constructor(
    readonly tpm: Swtpm,
    readonly tools: Tpm2Tools,
  ) {}

  static async start(name: string): Promise<LiveAgent> {
    const tpm = await startFixtureTpm(name)
    const agent = new LiveAgent(tpm, new Tpm2Tools(tpm))
    try {
      await agent.init(name)
    } catch (e) {
      await tpm.stop()
      throw e
    }
    return agent
  }

  private async init(name: string): Promise<void> {
    const t = this.tools
    const srk = { rsa: await t.createSrk('rsa'), ecc: await t.createSrk('ecc') }
    const blobs: [string, 'rsa' | 'ecc'][] = [
      ['devid-rsa', 'rsa'],
      ['devid-p256', 'ecc'],
      ['ak-rsa', 'rsa'],
      ['ak-ecc', 'ecc'],
    ]
    if (name === 'tpm-a') blobs.push(['devid-rsa-sha384', 'rsa'])
    for (const [key, parent] of blobs) {
      const loaded = await t.load(
        srk[parent],
        { pubPath: join(FIXTURE_DIR, name, `${key}.pub`), privPath: join(FIXTURE_DIR, name, `${key}.priv`) },
        key,
      )
      this.keys.set(tpmt(name, key), loaded)
    }
    for (const alg of ['rsa', 'ecc'] as const) {
      const ek = await t.createEk(alg)
      // the EK as TPMT_PUBLIC: tpm2-tools writes TPM2B_PUBLIC (u16 size prefix)
      this.eks.set(Buffer.from(ek.pub.subarray(2)).toString('base64'), ek)
    }
  }

  ekPubOf(alg: 'rsa' | 'ecc'): string {
    for (const [k, v] of this.eks) if (v.alg === alg) return k
    throw new Error(`no ${alg} EK`)
  }

  private key(pub: string, what: string): TpmObject {
    const k = this.keys.get(pub) ?? this.eks.get(pub)
    if (!k) throw new Error(`live agent: no loaded ${what} for that public`)
    return k
  }

  /** TPM2_ActivateCredential(AK, EK) of a challenge's CredActivation; returns the activated secret. */
  async activate(cred: { Credential: string; Secret: string }, akPub: string, ekPub: string): Promise<Uint8Array> {
    const path = this.tools.path('challenge.credential')
    await writeFile(path, encodeCredentialFile({ idObject: b64(cred.Credential), encSecret: b64(cred.Secret) }))
    return this.tools.activateCredential(this.key(akPub, 'AK'), this.key(ekPub, 'EK'), path)
  }

  async sign(devIdPub: string, data: Uint8Array): Promise<Uint8Array> {
    return this.tools.sign(this.key(devIdPub, 'DevID'), data, { format: 'plain' })
  }

  /** The honest answer to a tpm_devid or tpm_ek challenge. */
  async answer(challenge: Record<string, unknown>, spec: AnswerSpec): Promise<Record<string, string>> {
    const cred = challenge.CredActivation as { Credential: string; Secret: string }
    const secret = await this.activate(cred, spec.akPub, spec.ekPub)
    const proof = spec.binding ? new Uint8Array(createHmac('sha256', secret).update(spec.binding).digest()) : secret
    const out: Record<string, string> = { CredActivation: Buffer.from(proof).toString('base64') }
    if (spec.devIdPub !== undefined) {
      const nonce = b64(challenge.DevID as string)
      const msg = spec.signOverride ?? (spec.binding ? new Uint8Array([...nonce, ...spec.binding]) : nonce)
      out.DevID = Buffer.from(await this.sign(spec.devIdPub, msg)).toString('base64')
    }
    return out
  }

  /** TPM2_Quote by the AK over `nonce` of a tpm2-tools PCR list ("sha256:0,1,2"): TPMS_ATTEST, TPMT_SIGNATURE, the values concatenated. */
  async quote(akPub: string, pcrs: string, nonce: Uint8Array): Promise<{ attest: Uint8Array; sig: Uint8Array; pcrValues: Uint8Array }> {
    const q = await this.tools.quote(this.key(akPub, 'AK'), pcrs, nonce)
    return { attest: q.attest, sig: q.sig, pcrValues: q.pcrValues }
  }

  stop(): Promise<void> {
    return this.tpm.stop()
  }
}
