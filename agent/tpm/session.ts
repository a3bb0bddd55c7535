// The agent's TPM flow (tpm-devid-protocol spec §7, SPIRE tpmutil/session.go): load the DevID under
// SPIRE's SRK-High, create + load the AK, create the EK, read the EK certificate, certify the DevID
// with the AK, sign the nonce with the DevID, activate the credential through PolicySecret(endorsement).
// At most 3 transient objects are loaded (DevID, AK, EK) plus one policy session; every SRK is
// flushed at once, and everything is flushed on close and on errors.
import { firstDerElement } from '../../core/der/reader.ts'
import * as cmd from '../../core/tpm2/command/index.ts'
import { TPM_ALG, TPM_RH, algName, EK_CERT_NV_INDEX } from '../../core/tpm2/constants.ts'
import { bytesEqual } from '../../core/bytes/equal.ts'
import { parseTpmtPublic, type TPMT_PUBLIC } from '../../core/tpm2/public.ts'
import { TpmResponseError } from '../../core/tpm2/rc.ts'
import { defaultPlatform, type Platform } from '../../core/platform.ts'
import { toTpm2bPublic } from '../../core/tpm2/public.ts'
import type { TpmClient } from './client.ts'

/**
 * Which EK template: the TCG low-range defaults `rsa` (RSA-2048) and `ecc` (P-256), or the high-range
 * `rsa3072` and `ecc384` (SHA-384, AES-256, PolicyB) that swtpm and many real TPMs certify.
 */
export type EkKind = 'rsa' | 'ecc' | 'rsa3072' | 'ecc384'
export const EK_KINDS: readonly EkKind[] = ['rsa', 'ecc', 'rsa3072', 'ecc384']

const EK_TEMPLATES: Readonly<Record<EkKind, () => Uint8Array>> = {
  rsa: cmd.ekTemplateRsa,
  ecc: cmd.ekTemplateEcc,
  rsa3072: cmd.ekTemplateRsa3072,
  ecc384: cmd.ekTemplateEccP384,
}

/** Where each template's EK certificate lives by default. */
export const EK_CERT_INDEX_OF: Readonly<Record<EkKind, number>> = {
  rsa: EK_CERT_NV_INDEX.RSA2048,
  ecc: EK_CERT_NV_INDEX.ECC_P256,
  rsa3072: EK_CERT_NV_INDEX.RSA3072,
  ecc384: EK_CERT_NV_INDEX.ECC_P384,
}

export interface TpmSessionOptions {
  /** DevID TPMT_PUBLIC and TPM2B_PRIVATE (with or without size prefix); absent for tpm_ek */
  readonly devIdPub?: Uint8Array
  readonly devIdPriv?: Uint8Array
  readonly devIdPassword?: string
  readonly ownerHierarchyPassword?: string
  readonly endorsementHierarchyPassword?: string
  readonly ekKind?: EkKind
  /** where the EK certificate is read from; default: the template's index (EK_CERT_INDEX_OF) */
  readonly ekCertificateNvIndex?: number
  readonly platform?: Platform
}

/** Re-throw a TPM error with the name of the password or blob at fault. */
function blame(err: unknown, what: (name: string, e: TpmResponseError) => string | undefined): never {
  if (err instanceof TpmResponseError) {
    const hint = what(err.rcName, err)
    if (hint) throw new TpmResponseError(err.detail.command as string, err.rc, hint)
  }
  throw err
}

const isAuthFailure = (n: string) => n === 'TPM_RC_AUTH_FAIL' || n === 'TPM_RC_BAD_AUTH'

export class AgentTpmSession {
  devId?: { handle: number; pub: TPMT_PUBLIC }
  ak?: { handle: number; pub: TPMT_PUBLIC; password: Uint8Array; name: Uint8Array }
  ek?: { handle: number; pub: TPMT_PUBLIC }
  private ekKind?: EkKind
  private readonly platform: Platform

  private constructor(
    readonly client: TpmClient,
    private readonly opts: TpmSessionOptions,
  ) {
    this.platform = opts.platform ?? defaultPlatform()
  }

