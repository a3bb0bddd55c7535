/**
 * An in-memory WorkloadIdentitySource (agent/workload/source.ts) built from real certificates: a
 * TestCa root for the trust domain, X.509-SVIDs it issues with real P-256 keys, and a real ES256 JWT
 * authority whose public key is in the bundle. Tests rotate SVIDs and change bundles and the source
 * tells its listeners, as the identity manager does. Test support only.
 */
import { createPublicKey } from 'node:crypto'
import type {
  WorkloadBundle,
  WorkloadChange,
  WorkloadEntry,
  WorkloadIdentitySource,
  WorkloadX509Svid,
} from '../../agent/workload/source.ts'
import { type JwtAuthority, makeJwtAuthority, makeKey, mintJwtSvid, TestCa } from './spiffe-ca.ts'

export interface MemorySourceOptions {
  readonly trustDomain?: string
  readonly entries: readonly WorkloadEntry[]
  /** other trust domains' bundles, served as federated */
  readonly federated?: readonly WorkloadBundle[]
}

export function entry(id: string, spiffeId: string, selectors: readonly string[]): WorkloadEntry {
  return { id, spiffeId, selectors, dnsNames: [] }
}

export class MemorySource implements WorkloadIdentitySource {
  readonly trustDomain: string
  readonly ca: TestCa
  jwtAuthority!: JwtAuthority
  private svids: WorkloadX509Svid[] = []
  private bundleList: WorkloadBundle[] = []
  private readonly listeners = new Set<(c: WorkloadChange) => void>()
  /** how many SVIDs each entry has had (rotation count) */
  readonly generation = new Map<string, number>()
  jwtFetches = 0
  failJwt = false

  private constructor(
    private readonly options: MemorySourceOptions,
    ca: TestCa,
  ) {
    this.trustDomain = options.trustDomain ?? 'example.org'
    this.ca = ca
  }

  static async create(options: MemorySourceOptions): Promise<MemorySource> {
    const td = options.trustDomain ?? 'example.org'
    const s = new MemorySource(options, TestCa.root(td))
    s.jwtAuthority = await makeJwtAuthority('ES256', 'jwt-key-1')
    s.svids = options.entries.map((e) => s.mint(e))
    s.bundleList = [s.ownBundle(), ...(options.federated ?? [])]
    return s
  }

  /** A new X.509-SVID (fresh key) for an entry. */
  mint(entry: WorkloadEntry): WorkloadX509Svid {
    const n = (this.generation.get(entry.id) ?? 0) + 1
    this.generation.set(entry.id, n)
    const key = makeKey('p256')
    const notBefore = new Date(Date.now() - 60_000)
    const notAfter = new Date(Date.now() + 3600_000)
    const { chain } = this.ca.issue(entry.spiffeId, { key, notBefore, notAfter })
    return {
      entry,
      chain,
      privateKey: new Uint8Array(key.privateKey.export({ format: 'der', type: 'pkcs8' })),
      notBefore,
      notAfter,
    }
  }

  ownBundle(): WorkloadBundle {
    const spki = new Uint8Array(
      createPublicKey({ key: this.jwtAuthority.publicJwk as never, format: 'jwk' }).export({ format: 'der', type: 'spki' }),
    )
    return {
      trustDomain: this.trustDomain,
      x509Authorities: [this.ca.cert.der],
      jwtAuthorities: new Map([[this.jwtAuthority.kid, spki]]),
    }
  }

  /** Rotates every SVID (or the given entries') and tells the listeners. */
  rotate(entryIds?: readonly string[]): void {
    this.svids = this.svids.map((s) => (entryIds === undefined || entryIds.includes(s.entry.id) ? this.mint(s.entry) : s))
    this.emit('svids')
  }

  setEntries(entries: readonly WorkloadEntry[]): void {
    this.svids = entries.map((e) => this.svids.find((s) => s.entry.id === e.id && s.entry === e) ?? this.mint(e))
    this.emit('svids')
  }

  setFederated(federated: readonly WorkloadBundle[]): void {
    this.bundleList = [this.ownBundle(), ...federated]
    this.emit('bundles')
  }

  emit(change: WorkloadChange): void {
    for (const l of [...this.listeners]) l(change)
  }

  listenerCount(): number {
    return this.listeners.size
  }

  x509Svids(): readonly WorkloadX509Svid[] {
    return this.svids
  }

  bundles(): readonly WorkloadBundle[] {
    return this.bundleList
  }

  async fetchJwtSvid(entryId: string, audience: readonly string[]): Promise<{ spiffeId: string; token: string }> {
    this.jwtFetches++
    if (this.failJwt) throw new Error('server refused')
    const svid = this.svids.find((s) => s.entry.id === entryId)
    if (!svid) throw new Error(`no entry ${entryId}`)
    const now = Math.floor(Date.now() / 1000)
    const token = await mintJwtSvid(this.jwtAuthority, {
      claims: { sub: svid.entry.spiffeId, aud: [...audience], exp: now + 300, iat: now },
    })
    return { spiffeId: svid.entry.spiffeId, token }
  }

  onChange(listener: (change: WorkloadChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get entries(): readonly WorkloadEntry[] {
    return this.options.entries
  }
}
