// Linear memory for callers: one growable scratch region after the static data.

/** Returns a 16-byte-aligned pointer to `size` writable bytes (the same region on every call). */
export function scratch(size: u32): usize {
  const base = (__heap_base + 15) & ~(<usize>15)
  const need = base + <usize>size
  const have = (<usize>memory.size()) << 16
  if (need > have) {
    const pages = <i32>((need - have + 0xffff) >>> 16)
    if (memory.grow(pages) < 0) unreachable()
  }
  return base
}
