// Elementwise ops over flat arrays, one invocation per element.
// OP 0 relu(a); 1 relu6(a); 2 relu backward (a = dy, b = x); 3 relu6 backward (a = dy, b = x);
// 4 a + b; 5 a * b; 6 fill with `value`; 7 a * value; 8 leaky relu(a) with slope `value`;
// 9 leaky relu backward (a = dy, b = x); 10 relu(a + b).

struct Params { count: u32, value: f32 }

override OP: u32 = 0u;
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * WORKGROUP_SIZE;
  if (i >= p.count) { return; }
  switch OP {
    case 0u: { out[i] = max(a[i], 0.0); }
    case 1u: { out[i] = clamp(a[i], 0.0, 6.0); }
    case 2u: { out[i] = select(0.0, a[i], b[i] > 0.0); }
    case 3u: { out[i] = select(0.0, a[i], b[i] > 0.0 && b[i] < 6.0); }
    case 4u: { out[i] = a[i] + b[i]; }
    case 5u: { out[i] = a[i] * b[i]; }
    case 6u: { out[i] = p.value; }
    case 8u: { out[i] = select(a[i] * p.value, a[i], a[i] > 0.0); }
    case 9u: { out[i] = select(a[i] * p.value, a[i], b[i] > 0.0); }
    case 10u: { out[i] = max(a[i] + b[i], 0.0); }
    default: { out[i] = a[i] * p.value; }
  }
}
