// The tile scheduler's candidate evaluation, one invocation per (problem, candidate), then a reduction
// per problem. The exact twin of src/accel/tiled.ts: unsigned 32-bit counts that saturate at 2^32 - 1,
// and exact scores (cycles, DRAM traffic in width units, 64-bit energy in femtojoules, or 96-bit energy x cycles).

struct Problem {
  P: u32, K: u32, M: u32, ofmap_w: u32,
  ifmap_h: u32, ifmap_w: u32, filter_h: u32, filter_w: u32,
  stride_h: u32, stride_w: u32, channels: u32, rows: u32,
  cols: u32, dataflow: u32, ifmap_words: u32, filter_words: u32,
  ofmap_words: u32, bandwidth_per16: u32, sparse_n: u32, sparse_m: u32,
  candidates: u32, first: u32,
  // Widths in units (src/accel/widths.ts) and energy weights in femtojoules (per MAC, register-file
  // access, SRAM unit, DRAM unit) of this layer.
  activation_units: u32, weight_units: u32, psum_units: u32,
  w_mac: u32, w_rf: u32, w_sram: u32, w_dram: u32, output_units: u32,
}

struct Params { problems: u32, objective: u32 }

override WRITE_COUNTS: bool = false; // also write every candidate's counts (tests compare them with the CPU)
const COUNT_FIELDS: u32 = 24u;
const MAX: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> problems: array<Problem>;
@group(0) @binding(2) var<storage, read_write> scores: array<u32>;  // 3 limbs per candidate, most significant first
@group(0) @binding(3) var<storage, read_write> counts: array<u32>;  // COUNT_FIELDS per candidate
@group(0) @binding(4) var<storage, read_write> best: array<u32>;    // per problem: index, 3 score limbs

fn mul_s(a: u32, b: u32) -> u32 {
  if (a == 0u || b == 0u) { return 0u; }
  if (a > MAX / b) { return MAX; }
  return a * b;
}
fn add_s(a: u32, b: u32) -> u32 { let s = a + b; return select(s, MAX, s < a); }
fn sub_floor(a: u32, b: u32) -> u32 { return select(0u, a - b, a > b); }
fn cdiv(a: u32, b: u32) -> u32 { return a / b + select(0u, 1u, a % b != 0u); }
fn ceil_log2(x: u32) -> u32 { if (x <= 1u) { return 0u; } return 32u - countLeadingZeros(x - 1u); }

// Tile sizes 2^i, then array_dim * 2^j when array_dim is not a power of two (else those repeat 2^i).
fn size_count(extent: u32, array_dim: u32) -> vec2<u32> {
  let power_of_two = (array_dim & (array_dim - 1u)) == 0u;
  return vec2<u32>(ceil_log2(extent) + 1u, select(ceil_log2(cdiv(extent, array_dim)) + 1u, 0u, power_of_two));
}
fn size_at(extent: u32, array_dim: u32, index: u32) -> u32 {
  let powers = size_count(extent, array_dim).x;
  if (index < powers) { return min(extent, 1u << index); }
  return min(extent, mul_s(array_dim, 1u << (index - powers)));
}

// Array extent each GEMM dimension (p, k, m) maps onto: os (rows, 1, cols), ws (1, rows, cols), is (cols, rows, 1).
fn array_dims(q: Problem) -> vec3<u32> {
  if (q.dataflow == 0u) { return vec3<u32>(q.rows, 1u, q.cols); }
  if (q.dataflow == 1u) { return vec3<u32>(1u, q.rows, q.cols); }
  return vec3<u32>(q.cols, q.rows, 1u);
}

fn ifmap_tile_words(q: Problem, tp: u32, tk: u32) -> u32 {
  let taps = q.filter_h * q.filter_w;
  let channels = min(q.channels, cdiv(tk, taps));
  let wo = q.ofmap_w;
  var rows = q.filter_h;
  var cols = min(q.ifmap_w, (min(tp, wo) - 1u) * q.stride_w + q.filter_w);
  if (tp >= wo) {
    rows = min(q.ifmap_h, (cdiv(tp, wo) - 1u) * q.stride_h + q.filter_h);
    cols = min(q.ifmap_w, (wo - 1u) * q.stride_w + q.filter_w);
  }
  return min(mul_s(tp, tk), mul_s(mul_s(rows, cols), channels));
}

