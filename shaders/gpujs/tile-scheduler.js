// gpu.js kernel: the tile scheduler's candidate screening, one thread per (candidate x, problem y).
// It mirrors shaders/tile-scheduler.wgsl and src/accel/tiled.ts in float32 arithmetic, which is not
// exact past 2^24: it returns an approximate score (the host re-scores the near-best candidates exactly),
// negated when some count reaches 2^31 (where the exact u32 counts may saturate: the host re-scores
// those too), and 3e38 for candidates that do not fit or do not exist.
// problems: 30 floats per problem, in the order of src/schedulers/webgpu.ts's problemWords.
function tileScheduler(problems, objective) {
  const index = this.thread.x;
  const base = this.thread.y * 30;
  const P = problems[base];
  const K = problems[base + 1];
  const M = problems[base + 2];
  const ofmapW = problems[base + 3];
  const ifmapH = problems[base + 4];
  const ifmapW = problems[base + 5];
  const filterH = problems[base + 6];
  const filterW = problems[base + 7];
  const strideH = problems[base + 8];
  const strideW = problems[base + 9];
  const channels = problems[base + 10];
  const rows = problems[base + 11];
  const cols = problems[base + 12];
  const dataflow = problems[base + 13];
  const ifmapWords = problems[base + 14];
  const filterWords = problems[base + 15];
  const ofmapWords = problems[base + 16];
  const bandwidth = problems[base + 17];
  const sparseN = problems[base + 18];
  const sparseM = problems[base + 19];
  const candidates = problems[base + 20];
  // Widths in units (src/accel/widths.ts) and this layer's energy weights in femtojoules.
  const activationUnits = problems[base + 22];
  const weightUnits = problems[base + 23];
  const psumUnits = problems[base + 24];
  const wMac = problems[base + 25];
  const wRf = problems[base + 26];
  const wSram = problems[base + 27];
  const wDram = problems[base + 28];
  const outputUnits = problems[base + 29];
  if (index >= candidates) {
    return 3e38;
  }
  // Array extents of p, k, m: os (rows, 1, cols), ws (1, rows, cols), is (cols, rows, 1).
  let dimP = cols;
  let dimK = rows;
  let dimM = 1;
  if (dataflow === 0) {
    dimP = rows;
    dimK = 1;
    dimM = cols;
  }
  if (dataflow === 1) {
    dimP = 1;
    dimK = rows;
    dimM = cols;
  }
  const nk = sizeCount(K, dimK);
  const nm = sizeCount(M, dimM);
  const rest = Math.floor((index + 0.5) / 6);
  const order = index - rest * 6;
  const restK = Math.floor((rest + 0.5) / nm);
  const tm = sizeAt(M, dimM, rest - restK * nm);
  const restP = Math.floor((restK + 0.5) / nk);
  const tk = sizeAt(K, dimK, restK - restP * nk);
  const tp = sizeAt(P, dimP, restP);

  const kEff = cdiv(K * sparseN, sparseM);
  const tkEff = cdiv(tk * sparseN, sparseM);
  // Input words of a tile: tp output pixels by tk window taps.
  const tileChannels = Math.min(channels, cdiv(tk, filterH * filterW));
  let tileRows = filterH;
  let tileCols = Math.min(ifmapW, (Math.min(tp, ofmapW) - 1) * strideW + filterW);
  if (tp >= ofmapW) {
    tileRows = Math.min(ifmapH, (cdiv(tp, ofmapW) - 1) * strideH + filterH);
    tileCols = Math.min(ifmapW, (ofmapW - 1) * strideW + filterW);
  }
  const ifTile = Math.min(tp * tk, tileRows * tileCols * tileChannels);
  if (2 * ifTile > ifmapWords || 2 * tkEff * tm > filterWords || 2 * tp * tm > ofmapWords) {
    return 3e38;
  }
  const tripP = cdiv(P, tp);
  const tripK = cdiv(K, tk);
  const tripM = cdiv(M, tm);
  // Full tiles and the ragged remainder along each dimension: 2 x 2 x 2 combinations.
  let computeCycles = 0;
  let sramIfmap = 0;
  let sramFilter = 0;
  let psum = 0;
  for (let combo = 0; combo < 8; combo++) {
    let p = tp;
    let np = Math.floor((P + 0.5) / tp);
    if (combo >= 4) {
      p = P - np * tp;
      np = Math.min(p, 1);
    }
    const comboK = combo - Math.floor((combo + 0.5) / 4) * 4;
    let k = tk;
    let nK = Math.floor((K + 0.5) / tk);
    if (comboK >= 2) {
      k = K - nK * tk;
      nK = Math.min(k, 1);
    }
    let m = tm;
    let nM = Math.floor((M + 0.5) / tm);
    if (comboK === 1 || comboK === 3) {
      m = M - nM * tm;
      nM = Math.min(m, 1);
    }
    const n = np * nK * nM;
    if (n > 0) {
      const kTile = cdiv(k * sparseN, sparseM);
      computeCycles += n * tileValue(dataflow, rows, cols, p, kTile, m, 0);
      sramIfmap += n * tileValue(dataflow, rows, cols, p, kTile, m, 1);
      sramFilter += n * tileValue(dataflow, rows, cols, p, kTile, m, 2);
      psum += n * tileValue(dataflow, rows, cols, p, kTile, m, 3);
    }
  }
  const outputs = P * M;
  const dramIfmap = tripP * tripK * ifTile * refetch(order, tripP, tripK, tripM, 1, 1, 0);
  const dramFilter = kEff * M * refetch(order, tripP, tripK, tripM, 0, 1, 1);
  const spills = refetch(order, tripP, tripK, tripM, 1, 0, 1);
  const dramOfmapWrites = outputs * spills;
  const dramOfmapReads = outputs * (spills - 1);
  // In width units: the final outputs at the activation width, spilled partial sums at theirs.
  const dram = dramIfmap * activationUnits + outputs * outputUnits + dramFilter * weightUnits + (dramOfmapReads + dramOfmapWrites - outputs) * psumUnits;
  const dramCycles = cdiv(dram * 16, bandwidth);
  const prologue = cdiv((ifTile * activationUnits + tkEff * tm * weightUnits) * 16, bandwidth);
  const cycles = prologue + Math.max(computeCycles, dramCycles);
  const macs = P * kEff * M;
  const sram = (sramIfmap + dramIfmap) * activationUnits + (sramFilter + dramFilter) * weightUnits + (Math.max(psum - outputs, 0) + dramOfmapWrites + psum + dramOfmapReads) * psumUnits;
  let score = cycles;
  if (objective === 3) {
    score = dram;
  }
  if (objective === 1 || objective === 2) {
    score = macs * wMac + 3 * macs * wRf + sram * wSram + dram * wDram;
    if (objective === 2) {
      score = score * cycles;
    }
  }
  const largest = Math.max(Math.max(Math.max(cycles, 3 * macs), Math.max(sram, dram)), Math.max(psum, dramCycles * 16));
  if (largest >= 2147483648) {
    return -score;
  }
  return score;
}

