/**
 * The entry store contract (server/registry/entry-store.ts), one suite run against both backends:
 * SQLite (entries.ts) and a real PostgreSQL (entries-pg.ts; skipped with the reason where it is
 * missing). Concurrency runs on several handles of one database, each with its own connection, as
 * replicas would: creations racing past a bound or on the same entry.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isVerifyError } from '../../../core/errors.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { checkEntryInput, type EntrySpec, MAX_SELECTOR_LENGTH, MAX_SELECTORS } from '../../../server/entries/validate.ts'
import { AgentRegistry } from '../../../server/registry/registry.ts'
import type { EntryStore, EntryStoreOptions } from '../../../server/registry/entry-store.ts'
import { backends } from '../../support/registry-backends.ts'

const TD = 'example.org'
const spec = (input: Parameters<typeof checkEntryInput>[0]) => checkEntryInput(input, TD)
const A1 = 'spiffe://example.org/agent/1'

/** The error code a rejected promise (or throw) carries. */
async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f()
  } catch (e) {
    return isVerifyError(e) ? e.code : `not a VerifyError: ${(e as Error).message}`
  }
  return 'no error'
}

describe.each(backends())('entry store on $name', (backend) => {
  const open: { close(): Promise<void> }[] = []
  beforeAll(async () => {
    if (!backend.missing) await backend.setup()
  })
  afterAll(async () => {
    for (const o of open) await o.close().catch(() => undefined)
    backend.teardown()
  })
  /** a handle on the database at `where`, closed after the suite */
  const handle = async (where: string, options?: EntryStoreOptions): Promise<EntryStore> => {
    const h = await backend.openEntries(where, options)
    open.push(h)
    return h.entries
  }

  it.skipIf(backend.missing)(
    'creates, gets, lists, deletes; survives reopening; lists per agent by ID and by selector subset',
    async () => {
      const where = await backend.fresh()
      const store = await handle(where)
      const a = await store.create(spec({ spiffeId: 'spiffe://example.org/a', parentId: A1, selectors: ['unix:uid:1'] }), 1000)
      const b = await store.create(
        spec({
          spiffeId: 'spiffe://example.org/b',
          parentSelectors: ['tpm_devid:subject:cn:h1'],
          selectors: ['unix:uid:2'],
          dnsNames: ['b.example.org'],
          x509SvidTtlSeconds: 600,
          jwtSvidTtlSeconds: 120,
        }),
        Date.UTC(2026, 11, 6),
      )
      expect(a.id).toMatch(/^[0-9a-f]{32}$/)
      expect(a.id).not.toBe(b.id)
      expect(await store.get(a.id)).toEqual(a)
      expect(await store.get(b.id)).toEqual({ ...b, x509SvidTtlSeconds: 600, jwtSvidTtlSeconds: 120, createdAt: Date.UTC(2026, 11, 6) })
      expect(await store.get('not-an-id')).toBeUndefined()
      expect(await store.get('0'.repeat(32))).toBeUndefined()
      const reopened = await handle(where)
      expect(await reopened.list()).toEqual([a, b])
      expect((await reopened.listForAgent(A1, [])).map((e) => e.id)).toEqual([a.id])
      expect(
        (await reopened.listForAgent('spiffe://example.org/agent/2', ['tpm_devid:subject:cn:h1', 'tpm:pub_hash:x'])).map((e) => e.id),
      ).toEqual([b.id])
      expect((await reopened.listForAgent(A1, ['tpm_devid:subject:cn:h1'])).map((e) => e.id)).toEqual([a.id, b.id])
      expect(await reopened.listForAgent('spiffe://example.org/agent/3', ['tpm_devid:subject:cn:h2'])).toEqual([])
      expect(await reopened.delete(a.id)).toBe(true)
      expect(await reopened.delete(a.id)).toBe(false)
      expect(await reopened.delete('not-an-id')).toBe(false)
      // the first handle sees the other's deletion
      expect(await store.list()).toEqual([b])
      expect(await store.get(a.id)).toBeUndefined()
    },
  )

  it.skipIf(backend.missing)('lists in byte order of SPIFFE ID then ID, whatever the database collation', async () => {
    const store = await handle(await backend.fresh())
    const ids = [
      'spiffe://example.org/b',
      'spiffe://example.org/B',
      'spiffe://example.org/a-1',
      'spiffe://example.org/a_1',
      'spiffe://example.org/a.1',
    ]
    for (const spiffeId of ids) await store.create(spec({ spiffeId, parentId: A1, selectors: ['unix:uid:1'] }), 0)
    const bytewise = [...ids].sort()
    expect((await store.list()).map((e) => e.spiffeId)).toEqual(bytewise)
    expect((await store.listForAgent(A1, [])).map((e) => e.spiffeId)).toEqual(bytewise)
  })

  it.skipIf(backend.missing)(
    'refuses a duplicate (same SPIFFE ID, parent, selectors), the entry past the per-parent bound and past the total bound',
    async () => {
      const store = await handle(await backend.fresh(), { maxEntriesPerParent: 5, maxEntries: 7 })
      const s = spec({ spiffeId: 'spiffe://example.org/a', parentId: A1, selectors: ['unix:uid:1'] })
      const first = await store.create(s, 0)
      try {
        await store.create(s, 0)
        expect.unreachable()
      } catch (e) {
        expect(isVerifyError(e) && e.code).toBe('ERR_ENTRY_EXISTS')
        expect((e as Error).message).toBe(`entry ${first.id} has the same spiffeId, parent and selectors`)
        expect(isVerifyError(e) && e.detail).toEqual({ id: first.id })
      }
      // the same selectors under parent selectors instead of the parent ID is another entry
      await store.create({ ...s, parentId: null, parentSelectors: ['tpm_devid:subject:cn:h1'] }, 0)
      for (let i = 1; i < 5; i++) await store.create({ ...s, selectors: [`unix:uid:${i + 1}`] }, 0)
      try {
        await store.create({ ...s, selectors: ['unix:gid:1'] }, 0)
        expect.unreachable()
      } catch (e) {
        expect(isVerifyError(e) && e.code).toBe('ERR_ENTRY_LIMIT')
        expect((e as Error).message).toBe('parent: already has 5 entries, at most 5')
      }
      // another parent is not bounded by the first one's entries
      expect((await store.create({ ...s, parentId: 'spiffe://example.org/agent/2' }, 0)).parentId).toBe('spiffe://example.org/agent/2')
      await expect(async () => store.create({ ...s, parentId: 'spiffe://example.org/agent/4' }, 0)).rejects.toThrow(
        'the registry holds 7 entries, at most 7',
      )
      expect(await store.list()).toHaveLength(7)
      // a failed creation left nothing behind, and a deletion makes room again
      expect(await store.delete(first.id)).toBe(true)
      expect((await store.create({ ...s, parentId: 'spiffe://example.org/agent/4' }, 0)).parentId).toBe('spiffe://example.org/agent/4')
    },
  )

  it.skipIf(backend.missing)('stores entries at the size bounds: a 2048-character SPIFFE ID, 32 selectors of 256 characters', async () => {
    const store = await handle(await backend.fresh())
    const text = (n: number) => randomBytes(n).toString('base64url').slice(0, n)
    const long = `spiffe://example.org/${'w'.repeat(2048 - 'spiffe://example.org/'.length)}`
    const selectors = ['unix:uid:7', ...Array.from({ length: MAX_SELECTORS - 1 }, () => `unix:path:/${text(MAX_SELECTOR_LENGTH - 11)}`)]
    const parentSelectors = Array.from({ length: MAX_SELECTORS }, () => `tpm_devid:subject:cn:${text(MAX_SELECTOR_LENGTH - 21)}`)
    expect(selectors.every((x) => x.length <= MAX_SELECTOR_LENGTH)).toBe(true)
    const big: EntrySpec = spec({ spiffeId: long, parentSelectors, selectors })
    expect(big.spiffeId).toHaveLength(2048)
    const made = await store.create(big, 0)
    expect(await store.get(made.id)).toEqual(made)
    expect(await store.listForAgent('spiffe://example.org/agent/9', parentSelectors)).toEqual([made])
    expect(await codeOf(() => store.create(big, 0))).toBe('ERR_ENTRY_EXISTS')
    const byId = await store.create({ ...big, parentId: long.replace(/w$/, 'p'), parentSelectors: [] }, 0)
    expect(await store.listForAgent(long.replace(/w$/, 'p'), [])).toEqual([byId])
  })

  it.skipIf(backend.missing)(
    'two handles creating the same entry at once: exactly one succeeds, the other gets ERR_ENTRY_EXISTS',
    async () => {
      const where = await backend.fresh()
      const stores = await Promise.all([1, 2, 3, 4].map(() => handle(where)))
      for (let round = 0; round < 5; round++) {
        const s = spec({ spiffeId: `spiffe://example.org/same/${round}`, parentId: A1, selectors: ['unix:uid:1'] })
        const codes = await Promise.all(stores.map((st) => codeOf(() => st.create(s, round))))
        expect(codes.sort()).toEqual(['ERR_ENTRY_EXISTS', 'ERR_ENTRY_EXISTS', 'ERR_ENTRY_EXISTS', 'no error'])
      }
      expect(await stores[0]!.list()).toHaveLength(5)
    },
  )

  it.skipIf(backend.missing)('handles racing past the per-parent and the total bound store exactly the bound', async () => {
    const where = await backend.fresh()
    const stores = await Promise.all([1, 2, 3, 4].map(() => handle(where, { maxEntriesPerParent: 3, maxEntries: 5 })))
    // 16 different entries under one parent, four at a time from each handle
    const perParent = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        codeOf(() => stores[i % 4]!.create(spec({ spiffeId: `spiffe://example.org/p/${i}`, parentId: A1, selectors: ['unix:uid:1'] }), i)),
      ),
    )
    expect(perParent.filter((c) => c === 'no error')).toHaveLength(3)
    expect(perParent.filter((c) => c === 'ERR_ENTRY_LIMIT')).toHaveLength(13)
    // then 16 under 16 other parents: the registry fills to 5 and no further
    const total = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        codeOf(() =>
          stores[i % 4]!.create(
            spec({ spiffeId: 'spiffe://example.org/t', parentId: `spiffe://example.org/agent/t${i}`, selectors: ['unix:uid:1'] }),
            i,
          ),
        ),
      ),
    )
    expect(total.filter((c) => c === 'no error')).toHaveLength(2)
    expect(total.filter((c) => c === 'ERR_ENTRY_LIMIT')).toHaveLength(14)
    expect(await stores[3]!.list()).toHaveLength(5)
  })
})

