// The native TCTI bridge (agent/native, N-API over libtss2-tctildr): any TCTI string (device:,
// swtpm:, mssim:, tabrmd:). Loaded lazily; absent when the install step could not build it.
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TpmTransport } from './transport.ts'

interface NativeTcti {
  transmit(cmd: Uint8Array): Promise<Uint8Array>
  close(): void
}
interface NativeModule {
  Tcti: new (conf: string) => NativeTcti
}

/** agent/native/ of the package: beside agent/tpm/ in the sources, three levels up from dist/agent/tpm/ in the build */
export const NATIVE_SOURCE_DIR = ((): string => {
  const here = dirname(fileURLToPath(import.meta.url))
  const built = join(here, '..', '..', '..', 'agent', 'native')
  return existsSync(join(built, 'binding.gyp')) ? built : join(here, '..', 'native')
})()

export const NATIVE_ADDON_PATH = join(NATIVE_SOURCE_DIR, 'build', 'Release', 'vouch_tcti.node')

let cached: NativeModule | null | undefined
let loadError: string | undefined

/** The addon, or undefined (see `nativeUnavailableReason()`). */
export function loadNativeTcti(path = NATIVE_ADDON_PATH): NativeModule | undefined {
  if (cached !== undefined) return cached ?? undefined
  if (!existsSync(path)) {
    loadError = `native TCTI bridge not built (${path} missing)`
    cached = null
    return undefined
  }
  try {
    cached = createRequire(import.meta.url)(path) as NativeModule
  } catch (err) {
    loadError = `native TCTI bridge does not load: ${(err as Error).message}`
    cached = null
  }
  return cached ?? undefined
}

export function nativeUnavailableReason(): string | undefined {
  loadNativeTcti()
  return loadError
}

export class NativeTctiTransport implements TpmTransport {
  readonly description: string
  private tcti: NativeTcti | undefined
  constructor(
    readonly conf: string,
    mod: NativeModule | undefined = loadNativeTcti(),
  ) {
    if (!mod) throw new Error(nativeUnavailableReason() ?? 'native TCTI bridge unavailable')
    this.tcti = new mod.Tcti(conf)
    this.description = `tcti:${conf} (native libtss2-tctildr)`
  }
  async send(command: Uint8Array): Promise<Uint8Array> {
    if (!this.tcti) throw new Error('TCTI is closed')
    return this.tcti.transmit(command)
  }
  async close(): Promise<void> {
    this.tcti?.close()
    this.tcti = undefined
  }
}
