// gpu.js kernel: softmax cross-entropy with optional distillation, per row r: a sample of [n, k] logits
// (positions 1) or a pixel of [batch, k, H, W] ones (positions H·W, n rows in all); row r's logit c is at
// base + c * positions, base = floor(r / positions) * k * positions + r mod positions.
// mode 0: per-row loss (1 - alpha) * CE + alpha * T^2 * KL(teacher_T || student_T);
// mode 1: one element of the gradient of the mean loss over the rows (the output has the logits' size);
// mode 2: 1 where the first top logit is the label, else 0.
// A row labelled `ignore` has no hard-label term and is never correct.
function softmaxCrossEntropy(logits, labels, teacher, hasTeacher, mode, n, k, temperature, alpha, positions, ignore) {
  const i = this.thread.x;
  let r = i;
  let j = 0;
  if (mode === 1) {
    const sample = Math.floor((i + 0.5) / (k * positions));
    const rest = i - sample * k * positions;
    j = Math.floor((rest + 0.5) / positions);
    r = sample * positions + (rest - j * positions);
  }
  const b = Math.floor((r + 0.5) / positions);
  const base = b * k * positions + (r - b * positions);
  const label = labels[r];
  let hardWeight = 1 - alpha;
  if (label === ignore) {
    hardWeight = 0;
  }
  let top = 0;
  let maxZ = logits[base];
  for (let c1 = 1; c1 < k; c1++) {
    if (logits[base + c1 * positions] > maxZ) {
      maxZ = logits[base + c1 * positions];
      top = c1;
    }
  }
  if (mode === 2) {
    if (top === label) {
      return 1;
    }
    return 0;
  }
  let sumExp = 0;
  for (let c2 = 0; c2 < k; c2++) {
    sumExp += Math.exp(logits[base + c2 * positions] - maxZ);
  }
  const lse = maxZ + Math.log(sumExp);
  // Distillation terms at temperature T: log-sum-exp of student and teacher rows.
  let lseS = 0;
  let lseT = 0;
  if (hasTeacher > 0) {
    let maxS = logits[base] / temperature;
    let maxT = teacher[base] / temperature;
    for (let c3 = 1; c3 < k; c3++) {
      maxS = Math.max(maxS, logits[base + c3 * positions] / temperature);
      maxT = Math.max(maxT, teacher[base + c3 * positions] / temperature);
    }
    let sumS = 0;
    let sumT = 0;
    for (let c4 = 0; c4 < k; c4++) {
      sumS += Math.exp(logits[base + c4 * positions] / temperature - maxS);
      sumT += Math.exp(teacher[base + c4 * positions] / temperature - maxT);
    }
    lseS = maxS + Math.log(sumS);
    lseT = maxT + Math.log(sumT);
  }
  if (mode === 0) {
    let loss = 0;
    if (hardWeight > 0) {
      loss = -hardWeight * (logits[base + label * positions] - lse);
    }
    if (hasTeacher > 0) {
      for (let c5 = 0; c5 < k; c5++) {
        const logQ = teacher[base + c5 * positions] / temperature - lseT;
        const logP = logits[base + c5 * positions] / temperature - lseS;
        loss += alpha * temperature * temperature * Math.exp(logQ) * (logQ - logP);
      }
    }
    return loss;
  }
  let hot = 0;
  if (j === label) {
    hot = 1;
  }
  let grad = hardWeight * (Math.exp(logits[i] - lse) - hot);
  if (hasTeacher > 0) {
    grad += alpha * temperature * (Math.exp(logits[i] / temperature - lseS) - Math.exp(teacher[i] / temperature - lseT));
  }
  return grad / n;
}