  /** Steps 3–6 of spec §7. On any error everything loaded so far is flushed. */
  static async open(client: TpmClient, opts: TpmSessionOptions): Promise<AgentTpmSession> {
    const s = new AgentTpmSession(client, opts)
    try {
      if (opts.devIdPub && opts.devIdPriv) await s.loadDevId(opts.devIdPub, opts.devIdPriv)
      await s.createAk()
      await s.createEk(opts.ekKind ?? 'rsa')
      return s
    } catch (err) {
      await s.close()
      throw err
    }
  }

  private ownerAuth() {
    return cmd.passwordAuth(this.opts.ownerHierarchyPassword ?? '')
  }

  /** CreatePrimary(SRK-High of `kind`) with a random userAuth (spec §7 step 2). */
  private async createSrk(kind: 'rsa' | 'ecc'): Promise<{ handle: number; auth: Uint8Array }> {
    const auth = this.platform.crypto.randomBytes(32)
    const template = kind === 'rsa' ? cmd.srkTemplateRsa() : cmd.srkTemplateEcc()
    try {
      const r = await this.client.run(cmd.createPrimary(TPM_RH.OWNER, this.ownerAuth(), { template, userAuth: auth }))
      this.client.track(r.handle)
      return { handle: r.handle, auth }
    } catch (err) {
      blame(err, (n) => (isAuthFailure(n) ? 'the ownerHierarchyPassword is wrong' : undefined))
    }
  }

  private async loadUnderSrk(
    kind: 'rsa' | 'ecc',
    pub: Uint8Array,
    priv: Uint8Array,
    what: string,
  ): Promise<{ handle: number; name: Uint8Array }> {
    const srk = await this.createSrk(kind)
    try {
      const r = await this.client.run(cmd.load(srk.handle, cmd.passwordAuth(srk.auth), priv, pub))
      this.client.track(r.handle)
      return r
    } catch (err) {
      blame(err, (n) =>
        n === 'TPM_RC_INTEGRITY'
          ? `${what} blob does not belong to this TPM or was not created under the SPIRE SRK-High template`
          : n === 'TPM_RC_OBJECT_MEMORY'
            ? 'no free transient object slot (flush objects or use the resource manager)'
            : `${what} blob was rejected`,
      )
    } finally {
      await this.client.flushQuiet(srk.handle)
    }
  }

  /** Step 3: decode and check the DevID public, then load it under SRK-High of its type. */
  async loadDevId(pubBytes: Uint8Array, privBytes: Uint8Array): Promise<void> {
    const pubRaw = cmd.stripTpm2bPrefix(pubBytes)
    const priv = cmd.stripTpm2bPrefix(privBytes)
    const pub = parseTpmtPublic(pubRaw, 'DevID public')
    if (!(pub.objectAttributes & 0x40000)) throw new Error('DevID key is not a signing key')
    if (pub.parameters.scheme.hashAlg === TPM_ALG.NULL) throw new Error('DevID key signature hash algorithm is NULL')
    const kind = pub.type === TPM_ALG.RSA ? 'rsa' : 'ecc'
    const r = await this.loadUnderSrk(kind, pubRaw, priv, 'DevID (devIDPrivPath/devIDPubPath)')
    this.devId = { handle: r.handle, pub }
  }

  /** Steps 4–5: Create an AK (random password) under SRK-High-RSA, then load it. */
  async createAk(): Promise<void> {
    const password = this.platform.crypto.randomBytes(32)
    const srk = await this.createSrk('rsa')
    let created: cmd.CreateResult
    try {
      created = await this.client.run(
        cmd.create(srk.handle, cmd.passwordAuth(srk.auth), { template: cmd.akTemplateRsa(), userAuth: password }),
      )
    } finally {
      await this.client.flushQuiet(srk.handle)
    }
    const r = await this.loadUnderSrk('rsa', created.outPublic.raw, created.outPrivate, 'AK')
    this.ak = { handle: r.handle, pub: created.outPublic, password, name: r.name }
  }

