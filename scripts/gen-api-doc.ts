/**
 * Generates docs/api.md: every export of every entry point in package.json `exports`, with its
 * signature and the first sentence of its doc comment, read from the built declarations (dist/,
 * `npm run build` first) with the TypeScript compiler API. `npx tsx scripts/gen-api-doc.ts` writes it;
 * `--check` exits 1 when docs/api.md is not what the declarations say (test/scripts/gen-api-doc.test.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import ts from 'typescript'

const ROOT = resolve(import.meta.dirname, '..')
const OUT = join(ROOT, 'docs/api.md')

interface ExportEntry {
  readonly subpath: string
  readonly specifier: string
  readonly types: string
}

/** package.json `exports`, the entries with declarations, in package.json's order */
export function entryPoints(root = ROOT): ExportEntry[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> }
  const out: ExportEntry[] = []
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target !== 'object' || target === null || !('types' in target)) continue
    out.push({ subpath, specifier: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`, types: String(target.types) })
  }
  return out
}

const FORMAT = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseFullyQualifiedType | ts.TypeFormatFlags.WriteArrowStyleSignature

function firstSentence(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  const text = ts
    .displayPartsToString(symbol.getDocumentationComment(checker))
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/\{@link(?:code|plain)?\s+([^}\s|]+)[^}]*\}/g, '`$1`')
    .replace(/\s+/g, ' ')
    .trim()
  if (text === '') return ''
  const m = /^(.*?[.:;])(\s+[A-Z`(]|$)/.exec(text)
  const sentence = (m ? m[1]! : text).replace(/[:;]$/, '.')
  return sentence.length > 240 ? `${sentence.slice(0, 237)}...` : sentence
}

function clip(s: string, max = 300): string {
  // types from other declaration files print as import("<absolute path>").Name: keep the name
  const one = s.replace(/import\("[^"]*"\)\./g, '').replace(/\s+/g, ' ')
  return one.length > max ? `${one.slice(0, max - 3)}...` : one
}

function describeSymbol(name: string, symbol: ts.Symbol, checker: ts.TypeChecker): { kind: string; signature: string } {
  const flags = symbol.flags
  const decl = symbol.declarations?.[0]
  if (flags & ts.SymbolFlags.Function) {
    const sigs = checker.getSignaturesOfType(checker.getTypeOfSymbol(symbol), ts.SignatureKind.Call)
    return { kind: 'function', signature: sigs.map((s) => `${name}${clip(checker.signatureToString(s, decl, FORMAT))}`).join('\n') }
  }
  if (flags & ts.SymbolFlags.Class) {
    const ctor = checker.getTypeOfSymbol(symbol)
    const sigs = checker.getSignaturesOfType(ctor, ts.SignatureKind.Construct)
    const params = sigs.map((s) => clip(checker.signatureToString(s, decl, FORMAT).replace(/ => .*$/, '')))
    return { kind: 'class', signature: params.length ? params.map((p) => `new ${name}${p}`).join('\n') : `class ${name}` }
  }
  if (flags & ts.SymbolFlags.Interface) {
    const type = checker.getDeclaredTypeOfSymbol(symbol)
    const members = checker.getPropertiesOfType(type).map((p) => {
      const optional = p.flags & ts.SymbolFlags.Optional ? '?' : ''
      const t = checker.getTypeOfSymbolAtLocation(p, decl ?? p.valueDeclaration!)
      const callable = p.flags & ts.SymbolFlags.Method ? checker.getSignaturesOfType(t, ts.SignatureKind.Call)[0] : undefined
      return callable
        ? `${p.name}${optional}${checker.signatureToString(callable, decl, ts.TypeFormatFlags.NoTruncation)}`
        : `${p.name}${optional}: ${checker.typeToString(checker.getNonNullableType(t), decl, ts.TypeFormatFlags.NoTruncation)}`
    })
    return { kind: 'interface', signature: clip(`interface ${name} { ${members.join('; ')} }`, 500) }
  }
  if (flags & ts.SymbolFlags.TypeAlias) {
    const d = decl as ts.TypeAliasDeclaration
    return { kind: 'type', signature: `type ${name} = ${clip(d.type.getText())}` }
  }
  if (flags & ts.SymbolFlags.Enum) return { kind: 'enum', signature: `enum ${name}` }
  if (flags & ts.SymbolFlags.Variable) {
    return { kind: 'const', signature: `const ${name}: ${clip(checker.typeToString(checker.getTypeOfSymbol(symbol), decl, FORMAT), 200)}` }
  }
  return { kind: 'export', signature: name }
}

/** docs/api.md's text, from the declarations under `root` */
export function renderApiDoc(root = ROOT): string {
  const entries = entryPoints(root)
  const files = entries.map((e) => join(root, e.types))
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: [],
    noEmit: true,
  })
  const checker = program.getTypeChecker()
  const lines: string[] = [
    '# vouch API',
    '',
    '<!-- generated by scripts/gen-api-doc.ts from the built declarations (dist/): `npm run build && npx tsx scripts/gen-api-doc.ts`; do not edit -->',
    '',
    'Every export of every entry point, with its signature and the first sentence of its documentation.',
    'The signatures are those of the declarations the package ships. Runtime notes and import lines: [runtimes.md](runtimes.md).',
    'Error codes: [errors.md](errors.md).',
    '',
    ...entries.map((e) => `- [\`${e.specifier}\`](#${e.specifier.replace(/[^a-z0-9]+/g, '').toLowerCase()})`),
    '',
  ]
  for (const entry of entries) {
    const source = program.getSourceFile(join(root, entry.types))
    if (!source) throw new Error(`gen-api-doc: ${entry.types} not found (run npm run build)`)
    const moduleSymbol = checker.getSymbolAtLocation(source)
    const exports = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : []
    lines.push(`## ${entry.specifier}`, '')
    const moduleDoc = /^\/\/ (.*)$/m.exec(readFileSync(join(root, entry.types), 'utf8').split('\n').slice(0, 3).join('\n'))
    if (moduleDoc && entry.subpath === '.') lines.push(moduleDoc[1]!, '')
    const named = exports.filter((s) => s.name !== 'default').sort((a, b) => a.name.localeCompare(b.name))
    const importLine =
      named.length > 0
        ? `import { ${named
            .slice(0, 3)
            .map((s) => s.name)
            .join(', ')}${named.length > 3 ? ', ...' : ''} } from '${entry.specifier}'`
        : ''
    const hasDefault = exports.some((s) => s.name === 'default')
    lines.push('```ts', hasDefault ? `import kernels from '${entry.specifier}'` : importLine, '```', '')
    for (const exported of [...exports].sort((a, b) => a.name.localeCompare(b.name))) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      const { kind, signature } = describeSymbol(exported.name, symbol, checker)
      const doc = firstSentence(symbol, checker)
      lines.push(`### \`${exported.name}\` (${kind})`, '', '```ts', signature, '```', '')
      if (doc) lines.push(doc, '')
    }
  }
  return `${lines.join('\n').trimEnd()}\n`
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('gen-api-doc.ts')) {
  const text = renderApiDoc()
  if (process.argv.includes('--check')) {
    const current = readFileSync(OUT, 'utf8')
    if (current !== text) {
      console.error('docs/api.md is stale: run `npm run build && npx tsx scripts/gen-api-doc.ts`')
      process.exit(1)
    }
  } else {
    writeFileSync(OUT, text)
    console.log(`docs/api.md written (${text.split('\n### ').length - 1} exports)`)
  }
}
