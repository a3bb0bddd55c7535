// What the agent suites share: an Io that records what a CLI command prints, a vouch server on
// 127.0.0.1 (TLS from its own CA, trust domain example.org) under one AgentAttestation policy, and a
// DevID CA with a DevID provisioned under it.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { Io } from '../../cli/command.ts'
import { main } from '../../cli/main.ts'
import { toPem } from '../../core/bytes/pem.ts'
import { makeCertificate } from '../../core/x509/make-certificate.ts'
import { parseServerConfig } from '../../server/config.ts'
import { type RunningServer, startNodeServer } from '../../server/entry/node.ts'

/** An Io whose lines are kept in `outs` and `errs`. */
export function capture(): Io & { outs: string[]; errs: string[] } {
  const outs: string[] = []
  const errs: string[] = []
  return { outs, errs, out: (l) => outs.push(l), err: (l) => errs.push(l) }
}

/**
 * Writes `dir/policy.yaml` with these policies and starts a server on it: data in `dir/server`,
 * its CA (for the agent's trustBundlePath) at `dir/server/ca/ca.pem`. `extra` adds config keys.
 */
export async function startPolicyServer(
  dir: string,
  policies: readonly Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): Promise<RunningServer> {
  const policy = join(dir, 'policy.yaml')
  await writeFile(policy, stringify({ section: 'AgentAttestation', schema: 'v1', spec: { policies } }))
  const config = { trustDomain: 'example.org', listen: '127.0.0.1:0', dataDir: join(dir, 'server'), policy, tls: true, ...extra }
  return startNodeServer(parseServerConfig(stringify(config)), { write: () => {} })
}

/**
 * The tpm_devid policy the agent suites attest under: DevIDs under `caDer`, EKs under the swtpm's
 * EK CA, the SPIFFE ID from the DevID serial number.
 */
export function devidPolicy(
  caDer: Uint8Array,
  ekCa: { readonly rootPem: string; readonly intermediatePem: string },
): Record<string, unknown> {
  return {
    name: 'devid',
    spiffeIDTemplate: '/agent/tpm_devid/{{tpm_devid.certificate.serial_number}}',
    requiredAttestors: [
      { type: 'tpm_devid', config: { devIDCACerts: toPem('CERTIFICATE', caDer), endorsementCACerts: ekCa.rootPem + ekCa.intermediatePem } },
    ],
  }
}

/** A self-signed P-256 DevID CA, written as `dir/<name>.pem` and `dir/<name>.key` (PKCS#8); its certificate's DER. */
export async function makeDevIdCa(dir: string, commonName: string, name = 'ca'): Promise<Uint8Array> {
  const kp = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const now = Date.now()
  const der = await makeCertificate(
    {
      subject: [{ type: 'CN', value: commonName }],
      notBefore: now - 60_000,
      notAfter: now + 86_400_000,
      publicKey: new Uint8Array(await crypto.subtle.exportKey('spki', kp.publicKey)),
      basicConstraints: { cA: true },
      keyUsage: ['keyCertSign', 'cRLSign'],
    },
    kp.privateKey,
  )
  await writeFile(join(dir, `${name}.pem`), toPem('CERTIFICATE', der))
  await writeFile(join(dir, `${name}.key`), toPem('PRIVATE KEY', new Uint8Array(await crypto.subtle.exportKey('pkcs8', kp.privateKey))))
  return der
}

/** `vouch devid provision`: a DevID key in the TPM, certified by `dir/<ca>.pem`, written to `dir/devid`. */
export async function provisionDevId(
  tcti: string,
  dir: string,
  o: { readonly keyType: 'rsa' | 'ecc'; readonly subjectCn: string; readonly ca?: string },
): Promise<void> {
  const ca = o.ca ?? 'ca'
  const io = capture()
  const code = await main(
    [
      'devid',
      'provision',
      '--tpm',
      tcti,
      '--tpm-bridge',
      'pure',
      '--key-type',
      o.keyType,
      '--out-dir',
      join(dir, 'devid'),
      '--ca-cert',
      join(dir, `${ca}.pem`),
      '--ca-key',
      join(dir, `${ca}.key`),
      '--subject-cn',
      o.subjectCn,
    ],
    io,
  )
  if (code !== 0) throw new Error(`devid provision: ${io.errs.join('\n')}`)
}