  /** Step 6: the EK from a TCG template (not persisted). */
  async createEk(kind: EkKind): Promise<void> {
    const template = EK_TEMPLATES[kind]()
    this.ekKind = kind
    try {
      const r = await this.client.run(
        cmd.createPrimary(TPM_RH.ENDORSEMENT, cmd.passwordAuth(this.opts.endorsementHierarchyPassword ?? ''), { template }),
      )
      this.client.track(r.handle)
      this.ek = { handle: r.handle, pub: r.outPublic }
    } catch (err) {
      blame(err, (n) => (isAuthFailure(n) ? 'the endorsementHierarchyPassword is wrong' : undefined))
    }
  }

  /** Step 7: the EK certificate from NV, first DER element only. */
  async readEkCertificate(nvIndex?: number): Promise<Uint8Array> {
    const index = nvIndex ?? this.opts.ekCertificateNvIndex ?? EK_CERT_INDEX_OF[this.ekKind ?? 'rsa']
    try {
      return firstDerElement(await this.client.readNv(index), 'EK certificate NV data').slice()
    } catch (err) {
      blame(err, (n) => (n === 'TPM_RC_HANDLE' ? `no EK certificate at NV index 0x${index.toString(16).padStart(8, '0')}` : undefined))
    }
  }

  private devIdAuth() {
    return cmd.passwordAuth(this.opts.devIdPassword ?? '')
  }

  /** Step 9: TPM2_Certify(DevID by AK), RSASSA-SHA256, qualifyingData (default empty). */
  async certifyDevId(qualifyingData: Uint8Array = new Uint8Array(0)): Promise<cmd.AttestResult> {
    const devId = this.need(this.devId, 'DevID')
    const ak = this.need(this.ak, 'AK')
    try {
      return await this.client.run(
        cmd.certify(devId.handle, this.devIdAuth(), ak.handle, cmd.passwordAuth(ak.password), qualifyingData, {
          scheme: TPM_ALG.RSASSA,
          hashAlg: TPM_ALG.SHA256,
        }),
      )
    } catch (err) {
      blame(err, (n, e) => (isAuthFailure(n) && e.decoded.session === 1 ? 'the devIDKeyPassword is wrong' : undefined))
    }
  }

  /** Step 11: sign `message` with the DevID: SHA-256 in software, NULL ticket. Returns raw RSA or DER ECDSA. */
  async signWithDevId(message: Uint8Array): Promise<Uint8Array> {
    const devId = this.need(this.devId, 'DevID')
    const digest = await this.platform.crypto.digest('SHA-256', message)
    let sig
    try {
      sig = await this.client.run(cmd.sign(devId.handle, this.devIdAuth(), digest))
    } catch (err) {
      blame(err, (n) => (isAuthFailure(n) ? 'the devIDKeyPassword is wrong' : undefined))
    }
    if (sig.sigAlg === TPM_ALG.ECDSA) return ecdsaDer(sig.r, sig.s)
    return sig.sig
  }

  /**
   * Step 12: ActivateCredential(AK, EK) through a policy session in the EK's nameAlg:
   * PolicySecret(TPM_RH_ENDORSEMENT), then for a high-range EK (PolicyB) PolicyOR over its branches.
   */
  async activateCredential(idObject: Uint8Array, encSecret: Uint8Array): Promise<Uint8Array> {
    const ak = this.need(this.ak, 'AK')
    const ek = this.need(this.ek, 'EK')
    const highRange = bytesEqual(ek.pub.authPolicy, cmd.EK_AUTH_POLICY_B_SHA384)
    const { handle: session } = await this.client.run(cmd.startAuthSession({ authHash: ek.pub.nameAlg }))
    this.client.track(session)
    try {
      try {
        await this.client.run(cmd.policySecret(TPM_RH.ENDORSEMENT, cmd.passwordAuth(this.opts.endorsementHierarchyPassword ?? ''), session))
      } catch (err) {
        blame(err, (n) => (isAuthFailure(n) ? 'the endorsementHierarchyPassword is wrong' : undefined))
      }
      if (highRange) await this.client.run(cmd.policyOr(session, [cmd.EK_POLICY_A_SHA384, cmd.EK_POLICY_C_SHA384]))
      const secret = await this.client.run(
        cmd.activateCredential(ak.handle, cmd.passwordAuth(ak.password), ek.handle, cmd.policyAuth(session), idObject, encSecret),
      )
      this.client.live.delete(session) // continueSession clear: the TPM closed it
      return secret
    } finally {
      if (this.client.live.has(session)) await this.client.flushQuiet(session)
    }
  }

