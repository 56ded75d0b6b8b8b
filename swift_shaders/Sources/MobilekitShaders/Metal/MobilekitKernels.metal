// MobilekitKernels.metal — GPU entry points of the mobilekit kernels.
//
// The arithmetic lives in mk_kernel_math.h (shared with the C/CPU path); this file only maps
// threads to pixels. Two families:
//   *_buffer  : float32 NHWC MTLBuffers (split-model path: run between Core ML segments, or on
//               app data such as masks, click maps, depth-of-field). Grid = (W, H, N) of the output,
//               except mk_stitch_buffer (grid = N*H*W) and mk_click_maps_buffer (grid = (W, H)).
//   *_texture : Core ML MLCustomLayer `encode` path. Core ML hands 2-D array textures whose slices
//               pack 4 channels each (channel-first tensors); every op here is per channel and
//               spatial, so each slice is processed independently. Grid = (W, H, slices) of output.
// Compile without fast math (MTLCompileOptions.mathMode = .safe / MTL_FAST_MATH = NO) for parity
// with the CPU path; with fast math expect ~1e-6 relative differences.
#include <metal_stdlib>
using namespace metal;

#include "../../MobilekitKernelMath/include/mk_kernel_math.h"

// ---------------------------------------------------------------------------------- buffers

kernel void mk_morphology_buffer(device const float* input [[buffer(0)]],
                                 device const float* filter [[buffer(1)]],
                                 device float* output [[buffer(2)]],
                                 constant MKMorphParams& p [[buffer(3)]],
                                 uint3 gid [[thread_position_in_grid]]) {
    const int x = int(gid.x), y = int(gid.y), n = int(gid.z);
    if (x >= p.width || y >= p.height || n >= p.batch) return;
    const int plane = p.height * p.width * p.channels;
    device const float* img = input + n * plane;
    for (int c = 0; c < p.channels; ++c) {
        output[n * plane + mk_index(y, x, c, p.width, p.channels)] = mk_morph_pixel(img, filter, p, y, x, c);
    }
}

kernel void mk_resize_bicubic_buffer(device const float* input [[buffer(0)]],
                                     device float* output [[buffer(1)]],
                                     constant MKResizeParams& p [[buffer(2)]],
                                     uint3 gid [[thread_position_in_grid]]) {
    const int x = int(gid.x), y = int(gid.y), n = int(gid.z);
    if (x >= p.out_width || y >= p.out_height || n >= p.batch) return;
    device const float* img = input + n * p.in_height * p.in_width * p.channels;
    const int out_plane = p.out_height * p.out_width * p.channels;
    for (int c = 0; c < p.channels; ++c) {
        output[n * out_plane + mk_index(y, x, c, p.out_width, p.channels)] = mk_bicubic_pixel(img, p, y, x, c);
    }
}

kernel void mk_resize_area_buffer(device const float* input [[buffer(0)]],
                                  device float* output [[buffer(1)]],
                                  constant MKResizeParams& p [[buffer(2)]],
                                  uint3 gid [[thread_position_in_grid]]) {
    const int x = int(gid.x), y = int(gid.y), n = int(gid.z);
    if (x >= p.out_width || y >= p.out_height || n >= p.batch) return;
    device const float* img = input + n * p.in_height * p.in_width * p.channels;
    const int out_plane = p.out_height * p.out_width * p.channels;
    for (int c = 0; c < p.channels; ++c) {
        output[n * out_plane + mk_index(y, x, c, p.out_width, p.channels)] = mk_area_pixel(img, p, y, x, c);
    }
}

kernel void mk_stitch_buffer(device const float* original [[buffer(0)]],
                             device const float* inpainted [[buffer(1)]],
                             device const float* mask [[buffer(2)]],
                             device float* output [[buffer(3)]],
                             constant MKStitchParams& p [[buffer(4)]],
                             uint gid [[thread_position_in_grid]]) {
    const int i = int(gid);
    if (i >= p.pixels) return;
    for (int c = 0; c < p.channels; ++c) {
        const int k = i * p.channels + c;
        const float m = mask[i * p.mask_channels + (p.mask_channels == 1 ? 0 : c)];
        output[k] = mk_stitch_value(original[k], inpainted[k], m);
    }
}

kernel void mk_click_maps_buffer(device const MKClick* clicks [[buffer(0)]],
                                 device float* output [[buffer(1)]],
                                 constant MKClickParams& p [[buffer(2)]],
                                 uint2 gid [[thread_position_in_grid]]) {
    const int x = int(gid.x), y = int(gid.y);
    if (x >= p.width || y >= p.height) return;
    for (int ch = 0; ch < 2; ++ch) {
        float d = mk_click_distance(clicks, p.num_clicks, ch == 0 ? 1 : 0, y, x, p.truncate);
        if (p.normalize != 0) d = mk_click_normalize(d, p.truncate);
        output[mk_index(y, x, ch, p.width, 2)] = d;
    }
}

kernel void mk_depth_of_field_buffer(device const float* image [[buffer(0)]],
                                     device const float* depth [[buffer(1)]],
                                     device float* output [[buffer(2)]],
                                     constant MKDofParams& p [[buffer(3)]],
                                     uint3 gid [[thread_position_in_grid]]) {
    const int x = int(gid.x), y = int(gid.y), n = int(gid.z);
    if (x >= p.width || y >= p.height || n >= p.batch) return;
    const int plane = p.height * p.width * p.channels;
    device const float* img = image + n * plane;
    const int r = mk_dof_radius(depth[(n * p.height + y) * p.width + x], p.focal_depth, p.strength, p.max_radius);
    for (int c = 0; c < p.channels; ++c) {
        output[n * plane + mk_index(y, x, c, p.width, p.channels)] = mk_dof_pixel(img, p, y, x, c, r);
    }
}

