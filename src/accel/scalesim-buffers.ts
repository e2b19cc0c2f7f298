// SCALE-Sim v2's double-buffered SRAMs (scalesim-project/scale-sim-v2 22f88b1, scalesim/memory/), the
// same state machines over the same demand, so that DRAM counts, their first and last cycles and the
// stalls come out as SCALE-Sim's do:
//  - ReadBuffer (read_buffer.py, InterfaceBandwidth USER): an active half the array reads and a prefetch
//    half filling behind it. The operand is fetched in its prefetch order, in lines of ceil(words / 100)
//    entries; a demanded word outside the active lines swaps the halves: the next prefetch-half of lines
//    is requested right after the previous prefetch (`bandwidth` words a cycle, whole request rows
//    counted), and the array waits for it if it is later than now.
//  - EstimatingReadBuffer (read_buffer_estimate_bw.py, CALC): never stalls; the words that miss form sets
//    of floor(words / 100); every 50 sets (the active half) are counted fetched over the cycles since the
//    last such fetch, at whatever bandwidth that takes.
//  - WriteBuffer (write_buffer.py): ofmap words pack into lines of `bandwidth` words; past half full it
//    drains its drain half over one cycle a line, and the array waits while it is full and draining.
// DRAM and SRAM traces themselves are not kept: only the counts and the cycles the reports carry.
import type { FetchOrder } from './scalesim-demand.js';

const HIT_LATENCY = 1; // cycles to serve a word already in the buffer (read_buffer.py)
const PORT_LATENCY = 1; // the DRAM read port's latency (read_port.py); writes have none (write_port.py)

export interface DramSide {
  /** Words moved, counted as SCALE-Sim counts them (whole request rows for USER reads). */
  accesses: number;
  /** Words (not idle lanes) in the last cycle served. */
  served: number;
  /** First and last cycle of its DRAM trace. */
  start: number; stop: number;
}

/** One cycle's demand: `count` words of `data` from `start`, `stride` apart (-1 idle). */
export interface DemandRow { block: Int32Array; start: number; count: number; stride: number }

export interface ReadSide extends DramSide {
  /** Serves one cycle's demand arriving at `cycle`: the cycle it is served. */
  service(d: DemandRow, cycle: number): number;
  finish(): void;
}

export class ReadBuffer implements ReadSide {
  accesses = 0; start = 0; stop = 0; served = 0;
  private readonly active: number; private readonly prefetch: number;
  private readonly lines: number; private readonly activeLines: number; private readonly prefetchLines: number;
  private readonly fetchRows: number;
  /** Per address (CSR): the sorted lines of the fetch order that hold it. */
  private readonly first: Int32Array; private readonly lineOf: Int32Array;
  private startLine = 0; private endLine = 0; private lastPrefetch = -1; private started = false;

  constructor(words: number, private readonly bandwidth: number, fetch: FetchOrder, addresses: number) {
    this.active = Math.ceil(words * 0.5);
    this.prefetch = words - this.active;
    const perLine = Math.ceil(words / 100);
    let valid = 0;
    for (const a of fetch.order) if (a !== -1) valid++;
    this.lines = Math.floor(valid / perLine) + 1; // the last line may be empty, as SCALE-Sim's is
    this.activeLines = Math.min(this.lines, Math.ceil(this.active / perLine));
    this.prefetchLines = Math.min(this.lines - this.activeLines, Math.ceil(this.prefetch / perLine));
    this.fetchRows = Math.ceil(fetch.size / bandwidth);
    this.endLine = this.activeLines;
    const count = new Int32Array(addresses + 1);
    const lastLine = new Int32Array(addresses).fill(-1);
    if (this.activeLines < this.lines) {
      let j = 0;
      for (const a of fetch.order) {
        if (a === -1) continue;
        const line = Math.floor(j++ / perLine);
        if (lastLine[a] !== line) { lastLine[a] = line; count[a + 1]++; }
      }
      for (let a = 0; a < addresses; a++) count[a + 1] += count[a];
    }
    this.first = count;
    this.lineOf = new Int32Array(count[addresses]);
    if (this.activeLines < this.lines) {
      const next = count.slice(0, addresses);
      lastLine.fill(-1);
      let j = 0;
      for (const a of fetch.order) {
        if (a === -1) continue;
        const line = Math.floor(j++ / perLine);
        if (lastLine[a] !== line) { lastLine[a] = line; this.lineOf[next[a]++] = line; }
      }
    }
  }

