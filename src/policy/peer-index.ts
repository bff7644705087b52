import type { CompiledPeer } from "./compile.js";
import type { IpFamily, IpRange } from "./ip-range.js";

type IpBlockPeer = Extract<CompiledPeer, { kind: "ipBlock" }>;

/**
 * A rule's peers arranged to find the ipBlocks that contain an address range without trying every
 * peer: a policy allowing thousands of external addresses has a peer per address, and judging
 * every observed connection through it tried them all (quadratic in the addresses). Per family,
 * the ipBlock peers sorted by the start of their block, with `reach[j]`, the largest end among
 * the first j + 1. Whether a peer matches is still the engine's call (`test`): the index only
 * leaves out blocks that cannot contain the range.
 */
export class PeerIndex {
  /** The peers that are not ipBlocks, tried one by one. */
  readonly others: readonly CompiledPeer[];
  private readonly families = new Map<IpFamily, { blocks: IpBlockPeer[]; reach: bigint[] }>();

  constructor(peers: readonly CompiledPeer[]) {
    const others: CompiledPeer[] = [];
    const blocks: IpBlockPeer[] = [];
    for (const p of peers) {
      if (p.kind === "ipBlock") blocks.push(p);
      else others.push(p);
    }
    this.others = others;
    for (const family of [4, 6] as const) {
      const own = blocks
        .filter((b) => b.block.family === family)
        .sort((a, b) => (a.block.start < b.block.start ? -1 : a.block.start > b.block.start ? 1 : 0));
      const reach: bigint[] = [];
      let farthest = -1n;
      for (const b of own) {
        if (b.block.end > farthest) farthest = b.block.end;
        reach.push(farthest);
      }
      this.families.set(family, { blocks: own, reach });
    }
  }

  /** Whether `test` holds for one of the ipBlock peers whose block contains `range`. */
  someBlockContaining(range: IpRange, test: (peer: IpBlockPeer) => boolean): boolean {
    const family = this.families.get(range.family);
    if (!family) return false;
    const { blocks, reach } = family;
    // The last block starting at or before the range; only it and those before can contain it.
    let lo = 0;
    let hi = blocks.length - 1;
    let last = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((blocks[mid] as IpBlockPeer).block.start <= range.start) {
        last = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    for (let j = last; j >= 0 && (reach[j] as bigint) >= range.end; j--) {
      const peer = blocks[j] as IpBlockPeer;
      if (peer.block.end >= range.end && test(peer)) return true;
    }
    return false;
  }
}