// ceil(a / b) for integers, corrected for the rounding of the float division.
function cdiv(a, b) {
  let q = Math.floor(a / b);
  if (q * b > a) {
    q = q - 1;
  }
  if ((q + 1) * b <= a) {
    q = q + 1;
  }
  if (q * b < a) {
    q = q + 1;
  }
  return q;
}

function ceilLog2(x) {
  let n = 0;
  let v = 1;
  for (let i = 0; i < 40; i++) {
    if (v >= x) {
      break;
    }
    v = v * 2;
    n = n + 1;
  }
  return n;
}

// Tile sizes 2^i, then arrayDim * 2^j when arrayDim is not a power of two.
function sizeCount(extent, arrayDim) {
  const powers = ceilLog2(extent) + 1;
  if (Math.pow(2, ceilLog2(arrayDim)) === arrayDim) {
    return powers;
  }
  return powers + ceilLog2(cdiv(extent, arrayDim)) + 1;
}

function sizeAt(extent, arrayDim, index) {
  const powers = ceilLog2(extent) + 1;
  if (index < powers) {
    return Math.min(extent, Math.pow(2, index));
  }
  return Math.min(extent, arrayDim * Math.pow(2, index - powers));
}

// Loop orders pkm pmk kpm kmp mpk mkp (outermost first); dimensions p = 0, k = 1, m = 2.
function loopDim(order, level) {
  if (order === 0) {
    return level;
  }
  if (order === 1) {
    if (level === 0) {
      return 0;
    }
    return 3 - level;
  }
  if (order === 2) {
    if (level === 2) {
      return 2;
    }
    return 1 - level;
  }
  if (order === 3) {
    if (level === 2) {
      return 0;
    }
    return level + 1;
  }
  if (order === 4) {
    if (level === 0) {
      return 2;
    }
    return level - 1;
  }
  return 2 - level;
}

function pick(d, p, k, m) {
  if (d === 0) {
    return p;
  }
  if (d === 1) {
    return k;
  }
  return m;
}

// Product of the trip counts of loops the operand does not use, outside its innermost used loop.
function refetch(order, tripP, tripK, tripM, useP, useK, useM) {
  let innermost = -1;
  for (let level = 0; level < 3; level++) {
    if (pick(loopDim(order, level), useP, useK, useM) > 0) {
      innermost = level;
    }
  }
  let f = 1;
  for (let outer = 0; outer < 3; outer++) {
    if (outer < innermost) {
      const d = loopDim(order, outer);
      if (pick(d, useP, useK, useM) === 0) {
        f = f * pick(d, tripP, tripK, tripM);
      }
    }
  }
  return f;
}

// One tile's cycles (which 0), SRAM ifmap reads (1), filter reads (2) and partial-sum updates (3).
function tileValue(dataflow, rows, cols, tp, tk, tm, which) {
  let sr = tk;
  let sc = tp;
  let t = tm;
  if (dataflow === 0) {
    sr = tp;
    sc = tm;
    t = tk;
  }
  if (dataflow === 1) {
    sr = tk;
    sc = tm;
    t = tp;
  }
  const rowFolds = cdiv(sr, rows);
  const folds = rowFolds * cdiv(sc, cols);
  if (which === 0) {
    let perFold = Math.max(t, rows);
    if (dataflow === 0) {
      perFold = t;
    }
    return folds * perFold + rows + cols - 2;
  }
  if (which === 1) {
    if (dataflow === 2) {
      return tk * tp;
    }
    return tp * tk * cdiv(tm, cols);
  }
  if (which === 2) {
    if (dataflow === 0) {
      return tk * tm * cdiv(tp, rows);
    }
    if (dataflow === 1) {
      return tk * tm;
    }
    return tm * tk * cdiv(tp, cols);
  }
  if (dataflow === 0) {
    return tp * tm;
  }
  return tp * tm * rowFolds;
}