  /** TPM2_Quote by the AK over `nonce` of `selection` (measured boot). */
  async quote(nonce: Uint8Array, selection: readonly { hash: number; pcrs: readonly number[] }[]): Promise<cmd.AttestResult> {
    const ak = this.need(this.ak, 'AK')
    return await this.client.run(cmd.quote(ak.handle, cmd.passwordAuth(ak.password), nonce, selection))
  }

  /** The values of `selection` in selection order (banks in order, PCRs ascending); PCR_Read returns at most 8 per call. */
  async readPcrs(selection: readonly { hash: number; pcrs: readonly number[] }[]): Promise<Uint8Array[]> {
    const got = new Map<string, Uint8Array>()
    let rest = selection.map((s) => ({ hash: s.hash, pcrs: [...s.pcrs] })).filter((s) => s.pcrs.length > 0)
    while (rest.length > 0) {
      const r = await this.client.run(cmd.pcrRead(rest))
      let k = 0
      for (const s of r.pcrSelectionOut) for (const i of s.pcrs) got.set(`${s.hash}.${i}`, r.pcrValues[k++]!)
      if (k === 0)
        throw new Error(`the TPM returned no values for PCRs ${rest.map((s) => `${algName(s.hash)}:${s.pcrs.join(',')}`).join(' ')}`)
      rest = rest.map((s) => ({ hash: s.hash, pcrs: s.pcrs.filter((i) => !got.has(`${s.hash}.${i}`)) })).filter((s) => s.pcrs.length > 0)
    }
    return selection.flatMap((s) => s.pcrs.map((i) => got.get(`${s.hash}.${i}`)!))
  }

  /** TPMT_PUBLIC bytes as the wire wants them (no size prefix). */
  publicAreas(): { devIdPub?: Uint8Array; akPub: Uint8Array; ekPub: Uint8Array; akTpm2b: Uint8Array } {
    const ak = this.need(this.ak, 'AK')
    const ek = this.need(this.ek, 'EK')
    return { devIdPub: this.devId?.pub.raw, akPub: ak.pub.raw, ekPub: ek.pub.raw, akTpm2b: toTpm2bPublic(ak.pub.raw) }
  }

  private need<T>(v: T | undefined, what: string): T {
    if (!v) throw new Error(`${what} is not loaded`)
    return v
  }

  /** Flush DevID, AK, EK and any session (step 13). */
  async close(): Promise<void> {
    for (const o of [this.devId, this.ak, this.ek]) if (o) await this.client.flushQuiet(o.handle)
    this.devId = this.ak = this.ek = undefined
    await this.client.flushAll()
  }
}

/** ECDSA (r, s) as ASN.1 DER SEQUENCE { INTEGER r, INTEGER s }. */
export function ecdsaDer(r: Uint8Array, s: Uint8Array): Uint8Array {
  const int = (v: Uint8Array): number[] => {
    let i = 0
    while (i < v.length - 1 && v[i] === 0) i++
    const body = [...v.subarray(i)]
    if (body[0]! & 0x80) body.unshift(0)
    return [0x02, body.length, ...body]
  }
  const seq = [...int(r), ...int(s)]
  return new Uint8Array(seq.length < 128 ? [0x30, seq.length, ...seq] : [0x30, 0x81, seq.length, ...seq])
}

export { algName }
