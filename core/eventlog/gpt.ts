// UEFI_GPT_DATA (TCG PC Client PFP §10.4.7.4): the GPT header then the partition entries in use.
import { formatGuid } from './guid.ts'
import { leReader, u64Size } from './le-reader.ts'
import { decodeUtf16le } from './text.ts'

export interface GptPartition {
  readonly typeGuid: string
  readonly uniqueGuid: string
  readonly startingLba: bigint
  readonly endingLba: bigint
  readonly name: string
}

export interface UefiGptData {
  readonly diskGuid: string
  readonly partitions: readonly GptPartition[]
}

export function parseUefiGptData(bytes: Uint8Array): UefiGptData {
  const r = leReader(bytes, 'UEFI_GPT_DATA')
  const signature = r.take(8, 'Signature')
  if (String.fromCharCode(...signature) !== 'EFI PART') throw r.error('header signature is not "EFI PART"', 0)
  r.u32('Revision')
  r.u32('HeaderSize')
  r.take(4 + 4 + 8 * 4, 'header fields')
  const diskGuid = formatGuid(r.take(16, 'DiskGUID'))
  r.take(8 + 4, 'PartitionEntryLBA, NumberOfPartitionEntries')
  const entrySize = r.u32('SizeOfPartitionEntry')
  r.u32('PartitionEntryArrayCRC32')
  if (entrySize < 128) throw r.error(`SizeOfPartitionEntry ${entrySize} is below 128`)
  const count = u64Size(r, 'NumberOfPartitions', Math.floor(r.remaining / entrySize))
  const partitions: GptPartition[] = []
  for (let i = 0; i < count; i++) {
    const e = leReader(r.take(entrySize, 'partition entry'), 'GPT partition entry')
    const typeGuid = formatGuid(e.take(16, 'PartitionTypeGUID'))
    const uniqueGuid = formatGuid(e.take(16, 'UniquePartitionGUID'))
    const startingLba = e.u64('StartingLBA')
    const endingLba = e.u64('EndingLBA')
    e.u64('Attributes')
    partitions.push({ typeGuid, uniqueGuid, startingLba, endingLba, name: decodeUtf16le(e.take(72, 'PartitionName')) })
  }
  r.expectEnd()
  return { diskGuid, partitions }
}
