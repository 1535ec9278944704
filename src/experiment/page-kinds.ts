/**
 * What lives on each page of the parent's heap, as the experiment reported it before the first
 * fork (kinds message): runs of pages by the kind of object most of a page holds. The copy map
 * looks each copied page up here to say what the copies were made of.
 */
export interface PageKinds {
  names: string[]; // e.g. records, lists, ints, module objects
  starts: Float64Array; // first page number of each run, ascending
  ends: Float64Array; // one past its last page
  kinds: Uint8Array; // index into names
}

export function pageKinds(names: string[], runs: ReadonlyArray<readonly [number, number, number]>): PageKinds {
  const sorted = [...runs].sort((a, b) => a[0] - b[0]);
  return {
    names,
    starts: Float64Array.from(sorted.map((r) => r[0])),
    ends: Float64Array.from(sorted.map((r) => r[0] + r[1])),
    kinds: Uint8Array.from(sorted.map((r) => Math.min(r[2], 255))),
  };
}

/** The kind of the page, or -1 (no sampled object starts there: interpreter state, free space, list items). */
export function kindOf(k: PageKinds, page: number): number {
  let lo = 0;
  let hi = k.starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (page < k.starts[mid]) hi = mid - 1;
    else if (page >= k.ends[mid]) lo = mid + 1;
    else return k.kinds[mid];
  }
  return -1;
}
