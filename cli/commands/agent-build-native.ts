import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs, UsageError } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'
import { NATIVE_ADDON_PATH, NATIVE_SOURCE_DIR } from '../../agent/tpm/native.ts'
import { PEERCRED_ADDON_PATH } from '../../agent/workload/api/peercred.ts'

const USAGE =
  'vouch agent build-native\n' +
  "  builds the agent's native addons: the peer-credential addon (SO_PEERCRED; the Workload API attests\n" +
  '  workloads by it and does not start without it) and, when libtss2-dev is installed, the TCTI bridge\n' +
  '  (N-API over libtss2-tctildr) that lets the agent reach a TPM through any TCTI (device:, swtpm:, mssim:,\n' +
  '  tabrmd:). Needs python3, make and a C++ compiler (Debian: apt-get install libtss2-dev python3 make g++).\n' +
  '  Installing vouch never compiles anything; without the bridge the agent still reaches /dev/tpmrm0 and\n' +
  '  swtpm over TCP with its pure transports.'

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
    const { missing, tss2 } = missingPrerequisites()
    if (missing.length > 0) {
      const all = tss2 ? missing : ['libtss2-dev (pkg-config tss2-tctildr)', ...missing]
      io.err(`vouch: cannot build the native TCTI bridge: missing ${all.join(', ')} (Debian: apt-get install libtss2-dev python3 make g++)`)
      return EXIT_INVALID
    }
    if (!tss2) io.err('vouch: libtss2-dev (pkg-config tss2-tctildr) is missing: building the peer-credential addon only')
    const script = join(NATIVE_SOURCE_DIR, '..', '..', 'scripts', 'build-native.mjs')
    const r = spawnSync(process.execPath, [script, '--strict'], { stdio: ['ignore', 'inherit', 'inherit'] })
    const wanted = tss2 ? [PEERCRED_ADDON_PATH, NATIVE_ADDON_PATH] : [PEERCRED_ADDON_PATH]
    if (r.status !== 0 || !wanted.every((p) => existsSync(p))) {
      io.err(`vouch: the native addons did not build (${r.error?.message ?? `exit ${r.status}`})`)
      return EXIT_INVALID
    }
    for (const p of wanted) io.out(`built ${p}`)
    return EXIT_OK
  },
}

/** What the build cannot do without; libtss2 is optional (without it only the peer-credential addon builds). */
function missingPrerequisites(): { missing: string[]; tss2: boolean } {
  const has = (cmd: string, ...a: string[]) => spawnSync(cmd, a, { stdio: 'ignore' }).status === 0
  const missing: string[] = []
  const tss2 = has('pkg-config', '--exists', 'tss2-tctildr')
  if (!has('python3', '--version')) missing.push('python3')
  if (!has('make', '--version')) missing.push('make')
  if (!has('c++', '--version') && !has('g++', '--version')) missing.push('a C++ compiler')
  return { missing, tss2 }
}
