/**
 * Runs the CLI's `main` in process with its output captured, and `env` set in process.env for the
 * call (variables it added are removed afterwards): for the suites that drive `vouch` commands
 * against a database named by the environment (VOUCH_DATABASE_URL).
 */
import { main } from '../../cli/main.ts'

export async function runMain(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = []
  const err: string[] = []
  const saved = { ...process.env }
  Object.assign(process.env, env)
  try {
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
    return { code, out, err }
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k]
  }
}
