/**
 * The policy without restarts: the file is reread when it changes (a watch on its directory, so
 * editors that write a new file and rename it over the old, and ConfigMap symlink swaps, are
 * seen) and on SIGHUP. A document
 * that fails validation is refused with every issue logged and the running policy stays; a valid
 * one replaces the verifier in one assignment, so each new session sees either the old set or
 * the new one (open sessions carry what they need and finish under the policy they started
 * with). The generation counts applied documents from 1; the hash is the SHA-256 of the file.
 */
import { createHash } from 'node:crypto'
import { readFileSync, watch, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'
import { parse as parseYaml } from 'yaml'
import type { AttestationVerifier } from '../../core/attestation/verifier.ts'
import type { PolicySet } from '../../core/policy/types.ts'
import { parsePolicyDocument, validatePolicyDocument } from '../../core/policy/validate.ts'
import type { Logger } from '../logging.ts'

export interface PolicyState {
  readonly generation: number
  /** SHA-256 of the policy file, hex */
  readonly sha256: string
  readonly loadedAt: number
}

export type PolicyReadResult =
  | { readonly ok: true; readonly policySet: PolicySet; readonly sha256: string }
  | { readonly ok: false; readonly sha256?: string; readonly issues: readonly { readonly path: string; readonly message: string }[] }

/** Reads and validates the policy file; never throws. */
export function readPolicyFile(path: string): PolicyReadResult {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    return {
      ok: false,
      issues: [{ path: '(file)', message: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }],
    }
  }
  const sha256 = createHash('sha256').update(text).digest('hex')
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (e) {
    return { ok: false, sha256, issues: [{ path: '(file)', message: `not valid YAML: ${(e as Error).message.split('\n')[0]}` }] }
  }
  const v = validatePolicyDocument(doc)
  return v.policySet ? { ok: true, policySet: v.policySet, sha256 } : { ok: false, sha256, issues: v.issues }
}

export interface PolicyReloaderOptions {
  readonly path: string
  readonly logger: Logger
  readonly now: () => number
  /** a verifier over a policy set (the same session store each time) */
  readonly makeVerifier: (policies: PolicySet) => AttestationVerifier
}

export class PolicyReloader {
  private current: AttestationVerifier
  private stateValue: PolicyState
  private watcher: FSWatcher | undefined
  private debounce: ReturnType<typeof setTimeout> | undefined
  private readonly onHup = () => void this.reload('SIGHUP')
  /** documents refused since start */
  failures = 0

  /** Loads the first document; throws (the server does not start) as before: read, YAML, or PolicyError ERR_POLICY_INVALID. */
  constructor(private readonly o: PolicyReloaderOptions) {
    const text = readFileSync(o.path, 'utf8')
    const policySet = parsePolicyDocument(parseYaml(text))
    this.current = o.makeVerifier(policySet)
    this.stateValue = { generation: 1, sha256: createHash('sha256').update(text).digest('hex'), loadedAt: o.now() }
  }

  get state(): PolicyState {
    return this.stateValue
  }

  /** A verifier that always delegates to the latest applied policy. */
  readonly verifier: AttestationVerifier = {
    start: (request, options) => this.current.start(request, options),
    answer: (sessionId, answers, options) => this.current.answer(sessionId, answers, options),
  }

  /**
   * Rereads the file: applies a valid document with a new hash, keeps the running one otherwise.
   * Returns 'applied', 'unchanged' or 'refused'.
   */
  reload(reason: string): 'applied' | 'unchanged' | 'refused' {
    const r = readPolicyFile(this.o.path)
    if (!r.ok) {
      this.failures++
      for (const issue of r.issues)
        this.o.logger.error('Policy refused', { reason, path: this.o.path, at: issue.path, error: issue.message })
      this.o.logger.warn('Policy unchanged', {
        reason,
        generation: this.stateValue.generation,
        sha256: this.stateValue.sha256,
        issues: r.issues.length,
      })
      return 'refused'
    }
    if (r.sha256 === this.stateValue.sha256) return 'unchanged'
    this.current = this.o.makeVerifier(r.policySet)
    this.stateValue = { generation: this.stateValue.generation + 1, sha256: r.sha256, loadedAt: this.o.now() }
    this.o.logger.info('Policy applied', {
      reason,
      generation: this.stateValue.generation,
      sha256: this.stateValue.sha256,
      policies: r.policySet.policies.length,
    })
    return 'applied'
  }

  /** Watches the file (debounced) and listens for SIGHUP. */
  watch(options: { file: boolean; sighup: boolean }): void {
    if (options.file && !this.watcher) {
      try {
        // any entry of the directory: a Kubernetes ConfigMap swaps a `..data` symlink, not the file;
        // a reload of unchanged bytes is a no-op (same hash)
        this.watcher = watch(dirname(this.o.path), () => {
          clearTimeout(this.debounce)
          this.debounce = setTimeout(() => void this.reload('file changed'), 100)
        })
        this.watcher.unref()
      } catch (e) {
        this.o.logger.warn('Policy file not watched', { path: this.o.path, error: (e as Error).message })
      }
    }
    if (options.sighup) process.on('SIGHUP', this.onHup)
  }

  close(): void {
    this.watcher?.close()
    this.watcher = undefined
    clearTimeout(this.debounce)
    process.off('SIGHUP', this.onHup)
  }
}
