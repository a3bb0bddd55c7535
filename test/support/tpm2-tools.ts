/**
 * Thin typed wrappers running tpm2-tools 5.4 against a test swtpm (test/support/swtpm.ts).
 *
 *   const tools = new Tpm2Tools(tpm)
 *   const ek = await tools.createEk('rsa')
 *   const ak = await tools.createAk(ek, 'rsa')
 *   const srk = await tools.createSrk('rsa', 'spire-high')
 *   const devid = await tools.load(srk, await tools.createKey(srk, { alg: 'ecc256' }))
 *   const { attest, sig } = await tools.certify(devid, ak)
 *
 * Every step ends with `tpm2_flushcontext -t` and `-s` (swtpm has 3 transient slots and no resource
 * manager, toolchain-lab.md §2): objects live in context files in `tpm.workDir` and are reloaded by the
 * next tool. Context files are only valid until the TPM restarts. Failures throw CommandError with the
 * tool's stderr. Binary outputs are returned as Uint8Array exactly as tpm2-tools wrote them:
 * `*.pub` = TPM2B_PUBLIC, attest = TPMS_ATTEST (no size prefix), sig = TPMT_SIGNATURE (`-f tss`).
 * Pitfalls kept in mind: tpm2_certify 5.4 always sends qualifyingData 00ff55aa; tpm2_makecredential -n
 * takes the name as HEX.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { run, type RunResult, type Swtpm } from './swtpm.ts'

export type KeyAlg = 'rsa' | 'ecc'
export type HashAlg = 'sha1' | 'sha256' | 'sha384' | 'sha512'

/** A loaded-on-demand object: its tpm2-tools context file plus what we know of it. */
export interface TpmObject {
  /** tpm2-tools context file (or a persistent handle like "0x81010001") */
  ctx: string
  /** TPM2B_PUBLIC bytes */
  pub: Uint8Array
  /** path of the TPM2B_PUBLIC file */
  pubPath: string
  /** SubjectPublicKeyInfo PEM */
  pem: string
  /** name: nameAlg(u16) || H(TPMT_PUBLIC) */
  name: Uint8Array
}

export interface EkObject extends TpmObject {
  alg: KeyAlg | 'ecc384'
}
export interface AkObject extends TpmObject {
  privPath: string
  namePath: string
}
export interface KeyBlobs {
  pub: Uint8Array
  priv: Uint8Array
  pubPath: string
  privPath: string
}
export interface LoadedKey extends TpmObject {
  privPath: string
}

export interface CreateKeyOptions {
  /** 'rsa' = rsa2048 (RSASSA), 'ecc256' = NIST P-256 (ECDSA) */
  alg: 'rsa' | 'ecc256' | 'ecc384'
  /** scheme hash (and nameAlg unless nameAlg given); default sha256 */
  hash?: HashAlg
  nameAlg?: HashAlg
  /** RSA scheme; default rsassa */
  rsaScheme?: 'rsassa' | 'rsapss'
  /** TPMA_OBJECT list for -a; default the DevID set fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign */
  attributes?: string
  /** override the whole -G argument (e.g. 'rsa2048:null:null' for a key with no scheme) */
  algorithm?: string
}

/** 'spire-high' = SPIRE SRK-High (spec 7.1: attrs 0x00030472, AES-128-CFB, scheme NULL, unique empty). */
export type SrkTemplate = 'spire-high'

export const DEVID_ATTRIBUTES = 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign'
export const SRK_ATTRIBUTES = 'restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda'

export interface CertifyResult {
  attest: Uint8Array
  sig: Uint8Array
}
export interface QuoteResult {
  attest: Uint8Array
  sig: Uint8Array
  /** PCR values concatenated in selection order (`-F values`) */
  pcrValues: Uint8Array
  msgPath: string
  sigPath: string
  pcrsPath: string
}

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Length of the first DER element (NV indices may be padded after the certificate). */
export function firstDerElement(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 2) throw new Error('der: too short')
  const first = bytes[1] as number
  let len: number
  let hdr: number
  if (first < 0x80) {
    len = first
    hdr = 2
  } else {
    const n = first & 0x7f
    if (n === 0 || n > 4 || bytes.length < 2 + n) throw new Error('der: bad length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + (bytes[2 + i] as number)
    hdr = 2 + n
  }
  if (hdr + len > bytes.length) throw new Error('der: element longer than input')
  return bytes.slice(0, hdr + len)
}