// ---------------------------------------------------------------------------------- textures
// p.height / p.width / p.channels describe one image; slices = batch * ceil(C / 4).

static inline uint2 mk_px(int x, int y) { return uint2(uint(x), uint(y)); }

static inline float4 mk_filter4(device const float* filter, MKMorphParams p, int fy, int fx, int c0) {
    float4 f = float4(0.0f);
    for (int k = 0; k < 4; ++k) {
        if (c0 + k < p.channels) f[k] = filter[(fy * p.kernel_width + fx) * p.channels + c0 + k];
    }
    return f;
}

kernel void mk_morphology_texture(texture2d_array<float, access::read> input [[texture(0)]],
                                  texture2d_array<float, access::write> output [[texture(1)]],
                                  device const float* filter [[buffer(0)]],
                                  constant MKMorphParams& p [[buffer(1)]],
                                  uint3 gid [[thread_position_in_grid]]) {
    const int x = int(gid.x), y = int(gid.y);
    if (x >= p.width || y >= p.height || gid.z >= output.get_array_size()) return;
    const int c0 = int(gid.z % uint((p.channels + 3) / 4)) * 4;
    const int ph = (p.kernel_height - 1) / 2, pw = (p.kernel_width - 1) / 2;
    float4 acc = float4(-MK_FLT_MAX);
    for (int dy = 0; dy < p.kernel_height; ++dy) {
        const int yy = y + dy - ph;
        if (yy < 0 || yy >= p.height) continue;
        for (int dx = 0; dx < p.kernel_width; ++dx) {
            const int xx = x + dx - pw;
            if (xx < 0 || xx >= p.width) continue;
            float4 f = float4(0.0f);
            if (p.has_filter != 0) {
                f = p.dilate != 0 ? mk_filter4(filter, p, dy, dx, c0)
                                  : mk_filter4(filter, p, p.kernel_height - 1 - dy, p.kernel_width - 1 - dx, c0);
            }
            const float4 v0 = input.read(mk_px(xx, yy), gid.z);
            const float4 v = (p.dilate != 0 ? v0 : -v0) + f;
            acc = select(acc, v, v > acc);
        }
    }
    output.write(p.dilate != 0 ? acc : -acc, mk_px(x, y), gid.z);
}

kernel void mk_resize_bicubic_texture(texture2d_array<float, access::read> input [[texture(0)]],
                                      texture2d_array<float, access::write> output [[texture(1)]],
                                      constant MKResizeParams& p [[buffer(0)]],
                                      uint3 gid [[thread_position_in_grid]]) {
    const int x = int(gid.x), y = int(gid.y);
    if (x >= p.out_width || y >= p.out_height || gid.z >= output.get_array_size()) return;
    int yi[4], xi[4];
    float yw[4], xw[4];
    mk_bicubic_coeffs(y, mk_resize_scale(p.in_height, p.out_height), p.in_height, yi, yw);
    mk_bicubic_coeffs(x, mk_resize_scale(p.in_width, p.out_width), p.in_width, xi, xw);
    float4 col[4];
    for (int j = 0; j < 4; ++j) {
        col[j] = input.read(mk_px(xi[j], yi[0]), gid.z) * yw[0] + input.read(mk_px(xi[j], yi[1]), gid.z) * yw[1] +
                 input.read(mk_px(xi[j], yi[2]), gid.z) * yw[2] + input.read(mk_px(xi[j], yi[3]), gid.z) * yw[3];
    }
    output.write(col[0] * xw[0] + col[1] * xw[1] + col[2] * xw[2] + col[3] * xw[3], mk_px(x, y), gid.z);
}

kernel void mk_resize_area_texture(texture2d_array<float, access::read> input [[texture(0)]],
                                   texture2d_array<float, access::write> output [[texture(1)]],
                                   constant MKResizeParams& p [[buffer(0)]],
                                   uint3 gid [[thread_position_in_grid]]) {
    const int ox = int(gid.x), oy = int(gid.y);
    if (ox >= p.out_width || oy >= p.out_height || gid.z >= output.get_array_size()) return;
    const float sh = mk_resize_scale(p.in_height, p.out_height);
    const float sw = mk_resize_scale(p.in_width, p.out_width);
    int y0, y1, xs, xe;
    float ylo, yhi, xlo, xhi;
    mk_area_span(oy, sh, &y0, &y1, &ylo, &yhi);
    mk_area_span(ox, sw, &xs, &xe, &xlo, &xhi);
    const float s0 = mk_area_coverage(xs, xlo, xhi, sw);
    const float s1 = mk_area_coverage(xe - 1, xlo, xhi, sw);
    float4 sum = float4(0.0f);
    for (int i = y0; i < y1; ++i) {
        const int yy = mk_bound(i, p.in_height);
        float4 sum_y = input.read(mk_px(mk_bound(xs, p.in_width), yy), gid.z) * s0;
        if (xs + 1 != xe) {
            for (int j = xs + 1; j < xe - 1; ++j) {
                sum_y = sum_y + input.read(mk_px(mk_bound(j, p.in_width), yy), gid.z);
            }
            sum_y = sum_y + input.read(mk_px(mk_bound(xe - 1, p.in_width), yy), gid.z) * s1;
        }
        sum = sum + sum_y * mk_area_coverage(i, ylo, yhi, sh);
    }
    output.write(sum * mk_area_norm(sh, sw), mk_px(ox, oy), gid.z);
}
