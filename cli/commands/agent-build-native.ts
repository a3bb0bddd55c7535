import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs, UsageError } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'
import { NATIVE_ADDON_PATH, NATIVE_SOURCE_DIR } from '../../agent/tpm/native.ts'

const USAGE =
  'vouch agent build-native\n' +
  '  builds the native TCTI bridge (N-API over libtss2-tctildr) that lets the agent reach a TPM through\n' +
  '  any TCTI (device:, swtpm:, mssim:, tabrmd:). Needs libtss2-dev, python3, make and a C++ compiler\n' +
  '  (Debian: apt-get install libtss2-dev python3 make g++). Installing vouch never compiles anything;\n' +
  '  without the bridge the agent still reaches /dev/tpmrm0 and swtpm over TCP with its pure transports.'

/** `vouch agent build-native`: node-gyp over agent/native, in the installed package. */
export const agentBuildNative: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: [] })
    if (args.positionals.length > 0) throw new UsageError('expected no arguments')
    const gyp = join(NATIVE_SOURCE_DIR, 'binding.gyp')
    if (!existsSync(gyp)) {
      io.err(`vouch: ${gyp} is missing: this installation has no native bridge sources`)
      return EXIT_INVALID
    }
    const missing = missingPrerequisites()
    if (missing.length > 0) {
      io.err(
        `vouch: cannot build the native TCTI bridge: missing ${missing.join(', ')} (Debian: apt-get install libtss2-dev python3 make g++)`,
      )
      return EXIT_INVALID
    }
    const script = join(NATIVE_SOURCE_DIR, '..', '..', 'scripts', 'build-native.mjs')
    const r = spawnSync(process.execPath, [script, '--strict'], { stdio: ['ignore', 'inherit', 'inherit'] })
    if (r.status !== 0 || !existsSync(NATIVE_ADDON_PATH)) {
      io.err(`vouch: the native TCTI bridge did not build (${r.error?.message ?? `exit ${r.status}`})`)
      return EXIT_INVALID
    }
    io.out(`built ${NATIVE_ADDON_PATH}`)
    return EXIT_OK
  },
}

function missingPrerequisites(): string[] {
  const has = (cmd: string, ...a: string[]) => spawnSync(cmd, a, { stdio: 'ignore' }).status === 0
  const missing: string[] = []
  if (!has('pkg-config', '--exists', 'tss2-tctildr')) missing.push('libtss2-dev (pkg-config tss2-tctildr)')
  if (!has('python3', '--version')) missing.push('python3')
  if (!has('make', '--version')) missing.push('make')
  if (!has('c++', '--version') && !has('g++', '--version')) missing.push('a C++ compiler')
  return missing
}