export class Tpm2Tools {
  private seq = 0
  constructor(readonly tpm: Swtpm) {}

  /** A fresh path in the instance work dir. */
  path(label: string): string {
    this.seq += 1
    return join(this.tpm.workDir, `${String(this.seq).padStart(3, '0')}-${label}`)
  }

  /** Run one tpm2-tools binary against this TPM. */
  exec(tool: string, args: readonly string[]): Promise<RunResult> {
    return run(tool, args, { env: this.tpm.env })
  }

  /** Flush all transient objects and sessions. */
  async flush(): Promise<void> {
    await this.exec('tpm2_flushcontext', ['-t'])
    await this.exec('tpm2_flushcontext', ['-s'])
  }

  /** Run a step, then flush whatever it left loaded (also on failure). */
  private async step<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } finally {
      await this.flush().catch(() => undefined)
    }
  }

  private async describe(ctx: string, label: string): Promise<{ pem: string; name: Uint8Array }> {
    const pemPath = this.path(`${label}.pem`)
    const namePath = this.path(`${label}.name`)
    await this.exec('tpm2_readpublic', ['-c', ctx, '-f', 'pem', '-o', pemPath, '-n', namePath])
    return { pem: await readFile(pemPath, 'utf8'), name: new Uint8Array(await readFile(namePath)) }
  }

  /** EK from the TCG default template (tpm2_createek: rsa = L-1, ecc = L-2 P-256, ecc384 = swtpm's P-384). */
  createEk(alg: KeyAlg | 'ecc384' = 'rsa'): Promise<EkObject> {
    return this.step(async () => {
      const ctx = this.path(`ek-${alg}.ctx`)
      const pubPath = this.path(`ek-${alg}.pub`)
      await this.exec('tpm2_createek', ['-c', ctx, '-G', alg, '-u', pubPath, '-f', 'tss'])
      const { pem, name } = await this.describe(ctx, `ek-${alg}`)
      return { alg, ctx, pub: new Uint8Array(await readFile(pubPath)), pubPath, pem, name }
    })
  }

  /** EK certificate from NV (DER; only the first DER element, indices may be padded). */
  async readEkCert(index: number): Promise<Uint8Array> {
    const out = this.path(`nv-${index.toString(16)}.der`)
    await this.exec('tpm2_nvread', ['-C', 'o', `0x${index.toString(16)}`, '-o', out])
    return firstDerElement(new Uint8Array(await readFile(out)))
  }

  /**
   * AK under the EK (tpm2_createak: restricted|sign|fixedtpm|fixedparent|sensitivedataorigin|userwithauth).
   * rsa: RSA-2048 with rsassa (or rsapss); ecc: P-256 ECDSA.
   */
  createAk(ek: EkObject, alg: KeyAlg = 'rsa', scheme?: 'rsassa' | 'rsapss' | 'ecdsa', hash: HashAlg = 'sha256'): Promise<AkObject> {
    return this.step(async () => {
      const ctx = this.path(`ak-${alg}.ctx`)
      const pubPath = this.path(`ak-${alg}.pub`)
      const privPath = this.path(`ak-${alg}.priv`)
      const namePath = this.path(`ak-${alg}.name`)
      await this.exec('tpm2_createak', [
        '-C',
        ek.ctx,
        '-c',
        ctx,
        '-G',
        alg,
        '-g',
        hash,
        '-s',
        scheme ?? (alg === 'rsa' ? 'rsassa' : 'ecdsa'),
        '-u',
        pubPath,
        '-f',
        'tss',
        '-n',
        namePath,
        '-r',
        privPath,
      ])
      const { pem } = await this.describe(ctx, `ak-${alg}`)
      return {
        ctx,
        pub: new Uint8Array(await readFile(pubPath)),
        pubPath,
        pem,
        name: new Uint8Array(await readFile(namePath)),
        privPath,
        namePath,
      }
    })
  }

  /**
   * Owner-hierarchy storage primary. 'spire-high' = SPIRE's SRK-High (spec §7.1) for the DevID type:
   * `-G rsa2048:null:aes128cfb` / `ecc256:null:aes128cfb`, nameAlg sha256, attrs 0x00030472.
   * Returns the context and the template tpm2-tools actually sent (TPMT_PUBLIC, --template-data).
   */
  createSrk(alg: KeyAlg = 'rsa', _template: SrkTemplate = 'spire-high'): Promise<TpmObject & { template: Uint8Array }> {
    return this.step(async () => {
      const ctx = this.path(`srk-${alg}.ctx`)
      const templatePath = this.path(`srk-${alg}.template`)
      await this.exec('tpm2_createprimary', [
        '-C',
        'o',
        '-g',
        'sha256',
        '-G',
        alg === 'rsa' ? 'rsa2048:null:aes128cfb' : 'ecc256:null:aes128cfb',
        '-a',
        SRK_ATTRIBUTES,
        '-c',
        ctx,
        '--template-data',
        templatePath,
      ])
      const { pem, name } = await this.describe(ctx, `srk-${alg}`)
      const pubPath = this.path(`srk-${alg}.pub`)
      await this.exec('tpm2_readpublic', ['-c', ctx, '-f', 'tss', '-o', pubPath])
      return {
        ctx,
        pub: new Uint8Array(await readFile(pubPath)),
        pubPath,
        pem,
        name,
        template: new Uint8Array(await readFile(templatePath)),
      }
    })
  }

  /** A child key (DevID-like by default) under `parent`; returns the TPM2B_PUBLIC / TPM2B_PRIVATE blobs. */
  createKey(parent: TpmObject, opts: CreateKeyOptions): Promise<KeyBlobs> {
    return this.step(async () => {
      const hash = opts.hash ?? 'sha256'
      const label = `key-${opts.alg}-${hash}`
      const pubPath = this.path(`${label}.pub`)
      const privPath = this.path(`${label}.priv`)
      const algorithm =
        opts.algorithm ?? (opts.alg === 'rsa' ? `rsa2048:${opts.rsaScheme ?? 'rsassa'}-${hash}:null` : `${opts.alg}:ecdsa-${hash}:null`)
      await this.exec('tpm2_create', [
        '-C',
        parent.ctx,
        '-G',
        algorithm,
        '-g',
        opts.nameAlg ?? 'sha256',
        '-a',
        opts.attributes ?? DEVID_ATTRIBUTES,
        '-u',
        pubPath,
        '-r',
        privPath,
      ])
      return { pub: new Uint8Array(await readFile(pubPath)), priv: new Uint8Array(await readFile(privPath)), pubPath, privPath }
    })
  }

  /** Load key blobs under `parent` (fails with an integrity error on another TPM). */
  load(parent: TpmObject, blobs: Pick<KeyBlobs, 'pubPath' | 'privPath'>, label = 'key'): Promise<LoadedKey> {
    return this.step(async () => {
      const ctx = this.path(`${label}.ctx`)
      await this.exec('tpm2_load', ['-C', parent.ctx, '-u', blobs.pubPath, '-r', blobs.privPath, '-c', ctx])
      const { pem, name } = await this.describe(ctx, label)
      return { ctx, pub: new Uint8Array(await readFile(blobs.pubPath)), pubPath: blobs.pubPath, pem, name, privPath: blobs.privPath }
    })
  }

  /** TPM2_Certify(object by signer). NOTE: tpm2-tools 5.4 always uses qualifyingData 00ff55aa. */
  certify(
    object: TpmObject,
    signer: TpmObject,
    hash: HashAlg = 'sha256',
  ): Promise<CertifyResult & { attestPath: string; sigPath: string }> {
    return this.step(async () => {
      const attestPath = this.path('certify.attest')
      const sigPath = this.path('certify.sig')
      await this.exec('tpm2_certify', ['-c', object.ctx, '-C', signer.ctx, '-g', hash, '-o', attestPath, '-s', sigPath, '-f', 'tss'])
      return { attest: new Uint8Array(await readFile(attestPath)), sig: new Uint8Array(await readFile(sigPath)), attestPath, sigPath }
    })
  }

  /** TPM2_Quote over `pcrs` (e.g. 'sha256:0,1,2,7') with qualifyingData = nonce. */
  quote(ak: TpmObject, pcrs: string, nonce: Uint8Array, hash: HashAlg = 'sha256'): Promise<QuoteResult> {
    return this.step(async () => {
      const msgPath = this.path('quote.msg')
      const sigPath = this.path('quote.sig')
      const pcrsPath = this.path('quote.pcrs')
      await this.exec('tpm2_quote', [
        '-c',
        ak.ctx,
        '-l',
        pcrs,
        '-q',
        toHex(nonce),
        '-g',
        hash,
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
      return {
        attest: new Uint8Array(await readFile(msgPath)),
        sig: new Uint8Array(await readFile(sigPath)),
        pcrValues: new Uint8Array(await readFile(pcrsPath)),
        msgPath,
        sigPath,
        pcrsPath,
      }
    })
  }

  /** tpm2_checkquote; resolves true when it accepts, false when it rejects. */
  async checkquote(
    akPubPath: string,
    q: Pick<QuoteResult, 'msgPath' | 'sigPath' | 'pcrsPath'>,
    nonce: Uint8Array,
    pcrs: string,
    hash: HashAlg = 'sha256',
  ): Promise<boolean> {
    try {
      await run('tpm2_checkquote', [
        '-u',
        akPubPath,
        '-m',
        q.msgPath,
        '-s',
        q.sigPath,
        '-f',
        q.pcrsPath,
        '-F',
        'values',
        '-l',
        pcrs,
        '-g',
        hash,
        '-q',
        toHex(nonce),
      ])
      return true
    } catch {
      return false
    }
  }

  /** TPM2_Sign over data (hashed by tpm2_sign). format 'plain': raw RSA / DER ECDSA; 'tss': TPMT_SIGNATURE. */
  sign(key: TpmObject, data: Uint8Array, opts: { hash?: HashAlg; format?: 'plain' | 'tss' } = {}): Promise<Uint8Array> {
    return this.step(async () => {
      const dataPath = this.path('sign.data')
      const sigPath = this.path('sign.sig')
      await writeFile(dataPath, data)
      await this.exec('tpm2_sign', ['-c', key.ctx, '-g', opts.hash ?? 'sha256', '-f', opts.format ?? 'plain', '-o', sigPath, dataPath])
      return new Uint8Array(await readFile(sigPath))
    })
  }

  /** Software MakeCredential by tpm2-tools (no TPM): tpm2-tools container BADCC0DE 00000001 || TPM2B_ID_OBJECT || TPM2B_ENCRYPTED_SECRET. */
  async makeCredential(
    ek: Pick<TpmObject, 'pubPath'>,
    objectName: Uint8Array,
    secret: Uint8Array,
  ): Promise<{ blob: Uint8Array; blobPath: string }> {
    const secretPath = this.path('mc.secret')
    const blobPath = this.path('mc.blob')
    await writeFile(secretPath, secret)
    await run('tpm2_makecredential', ['-T', 'none', '-u', ek.pubPath, '-s', secretPath, '-n', toHex(objectName), '-o', blobPath])
    return { blob: new Uint8Array(await readFile(blobPath)), blobPath }
  }

  /**
   * TPM2_ActivateCredential(activate = key, EK with a PolicySecret(endorsement) session).
   * `credential` is a tpm2-tools container file (see makeCredential / writeCredentialBlob).
   */
  activateCredential(key: TpmObject, ek: TpmObject, credentialPath: string): Promise<Uint8Array> {
    return this.step(async () => {
      const session = this.path('ekpolicy.session')
      const out = this.path('activated.secret')
      await this.exec('tpm2_startauthsession', ['--policy-session', '-S', session])
      try {
        await this.exec('tpm2_policysecret', ['-S', session, '-c', 'e'])
        await this.exec('tpm2_activatecredential', [
          '-c',
          key.ctx,
          '-C',
          ek.ctx,
          '-i',
          credentialPath,
          '-o',
          out,
          '-P',
          `session:${session}`,
        ])
      } finally {
        await this.exec('tpm2_flushcontext', [session]).catch(() => undefined)
      }
      return new Uint8Array(await readFile(out))
    })
  }

  /**
   * Write a tpm2-tools credential container from the two TPM2B bodies (as in vouch's challenge
   * `Credential` / `Secret`, u16 size prefixes stripped): BADCC0DE 00000001 || u16 || idObject || u16 || secret.
   */
  async writeCredentialBlob(credential: Uint8Array, secret: Uint8Array): Promise<string> {
    const path = this.path('credential.blob')
    const out = new Uint8Array(8 + 2 + credential.length + 2 + secret.length)
    const view = new DataView(out.buffer)
    view.setUint32(0, 0xbadcc0de)
    view.setUint32(4, 1)
    view.setUint16(8, credential.length)
    out.set(credential, 10)
    view.setUint16(10 + credential.length, secret.length)
    out.set(secret, 12 + credential.length)
    await writeFile(path, out)
    return path
  }

  /** Make a context file / transient object persistent at `handle` (owner hierarchy). */
  async evict(object: TpmObject, handle: number): Promise<void> {
    await this.step(() => this.exec('tpm2_evictcontrol', ['-C', 'o', '-c', object.ctx, `0x${handle.toString(16)}`]))
  }
}