  /** Whether a line holding `a` is among the active lines [startLine, endLine), which wrap around. */
  private hit(a: number): boolean {
    if (this.activeLines === this.lines) return true;
    const lo = this.first[a], hi = this.first[a + 1];
    if (lo === hi) throw new Error(`internal: scalesim read buffer: address ${a} is demanded but never fetched`);
    const s = this.startLine, e = this.endLine;
    if (s >= e) return this.lineOf[hi - 1] >= s || this.lineOf[lo] < e;
    let l = lo, h = hi; // first line >= s
    while (l < h) {
      const mid = (l + h) >> 1;
      if (this.lineOf[mid] < s) l = mid + 1; else h = mid;
    }
    return l < hi && this.lineOf[l] < e;
  }

  private swap(): void {
    this.startLine = (this.startLine + this.prefetchLines) % this.lines;
    this.endLine = (this.startLine + this.activeLines) % this.lines;
    const rows = Math.ceil(this.prefetch / this.bandwidth);
    this.accesses += rows * this.bandwidth;
    // Requested the cycle after the last prefetch's response, a row a cycle, plus the port's latency.
    this.lastPrefetch += rows + PORT_LATENCY;
    this.stop = this.lastPrefetch;
  }

  service(d: DemandRow, cycle: number): number {
    if (!this.started) {
      // The active half is filled before the first demand: its rows end the cycle before `cycle`.
      const rows = Math.min(Math.ceil(this.active / this.bandwidth), this.fetchRows);
      this.accesses += rows * this.bandwidth;
      this.start = cycle - rows;
      this.stop = this.lastPrefetch = cycle - 1;
      this.started = true;
    }
    let wait = HIT_LATENCY;
    this.served = 0;
    for (let k = 0, i = d.start; k < d.count; k++, i += d.stride) {
      const a = d.block[i];
      if (a === -1) continue;
      this.served++;
      for (let guard = 0; !this.hit(a); guard++) {
        if (guard > this.lines) throw new Error(`internal: scalesim read buffer: address ${a} never becomes active`);
        this.swap();
        wait = Math.max(wait, this.lastPrefetch - cycle);
      }
    }
    return cycle + wait;
  }

  finish(): void {}
}

export class EstimatingReadBuffer implements ReadSide {
  accesses = 0; start = 0; stop = 0; served = 0;
  private static readonly ACTIVE_SETS = 50; // int(active_buf_frac 0.5 * 100)
  private static readonly PREFETCH_SETS = 50;
  private readonly perSet: number;
  /** Per address: the last set it joined (-1: none). */
  private readonly setOf: Int32Array;
  private readonly setSizes: number[] = [];
  private current = 0; private inCurrent = 0;
  private readStart = 0; private readEnd = EstimatingReadBuffer.ACTIVE_SETS - 1;
  private prefetchStart = 0; private prefetchEnd = 0;
  private lastStart = -2; private lastEnd = -1;
  private firstRequest = 0; private seen = false; private activeFilled = false; private traced = false;

  constructor(words: number, private readonly bandwidth: number, addresses: number) {
    this.perSet = Math.floor(words / 100);
    if (this.perSet < 1) throw new Error(`scalesim mode: an SRAM of ${words} words is below SCALE-Sim's 100 sets`);
    this.setOf = new Int32Array(addresses).fill(-1);
  }

  service(d: DemandRow, cycle: number): number {
    this.served = 0;
    for (let k = 0, i = d.start; k < d.count; k++, i += d.stride) {
      const a = d.block[i];
      if (a === -1) continue;
      this.served++;
      if (!this.seen) { this.firstRequest = cycle; this.seen = true; }
      this.request(cycle, a);
    }
    return cycle + HIT_LATENCY;
  }

