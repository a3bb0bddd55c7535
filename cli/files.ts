import { readFileSync } from 'node:fs'
import { parsePemBlocks } from '../core/bytes/pem.ts'
import { UsageError } from './args.ts'
import { describeFsError } from './fs-errors.ts'

/** Reads a file for a command; an unreadable file is ERR_FILE_UNREADABLE (exit 2) naming the path. */
export function readInput(path: string, what = 'file'): Uint8Array<ArrayBuffer> {
  try {
    const b = readFileSync(path)
    return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) as Uint8Array<ArrayBuffer>
  } catch (e) {
    throw new UsageError(`read ${what} ${path}: ${describeFsError(e)}`, 'ERR_FILE_UNREADABLE')
  }
}

/** A text file (a config file): one clear line when it cannot be read. */
export function readText(path: string, what = 'file'): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new UsageError(`read ${what} ${path}: ${describeFsError(e)}`, 'ERR_FILE_UNREADABLE')
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
