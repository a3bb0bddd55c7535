import { parseAllDocuments } from 'yaml'
import { validatePolicyDocument } from '../../core/policy/validate.ts'
import { parseArgs, UsageError, jsonOutput } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'
import { readInput } from '../files.ts'

const USAGE =
  'vouch policy check [--output json] FILE\n' +
  '  FILE  an AgentAttestation policy document (YAML or JSON)\n' +
  '  prints every problem as "<path>: <message>"; exit 1 when there is any'

export const policyCheck: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['output'] })
    const output = jsonOutput(args) ? 'json' : 'text'
    if (args.positionals.length !== 1) throw new UsageError('expected one FILE')
    const path = args.positionals[0]!
    const text = new TextDecoder().decode(readInput(path, 'policy file'))
    const docs = parseAllDocuments(text, { prettyErrors: false })
    const issues: { path: string; message: string }[] = []
    let value: unknown
    if (!Array.isArray(docs) || docs.length !== 1) {
      issues.push({ path: '$', message: `expected exactly one YAML document, found ${Array.isArray(docs) ? docs.length : 0}` })
    } else {
      const doc = docs[0]!
      for (const e of doc.errors) issues.push({ path: '$', message: `yaml: ${e.message.split('\n')[0]}` })
      if (doc.errors.length === 0) value = doc.toJS({ maxAliasCount: 100 })
    }
    let policies = 0
    if (issues.length === 0) {
      const v = validatePolicyDocument(value)
      issues.push(...v.issues)
      policies = v.policySet?.policies.length ?? 0
    }
    if (output === 'json') {
      io.out(JSON.stringify({ valid: issues.length === 0, policies, errors: issues }))
    } else if (issues.length === 0) {
      io.out(`ok: ${policies} ${policies === 1 ? 'policy' : 'policies'}`)
    } else {
      for (const i of issues) io.out(`${i.path}: ${i.message}`)
    }
    return issues.length === 0 ? EXIT_OK : EXIT_INVALID
  },
}
