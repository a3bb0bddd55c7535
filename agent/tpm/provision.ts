// DevID key provisioning (spec §8): TPM2_Create under SPIRE's SRK-High of the key's type, so the
// blobs load unchanged in SPIRE's agent and in ours. Returns TPMT_PUBLIC and TPM2B_PRIVATE contents.
import * as cmd from '../../core/tpm2/command/index.ts'
import { TPM_RH } from '../../core/tpm2/constants.ts'
import type { TPMT_PUBLIC } from '../../core/tpm2/public.ts'
import type { TpmClient } from './client.ts'

export interface ProvisionOptions {
  readonly kind: 'rsa' | 'ecc'
  /** the DevID key's userAuth (devIDKeyPassword) */
  readonly password?: string
  readonly ownerHierarchyPassword?: string
}

export interface DevIdBlobs {
  /** TPMT_PUBLIC (no size prefix), SPIRE's devid.pub */
  readonly pub: Uint8Array
  /** TPM2B_PRIVATE contents (no size prefix), SPIRE's devid.priv */
  readonly priv: Uint8Array
  readonly public: TPMT_PUBLIC
}

export async function provisionDevIdKey(client: TpmClient, opts: ProvisionOptions): Promise<DevIdBlobs> {
  const template = opts.kind === 'rsa' ? cmd.srkTemplateRsa() : cmd.srkTemplateEcc()
  const srk = await client.run(cmd.createPrimary(TPM_RH.OWNER, cmd.passwordAuth(opts.ownerHierarchyPassword ?? ''), { template }))
  return client.using(srk.handle, async (h) => {
    const r = await client.run(
      cmd.create(h, cmd.passwordAuth(''), { template: cmd.devIdTemplate(opts.kind), userAuth: opts.password ?? '' }),
    )
    return { pub: r.outPublic.raw, priv: r.outPrivate, public: r.outPublic }
  })
}