describe('SQLite entries beside the agents table', () => {
  it('the agents table gains the selectors column on an older database, and records them', async () => {
    const path = await backends()[0]!.fresh()
    const db = openSqliteWasm(path)
    db.exec(
      'CREATE TABLE agents (spiffe_id TEXT PRIMARY KEY, attestor_type TEXT NOT NULL, attributes TEXT NOT NULL, first_attested_at INTEGER NOT NULL, last_attested_at INTEGER NOT NULL, attestations INTEGER NOT NULL DEFAULT 1, banned INTEGER NOT NULL DEFAULT 0, svid_serial TEXT, svid_expires_at INTEGER)',
    )
    db.run(
      "INSERT INTO agents (spiffe_id, attestor_type, attributes, first_attested_at, last_attested_at) VALUES ('spiffe://example.org/old', 'tpm_devid', '{}', 1, 1)",
    )
    const registry = new AgentRegistry(db)
    expect(registry.get('spiffe://example.org/old')?.selectors).toEqual([])
    registry.recordAttestation({
      spiffeId: 'spiffe://example.org/new',
      attestorType: 'tpm_devid',
      attributes: {},
      at: 2,
      selectors: ['tpm_devid:subject:cn:x'],
    })
    expect(registry.get('spiffe://example.org/new')?.selectors).toEqual(['tpm_devid:subject:cn:x'])
    registry.close()
  })
})