  private request(cycle: number, a: number): void {
    const set = this.setOf[a];
    if (set >= this.readStart && set < Math.min(this.current, this.readEnd + 1)) return; // in the active sets
    if (set === this.current) return;
    this.setOf[a] = this.current;
    if (++this.inCurrent < this.perSet) return;
    this.setSizes[this.current++] = this.inCurrent;
    this.inCurrent = 0;
    if (this.current !== this.readEnd + 1) return;
    const { ACTIVE_SETS, PREFETCH_SETS } = EstimatingReadBuffer;
    if (!this.activeFilled) {
      // The active sets, fetched at the default bandwidth just before the first request.
      this.lastEnd = this.firstRequest - 1 - PORT_LATENCY;
      this.lastStart = this.lastEnd - Math.ceil((PREFETCH_SETS * this.perSet) / this.bandwidth) + 1;
      this.fetch(0, ACTIVE_SETS - 1);
      this.prefetchStart = this.readEnd + 1;
      this.prefetchEnd = this.prefetchStart + PREFETCH_SETS - 1;
      this.activeFilled = true;
    } else {
      this.fetch(this.prefetchStart, this.prefetchEnd);
      this.prefetchStart += PREFETCH_SETS;
      this.prefetchEnd += PREFETCH_SETS;
    }
    this.readStart += PREFETCH_SETS;
    this.readEnd += PREFETCH_SETS;
    this.lastStart = this.lastEnd + 1;
    this.lastEnd = cycle;
  }

  /** Counts sets [from, to] fetched over cycles lastStart..lastEnd (responses a port latency later). */
  private fetch(from: number, to: number): void {
    for (let s = from; s <= to; s++) this.accesses += this.setSizes[s] ?? 0;
    if (!this.traced) { this.start = this.lastStart + PORT_LATENCY; this.traced = true; }
    this.stop = this.lastEnd + PORT_LATENCY;
  }

  finish(): void {
    if (this.inCurrent > 0) this.setSizes[this.current] = this.inCurrent;
    else this.current--;
    if (!this.activeFilled) {
      this.lastEnd = -1 - PORT_LATENCY;
      this.lastStart = this.lastEnd - Math.ceil(((this.current + 1) * this.perSet) / this.bandwidth) + 1;
      this.fetch(0, this.current);
    } else {
      this.fetch(this.prefetchStart, this.current);
    }
  }
}

export class WriteBuffer implements DramSide {
  accesses = 0; start = 0; stop = 0; served = 0;
  private readonly active: number; private readonly drain: number;
  private free: number;
  /** Words in each line handed to the drain queue; the line being packed holds `packing`. */
  private readonly lines: number[] = [];
  private packing = 0; private drained = 0; private drainEnd = 0; private traced = false;

  constructor(words: number, private readonly bandwidth: number) {
    this.active = Math.ceil(words * 0.5);
    this.drain = words - this.active;
    this.free = words;
  }

  /** Stores one cycle's ofmap words: the cycle the array may go on (later while the buffer is full and draining). */
  service(d: DemandRow, cycle: number): number {
    let now = cycle;
    this.served = 0;
    for (let k = 0, i = d.start; k < d.count; k++, i += d.stride) {
      if (d.block[i] === -1) continue;
      this.served++;
      this.free--;
      if (++this.packing === this.bandwidth) { this.lines.push(this.packing); this.packing = 0; }
      if (now < this.drainEnd) {
        if (this.free <= 0) now = this.drainEnd;
      } else if (this.free < this.active) {
        this.closeLine();
        this.drainEnd = this.drainLines(now);
      }
    }
    return now;
  }

  private closeLine(): void {
    if (this.packing > 0) { this.lines.push(this.packing); this.packing = 0; }
  }

  /**
   * Drains up to the drain half's lines from `start`, a line a cycle; the cycle of its last line.
   * SCALE-Sim counts every drained line as full but the last (a partly packed line inside counts whole).
   */
  private drainLines(start: number): number {
    const end = Math.min(this.drained + Math.ceil(this.drain / this.bandwidth), this.lines.length);
    const n = end - this.drained;
    const words = (n - 1) * this.bandwidth + this.lines[end - 1];
    this.accesses += words;
    this.free += words;
    if (!this.traced) { this.start = start; this.traced = true; }
    this.stop = start + n - 1;
    this.drained = end;
    return start + n - 1;
  }

  /** Drains everything left, starting at `cycle`. */
  finish(cycle: number): void {
    this.closeLine();
    while (this.drained < this.lines.length) cycle = (this.drainEnd = this.drainLines(cycle)) + 1;
  }
}