// Loop orders (outermost first) as dimension ids p = 0, k = 1, m = 2: pkm pmk kpm kmp mpk mkp.
fn loop_dim(order: u32, level: u32) -> u32 {
  let table = array<u32, 18>(0u, 1u, 2u, 0u, 2u, 1u, 1u, 0u, 2u, 1u, 2u, 0u, 2u, 0u, 1u, 2u, 1u, 0u);
  return table[order * 3u + level];
}

// Product of trip counts of loops the operand does not use, outside its innermost used loop.
fn refetch(order: u32, trips: vec3<u32>, uses: u32) -> u32 {
  var innermost = -1;
  for (var i = 0; i < 3; i++) { if (((uses >> loop_dim(order, u32(i))) & 1u) != 0u) { innermost = i; } }
  var f = 1u;
  for (var i = 0; i < innermost; i++) {
    let d = loop_dim(order, u32(i));
    if (((uses >> d) & 1u) == 0u) { f = mul_s(f, trips[d]); }
  }
  return f;
}

struct Tile { cycles: u32, folds: u32, used: u32, ifmap_reads: u32, filter_reads: u32, psum: u32 }

fn tile_compute(q: Problem, tp: u32, tk: u32, tm: u32) -> Tile {
  var s = vec3<u32>(tk, tp, tm);              // is: (Sr, Sc, T)
  if (q.dataflow == 0u) { s = vec3<u32>(tp, tm, tk); }
  if (q.dataflow == 1u) { s = vec3<u32>(tk, tm, tp); }
  let row_folds = cdiv(s.x, q.rows);
  let col_folds = cdiv(s.y, q.cols);
  let folds = mul_s(row_folds, col_folds);
  let per_fold = select(max(s.z, q.rows), s.z, q.dataflow == 0u);
  let cycles = add_s(mul_s(folds, per_fold), q.rows + q.cols - 2u);
  var ifmap_reads = mul_s(mul_s(tp, tk), cdiv(tm, q.cols));
  if (q.dataflow == 2u) { ifmap_reads = mul_s(tk, tp); }
  var filter_reads = mul_s(mul_s(tm, tk), cdiv(tp, q.cols));
  if (q.dataflow == 0u) { filter_reads = mul_s(mul_s(tk, tm), cdiv(tp, q.rows)); }
  if (q.dataflow == 1u) { filter_reads = mul_s(tk, tm); }
  let psum = mul_s(mul_s(tp, tm), select(row_folds, 1u, q.dataflow == 0u));
  return Tile(cycles, folds, mul_s(s.x, s.y), ifmap_reads, filter_reads, psum);
}

struct Counts {
  fits: u32, compute_cycles: u32, dram_cycles: u32, prologue_cycles: u32, stall_cycles: u32, cycles: u32,
  used_pe_folds: u32, folds: u32, macs: u32, register_file: u32,
  sram_ifmap_reads: u32, sram_filter_reads: u32, sram_ofmap_reads: u32, sram_ofmap_writes: u32,
  sram_ifmap_writes: u32, sram_filter_writes: u32,
  dram_ifmap_reads: u32, dram_filter_reads: u32, dram_ofmap_reads: u32, dram_ofmap_writes: u32,
}

// DRAM traffic in width units: inputs at the activation width, weights at theirs, the final outputs at the
// output width and spilled partial sums at theirs.
fn dram_units(q: Problem, c: Counts) -> u32 {
  let outputs = mul_s(q.P, q.M);
  let spilled = add_s(c.dram_ofmap_reads, sub_floor(c.dram_ofmap_writes, outputs));
  return add_s(add_s(mul_s(c.dram_ifmap_reads, q.activation_units), mul_s(c.dram_filter_reads, q.weight_units)), add_s(mul_s(spilled, q.psum_units), mul_s(outputs, q.output_units)));
}

fn sram_units(q: Problem, c: Counts) -> u32 {
  return add_s(add_s(mul_s(add_s(c.sram_ifmap_reads, c.sram_ifmap_writes), q.activation_units), mul_s(add_s(c.sram_filter_reads, c.sram_filter_writes), q.weight_units)), mul_s(add_s(c.sram_ofmap_reads, c.sram_ofmap_writes), q.psum_units));
}

