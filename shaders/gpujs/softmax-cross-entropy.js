// gpu.js kernel: softmax cross-entropy with optional distillation, per sample b (rows of k logits).
// mode 0: per-sample loss (1 - alpha) * CE + alpha * T^2 * KL(teacher_T || student_T);
// mode 1: one element of the gradient of the mean loss (the output has n * k elements);
// mode 2: 1 where the first top logit is the label, else 0.
function softmaxCrossEntropy(logits, labels, teacher, hasTeacher, mode, n, k, temperature, alpha) {
  const i = this.thread.x;
  let b = i;
  let j = 0;
  if (mode === 1) {
    b = Math.floor((i + 0.5) / k);
    j = i - b * k;
  }
  const label = labels[b];
  let top = 0;
  let maxZ = logits[b * k];
  for (let c1 = 1; c1 < k; c1++) {
    if (logits[b * k + c1] > maxZ) {
      maxZ = logits[b * k + c1];
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
    sumExp += Math.exp(logits[b * k + c2] - maxZ);
  }
  const lse = maxZ + Math.log(sumExp);
  // Distillation terms at temperature T: log-sum-exp of student and teacher rows.
  let lseS = 0;
  let lseT = 0;
  if (hasTeacher > 0) {
    let maxS = logits[b * k] / temperature;
    let maxT = teacher[b * k] / temperature;
    for (let c3 = 1; c3 < k; c3++) {
      maxS = Math.max(maxS, logits[b * k + c3] / temperature);
      maxT = Math.max(maxT, teacher[b * k + c3] / temperature);
    }
    let sumS = 0;
    let sumT = 0;
    for (let c4 = 0; c4 < k; c4++) {
      sumS += Math.exp(logits[b * k + c4] / temperature - maxS);
      sumT += Math.exp(teacher[b * k + c4] / temperature - maxT);
    }
    lseS = maxS + Math.log(sumS);
    lseT = maxT + Math.log(sumT);
  }
  if (mode === 0) {
    let loss = -(1 - alpha) * (logits[b * k + label] - lse);
    if (hasTeacher > 0) {
      for (let c5 = 0; c5 < k; c5++) {
        const logQ = teacher[b * k + c5] / temperature - lseT;
        const logP = logits[b * k + c5] / temperature - lseS;
        loss += alpha * temperature * temperature * Math.exp(logQ) * (logQ - logP);
      }
    }
    return loss;
  }
  let hot = 0;
  if (j === label) {
    hot = 1;
  }
  let grad = (1 - alpha) * (Math.exp(logits[i] - lse) - hot);
  if (hasTeacher > 0) {
    grad += alpha * temperature * (Math.exp(logits[i] / temperature - lseS) - Math.exp(teacher[i] / temperature - lseT));
  }
  return grad / n;
}
