/**
 * scripts/ensure-system.sh (run by `pretest` / `predemo`): silent when everything is installed; when
 * packages are missing and the user is not root, it stops with the exact apt-get line.
 */
import { chmod, copyFile, mkdtemp, rm, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CommandError, FIXTURE_DIR, run } from '../support/swtpm.ts'

const SCRIPT = join(FIXTURE_DIR, '..', '..', '..', 'scripts', 'ensure-system.sh')

describe('scripts/ensure-system.sh', () => {
  let bin: string
  beforeAll(async () => {
    // a PATH with only what the script itself needs, so every TPM tool looks missing
    bin = await mkdtemp(join(tmpdir(), 'vouch-ensure-'))
    await chmod(bin, 0o755) // readable by the unprivileged user below
    for (const tool of ['bash', 'id', 'pkg-config', 'setpriv', 'ls']) {
      const { stdout } = await run('bash', ['-c', `command -v ${tool}`])
      await symlink(stdout.trim(), join(bin, tool))
    }
    // a copy the unprivileged user can read wherever the checkout lives
    await copyFile(SCRIPT, join(bin, 'ensure-system.sh'))
    await chmod(join(bin, 'ensure-system.sh'), 0o755)
  })
  afterAll(async () => {
    await rm(bin, { recursive: true, force: true })
  })

  it('says nothing and exits 0 when the packages are installed', async () => {
    const { stdout, stderr } = await run('bash', [SCRIPT])
    expect(stdout).toBe('')
    expect(stderr).toBe('')
  })

  it('as a non-root user with packages missing: exit 1 and the exact apt-get line', async () => {
    const err = await run(
      join(bin, 'setpriv'),
      ['--reuid=65534', '--regid=65534', '--clear-groups', join(bin, 'bash'), join(bin, 'ensure-system.sh')],
      {
        env: { PATH: bin, VOUCH_POSTGRES_LIB: join(bin, 'no-postgresql') },
      },
    ).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(CommandError)
    const e = err as CommandError
    expect(e.code).toBe(1)
    expect(e.stderr.trim()).toBe(
      'vouch: missing system packages; run as root: apt-get update && apt-get install -y --no-install-recommends swtpm swtpm-tools tpm2-tools xxd openssl chromium postgresql',
    )
  })
})
