/** Config, policy and data dir for an end-to-end server on the swtpm fixtures. */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEVID_ROOT, EK_INT, EK_ROOT } from '../core/attestation/fixtures.ts'

export const TRUST_DOMAIN = 'example.org'
export const TEMPLATE = '/agent/tpm_devid/{{tpm_devid.certificate.serial_number}}'

export function policyDocument(config: Record<string, unknown> = { devIDCACerts: DEVID_ROOT, endorsementCACerts: EK_ROOT + EK_INT }) {
  return {
    section: 'AgentAttestation',
    schema: 'v1',
    spec: { policies: [{ name: 'tpm_devid_policy', spiffeIDTemplate: TEMPLATE, requiredAttestors: [{ type: 'tpm_devid', config }] }] },
  }
}

/** Writes policy.yaml and server.yaml in a fresh dir; returns their paths and the data dir. */
export function writeServerFiles(opts: { tls?: boolean; policy?: Record<string, unknown>; extra?: string } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-e2e-'))
  const policy = join(dir, 'policy.yaml')
  writeFileSync(policy, JSON.stringify(opts.policy ?? policyDocument()))
  const dataDir = join(dir, 'data')
  const configPath = join(dir, 'server.yaml')
  writeFileSync(
    configPath,
    `trustDomain: ${TRUST_DOMAIN}\nlisten: "127.0.0.1:0"\ndataDir: ${dataDir}\npolicy: ${policy}\ntls: ${opts.tls ?? false}\n${opts.extra ?? ''}`,
  )
  return { dir, policy, dataDir, configPath }
}
