import { readFileSync } from 'node:fs'
import { parsePemBlocks } from '../core/bytes/pem.ts'
import { UsageError } from './args.ts'

/** Reads a file for a command; an unreadable file is a usage error (exit 2) naming the path. */
export function readInput(path: string, what = 'file'): Uint8Array<ArrayBuffer> {
  try {
    const b = readFileSync(path)
    return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) as Uint8Array<ArrayBuffer>
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new UsageError(`read ${what} ${path}: ${code === 'ENOENT' ? 'no such file or directory' : (code ?? String(e))}`)
  }
}

/** PEM (several blocks allowed) or a single DER object: the DER of each block with `label`. */
export function readPemOrDer(path: string, label: string, what = 'file'): Uint8Array<ArrayBuffer>[] {
  const bytes = readInput(path, what)
  const text = new TextDecoder().decode(bytes.subarray(0, 64))
  if (text.includes('-----BEGIN')) {
    const blocks = parsePemBlocks(new TextDecoder().decode(bytes), path).filter((b) => b.label === label)
    if (blocks.length === 0) throw new UsageError(`${path}: no ${label} PEM blocks`)
    return blocks.map((b) => b.der)
  }
  return [bytes]
}