fn evaluate_candidate(q: Problem, tp: u32, tk: u32, tm: u32, order: u32) -> Counts {
  var c: Counts;
  let k_eff = cdiv(mul_s(q.K, q.sparse_n), q.sparse_m);
  let tk_eff = cdiv(mul_s(tk, q.sparse_n), q.sparse_m);
  let if_tile = ifmap_tile_words(q, tp, tk);
  c.fits = select(0u, 1u, mul_s(2u, if_tile) <= q.ifmap_words && mul_s(2u, mul_s(tk_eff, tm)) <= q.filter_words && mul_s(2u, mul_s(tp, tm)) <= q.ofmap_words);
  let trips = vec3<u32>(cdiv(q.P, tp), cdiv(q.K, tk), cdiv(q.M, tm));
  // Full tiles and the ragged remainder along each dimension: 2 x 2 x 2 combinations.
  var psum = 0u;
  for (var combo = 0u; combo < 8u; combo++) {
    let rp = (combo & 4u) != 0u; let rk = (combo & 2u) != 0u; let rm = (combo & 1u) != 0u;
    let p = select(tp, q.P % tp, rp); let np = select(q.P / tp, select(0u, 1u, q.P % tp != 0u), rp);
    let k = select(tk, q.K % tk, rk); let nk = select(q.K / tk, select(0u, 1u, q.K % tk != 0u), rk);
    let m = select(tm, q.M % tm, rm); let nm = select(q.M / tm, select(0u, 1u, q.M % tm != 0u), rm);
    let n = mul_s(mul_s(np, nk), nm);
    if (n != 0u) {
      let t = tile_compute(q, p, cdiv(mul_s(k, q.sparse_n), q.sparse_m), m);
      c.compute_cycles = add_s(c.compute_cycles, mul_s(n, t.cycles));
      c.used_pe_folds = add_s(c.used_pe_folds, mul_s(n, t.used));
      c.folds = add_s(c.folds, mul_s(n, t.folds));
      c.sram_ifmap_reads = add_s(c.sram_ifmap_reads, mul_s(n, t.ifmap_reads));
      c.sram_filter_reads = add_s(c.sram_filter_reads, mul_s(n, t.filter_reads));
      psum = add_s(psum, mul_s(n, t.psum));
    }
  }
  let outputs = mul_s(q.P, q.M);
  c.dram_ifmap_reads = mul_s(mul_s(mul_s(trips.x, trips.y), if_tile), refetch(order, trips, 3u));
  c.dram_filter_reads = mul_s(mul_s(k_eff, q.M), refetch(order, trips, 6u));
  let spills = refetch(order, trips, 5u);
  c.dram_ofmap_writes = mul_s(outputs, spills);
  c.dram_ofmap_reads = mul_s(outputs, spills - 1u);
  c.dram_cycles = cdiv(mul_s(dram_units(q, c), 16u), q.bandwidth_per16);
  c.prologue_cycles = cdiv(mul_s(add_s(mul_s(if_tile, q.activation_units), mul_s(mul_s(tk_eff, tm), q.weight_units)), 16u), q.bandwidth_per16);
  c.stall_cycles = sub_floor(c.dram_cycles, c.compute_cycles);
  c.cycles = add_s(add_s(c.prologue_cycles, c.compute_cycles), c.stall_cycles);
  c.macs = mul_s(mul_s(q.P, k_eff), q.M);
  c.register_file = mul_s(3u, c.macs);
  c.sram_ofmap_writes = add_s(psum, c.dram_ofmap_reads);
  c.sram_ofmap_reads = add_s(sub_floor(psum, outputs), c.dram_ofmap_writes);
  c.sram_ifmap_writes = c.dram_ifmap_reads;
  c.sram_filter_writes = c.dram_filter_reads;
  return c;
}

// 64-bit and 96-bit unsigned arithmetic on u32 limbs (most significant first).
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = p01 + p10;
  let mid_carry = select(0u, 1u, mid < p01);
  let lo = p00 + (mid << 16u);
  let lo_carry = select(0u, 1u, lo < p00);
  return vec2<u32>(p11 + (mid >> 16u) + (mid_carry << 16u) + lo_carry, lo);
}
fn add64(x: vec2<u32>, y: vec2<u32>) -> vec2<u32> {
  let lo = x.y + y.y;
  return vec2<u32>(x.x + y.x + select(0u, 1u, lo < x.y), lo);
}
fn mul96(x: vec2<u32>, c: u32) -> vec3<u32> {
  let low = mul_wide(x.y, c);
  let high = mul_wide(x.x, c);
  let mid = high.y + low.x;
  return vec3<u32>(high.x + select(0u, 1u, mid < high.y), mid, low.y);
}
fn less96(a: vec3<u32>, b: vec3<u32>) -> bool {
  if (a.x != b.x) { return a.x < b.x; }
  if (a.y != b.y) { return a.y < b.y; }
  return a.z < b.z;
}

