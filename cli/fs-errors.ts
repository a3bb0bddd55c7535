/** File system errors in words, for the one-line messages of the `vouch` command. */
const ERRNO: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a path component is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
}

/** `no such file or directory` for an ENOENT, the message of any other error; never a stack. */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? (ERRNO[code] ?? code) : e instanceof Error ? e.message : String(e)
}

/** True for an error Node's fs raised about a path (ENOENT on open, EACCES, ...). */
export function isFsError(e: unknown): e is NodeJS.ErrnoException & { path: string; syscall: string } {
  const x = e as NodeJS.ErrnoException | undefined
  return typeof x?.code === 'string' && typeof x.path === 'string' && typeof x.syscall === 'string'
}
