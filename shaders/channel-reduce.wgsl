// Per-channel sums over batch and space of an NCHW tensor viewed as [batch, channels, spatial];
// one workgroup per channel, a tree reduction in workgroup memory.
// MODE 0: out0 = scale * sum(a)   (scale 1/count gives the mean)
// MODE 1: out0 = sum((a - center)^2)
// MODE 2: out0 = sum(a), out1 = sum(a * (b - center))   (batch-norm backward: a = dy, b = x)
// MODE 3: out0 = sum(|a|); MODE 4: out0 = sum(a^2); MODE 5: out0 = sum(|a * b|)   (pruning importance)
// MODE 6: out0 = sum(a * b)   (a channel scale's gradient)
// MODE 7: out0 = max(|a|)   (a symmetric quantizer's range: the tree combines by max)
// MODE 8: out0 = sum(a * min(b, 0))   (PReLU's slope gradient: a = dy, b = x)

struct Params { batch: u32, channels: u32, spatial: u32, scale: f32 }

override MODE: u32 = 0u;
const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> center: array<f32>;
@group(0) @binding(4) var<storage, read_write> out0: array<f32>;
@group(0) @binding(5) var<storage, read_write> out1: array<f32>;

var<workgroup> partial0: array<f32, WORKGROUP_SIZE>;
var<workgroup> partial1: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let c = wid.x;
  var s0 = 0.0;
  var s1 = 0.0;
  var m = 0.0;
  if (MODE == 1u || MODE == 2u) { m = center[c]; }
  let count = p.batch * p.spatial;
  for (var e = t; e < count; e += WORKGROUP_SIZE) {
    let i = ((e / p.spatial) * p.channels + c) * p.spatial + e % p.spatial;
    if (MODE == 0u) { s0 += a[i]; }
    else if (MODE == 1u) { let d = a[i] - m; s0 += d * d; }
    else if (MODE == 2u) { s0 += a[i]; s1 += a[i] * (b[i] - m); }
    else if (MODE == 3u) { s0 += abs(a[i]); }
    else if (MODE == 4u) { s0 += a[i] * a[i]; }
    else if (MODE == 5u) { s0 += abs(a[i] * b[i]); }
    else if (MODE == 6u) { s0 += a[i] * b[i]; }
    else if (MODE == 8u) { s0 += a[i] * min(b[i], 0.0); }
    else { s0 = max(s0, abs(a[i])); }
  }
  partial0[t] = s0;
  partial1[t] = s1;
  for (var half = WORKGROUP_SIZE / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (t < half) {
      partial0[t] = select(partial0[t] + partial0[t + half], max(partial0[t], partial0[t + half]), MODE == 7u);
      partial1[t] += partial1[t + half];
    }
  }
  if (t == 0u) {
    out0[c] = select(partial0[0], partial0[0] * p.scale, MODE == 0u);
    if (MODE == 2u) { out1[c] = partial1[0]; }
  }
}