// Objectives: 0 latency, 1 energy, 2 energy-delay product, 3 DRAM traffic.
fn score(q: Problem, c: Counts) -> vec3<u32> {
  if (c.fits == 0u) { return vec3<u32>(MAX, MAX, MAX); }
  if (params.objective == 0u) { return vec3<u32>(0u, 0u, c.cycles); }
  let dram = dram_units(q, c);
  if (params.objective == 3u) { return vec3<u32>(0u, 0u, dram); }
  var energy = mul_wide(c.macs, q.w_mac);
  energy = add64(energy, mul_wide(c.register_file, q.w_rf));
  energy = add64(energy, mul_wide(sram_units(q, c), q.w_sram));
  energy = add64(energy, mul_wide(dram, q.w_dram));
  if (params.objective == 1u) { return vec3<u32>(0u, energy.x, energy.y); }
  return mul96(energy, c.cycles);
}

@compute @workgroup_size(64)
fn evaluate(@builtin(global_invocation_id) gid: vec3<u32>) {
  let index = gid.x;
  let problem = gid.y;
  if (problem >= params.problems) { return; }
  let q = problems[problem];
  if (index >= q.candidates) { return; }
  let d = array_dims(q);
  let nk = dot(size_count(q.K, d.y), vec2<u32>(1u, 1u));
  let nm = dot(size_count(q.M, d.z), vec2<u32>(1u, 1u));
  let order = index % 6u;
  let rest = index / 6u;
  let tm = size_at(q.M, d.z, rest % nm);
  let tk = size_at(q.K, d.y, (rest / nm) % nk);
  let tp = size_at(q.P, d.x, rest / (nm * nk));
  let c = evaluate_candidate(q, tp, tk, tm, order);
  let s = score(q, c);
  let at = q.first + index;
  scores[at * 3u] = s.x; scores[at * 3u + 1u] = s.y; scores[at * 3u + 2u] = s.z;
  if (WRITE_COUNTS) {
    let o = at * COUNT_FIELDS;
    counts[o] = c.fits; counts[o + 1u] = c.compute_cycles; counts[o + 2u] = c.dram_cycles; counts[o + 3u] = c.prologue_cycles;
    counts[o + 4u] = c.stall_cycles; counts[o + 5u] = c.cycles; counts[o + 6u] = c.used_pe_folds; counts[o + 7u] = c.folds;
    counts[o + 8u] = c.macs; counts[o + 9u] = c.register_file; counts[o + 10u] = c.sram_ifmap_reads; counts[o + 11u] = c.sram_filter_reads;
    counts[o + 12u] = c.sram_ofmap_reads; counts[o + 13u] = c.sram_ofmap_writes; counts[o + 14u] = c.sram_ifmap_writes;
    counts[o + 15u] = c.sram_filter_writes; counts[o + 16u] = c.dram_ifmap_reads; counts[o + 17u] = c.dram_filter_reads;
    counts[o + 18u] = c.dram_ofmap_reads; counts[o + 19u] = c.dram_ofmap_writes;
  }
}

var<workgroup> best_score: array<vec3<u32>, 64>;
var<workgroup> best_index: array<u32, 64>;

// One workgroup per problem: the lowest score, the lowest index among equals.
@compute @workgroup_size(64)
fn reduce(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let problem = wid.x + wid.y * 65535u;
  let valid = problem < params.problems;
  var mine = vec3<u32>(MAX, MAX, MAX);
  var mine_index = MAX;
  if (valid) {
    let q = problems[problem];
    for (var i = t; i < q.candidates; i += 64u) {
      let at = q.first + i;
      let s = vec3<u32>(scores[at * 3u], scores[at * 3u + 1u], scores[at * 3u + 2u]);
      if (less96(s, mine) || mine_index == MAX) { mine = s; mine_index = i; }
    }
  }
  best_score[t] = mine;
  best_index[t] = mine_index;
  for (var half = 32u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (t < half) {
      let o = best_score[t + half];
      let oi = best_index[t + half];
      if (less96(o, best_score[t]) || (!less96(best_score[t], o) && oi < best_index[t])) {
        best_score[t] = o;
        best_index[t] = oi;
      }
    }
  }
  if (t == 0u && valid) {
    best[problem * 4u] = best_index[0]; best[problem * 4u + 1u] = best_score[0].x;
    best[problem * 4u + 2u] = best_score[0].y; best[problem * 4u + 3u] = best_score[0].z;
  }
}
