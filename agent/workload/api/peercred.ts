// The peer-credential addon (agent/native/peercred.cc, target vouch_peercred): SO_PEERCRED of an
// accepted unix socket, plus a pidfd for the peer process. Node cannot read either, and the
// Workload API attests workloads by them, so without the addon the Workload API does not start.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { NATIVE_SOURCE_DIR } from '../../tpm/native.ts'

export interface PeerCredentials {
  readonly pid: number
  readonly uid: number
  readonly gid: number
  /** a pidfd for the peer process, or -1 when the kernel has neither SO_PEERPIDFD nor pidfd_open */
  readonly pidfd: number
  readonly pidfdSource: 'SO_PEERPIDFD' | 'pidfd_open' | 'none'
}

export interface PeerCredAddon {
  peerCredentials(fd: number): PeerCredentials
  pidfdExited(pidfd: number): boolean
  closeFd(fd: number): void
}

export const PEERCRED_ADDON_PATH = join(NATIVE_SOURCE_DIR, 'build', 'Release', 'vouch_peercred.node')

let cached: PeerCredAddon | null | undefined
let loadError: string | undefined

/** The addon, or undefined with the reason in {@link peerCredUnavailableReason}. */
export function loadPeerCredAddon(path = PEERCRED_ADDON_PATH): PeerCredAddon | undefined {
  if (path !== PEERCRED_ADDON_PATH) return load(path).addon
  if (cached === undefined) {
    const r = load(path)
    cached = r.addon ?? null
    loadError = r.error
  }
  return cached ?? undefined
}

export function peerCredUnavailableReason(path = PEERCRED_ADDON_PATH): string | undefined {
  if (path !== PEERCRED_ADDON_PATH) return load(path).error
  loadPeerCredAddon()
  return loadError
}

function load(path: string): { addon?: PeerCredAddon; error?: string } {
  if (process.platform !== 'linux') return { error: `peer credentials are implemented for Linux only (this is ${process.platform})` }
  if (!existsSync(path)) {
    return { error: `the peer-credential addon is not built (${path} missing; run \`vouch agent build-native\`)` }
  }
  try {
    const addon = createRequire(import.meta.url)(path) as PeerCredAddon
    if (typeof addon.peerCredentials !== 'function') return { error: `${path} is not the peer-credential addon` }
    return { addon }
  } catch (err) {
    return { error: `the peer-credential addon does not load: ${(err as Error).message}` }
  }
}
