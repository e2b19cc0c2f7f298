// Gather-compaction: keeps the listed channels along one axis of a tensor viewed as
// [outer, channels, inner]: dst[o, k, i] = src[o, indices[k], i]. Physically removes pruned channels.

struct Params { outer: u32, channels: u32, inner: u32, kept: u32 }

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<f32>; // exact integers
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.outer * p.kept * p.inner) { return; }
  let inner = i % p.inner;
  let k = (i / p.inner) % p.kept;
  let o = i / (p.inner * p.kept);
  dst[i] = src[(o * p.channels + u32(indices[k])) * p.inner + inner];
}
