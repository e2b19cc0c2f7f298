// Copies `count` channels between NCHW tensors viewed as [batch, channels, spatial]:
// dst[n, dst_offset + c, s] = src[n, src_offset + c, s]. Channel concat (forward) and its
// backward (a channel slice) are both this copy.

struct Params { batch: u32, spatial: u32, count: u32, src_channels: u32, src_offset: u32, dst_channels: u32, dst_offset: u32 }

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.batch * p.count * p.spatial) { return; }
  let s = i % p.spatial;
  let c = (i / p.spatial) % p.count;
  let n = i / (p.spatial * p.count);
  dst[(n * p.dst_channels + p.dst_offset + c) * p.spatial + s] = src[(n * p.src_channels + p.src_offset + c) * p.spatial + s];
}
