// Content-defined chunking: FastCDC (Xia et al., "The Design of Fast Content-Defined Chunking
// for Data Deduplication Based Storage Systems", IEEE TPDS 2020) with normalized chunking.
// No maintained FastCDC package exists on npm for Node 24 (the WASM ports were last published in
// 2022), so this is the paper's algorithm, kept small and tested against its properties:
// boundaries depend only on nearby content (an insertion moves at most the chunks around it),
// every chunk is within [min, max] except a file's last, and the same bytes always cut the same.
//
// The rolling hash is the gear hash h = (h << 1) + G[byte] on 32 bits, so bit k of h depends on
// the last k+1 bytes: the masks test the high bits (a 32-byte window). Before the average size
// the stricter mask (more bits) makes a cut unlikely, after it the looser one makes it likely,
// which pulls chunk sizes towards the average. G is keyed per organization (keys.ts).

export interface ChunkerParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

/** restic's bounds: 512 KiB to 8 MiB around an average of 1 MiB. */
export const DEFAULT_CHUNKER: ChunkerParams = { minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 8 * 1024 * 1024 };

function highBitsMask(bits: number): number {
  return bits >= 32 ? -1 : ~((1 << (32 - bits)) - 1);
}

export function checkParams(p: ChunkerParams): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(p.avgSize) || p.minSize < 64 || p.minSize >= p.avgSize || p.maxSize <= p.avgSize) {
    throw new RangeError('chunker needs 64 <= minSize < avgSize (a power of two) < maxSize');
  }
}

/** Finds cut points in a buffer; the caller keeps the bytes (see ChunkStream in files.ts). */
export class Chunker {
  private readonly maskS: number;
  private readonly maskL: number;

  constructor(private readonly gear: Int32Array, readonly params: ChunkerParams = DEFAULT_CHUNKER) {
    checkParams(params);
    if (gear.length !== 256) throw new RangeError('gear table must have 256 entries');
    const bits = Math.log2(params.avgSize);
    this.maskS = highBitsMask(bits + 2);
    this.maskL = highBitsMask(bits - 2);
  }

  /**
   * Length of the next chunk of `buf[start, end)`. With `final` false the caller promises that
   * at least maxSize bytes are available unless the data ends, i.e. a short range is only
   * passed with final = true.
   */
  cut(buf: Uint8Array, start: number, end: number): number {
    const { minSize, avgSize, maxSize } = this.params;
    let n = end - start;
    if (n <= minSize) return n;
    if (n > maxSize) n = maxSize;
    const normal = n < avgSize ? n : avgSize;
    const gear = this.gear;
    const maskS = this.maskS;
    const maskL = this.maskL;
    let h = 0;
    let i = start + minSize;
    const normalEnd = start + normal;
    const limit = start + n;
    for (; i < normalEnd; i++) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & maskS) === 0) return i + 1 - start;
    }
    for (; i < limit; i++) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & maskL) === 0) return i + 1 - start;
    }
    return n;
  }
}
