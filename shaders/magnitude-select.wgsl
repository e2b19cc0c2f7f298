// Radix selection of a magnitude threshold for unstructured pruning. The float32 bit pattern of a
// non-negative number orders like the number, so the k-th smallest |w| is found 8 bits at a time:
// `histogram` counts, per 8-bit digit at `shift`, the entries whose higher digits equal `prefix`
// (four passes, the host picks a digit after each); `threshold_mask` then keeps what lies above.
// Pruned weights are 0 (the network's weights are masked once, src/backend.ts).

struct Params { count: u32, shift: u32, prefix: u32, threshold: u32 }

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> hist: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn magnitude_bits(i: u32) -> u32 {
  return bitcast<u32>(abs(w[i]));
}

fn index(gid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return gid.x + gid.y * groups.x * WORKGROUP_SIZE;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn histogram(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = index(gid, groups);
  if (i >= p.count) { return; }
  let bits = magnitude_bits(i);
  // shift 24 is the first pass: no higher digits to match (and a shift by 32 would be invalid).
  if (p.shift == 24u || (bits >> (p.shift + 8u)) == p.prefix) {
    atomicAdd(&hist[(bits >> p.shift) & 255u], 1u);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn threshold_mask(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = index(gid, groups);
  if (i >= p.count) { return; }
  out[i] = select(0.0, 1.0, magnitude_bits(i) > p.threshold);
}
