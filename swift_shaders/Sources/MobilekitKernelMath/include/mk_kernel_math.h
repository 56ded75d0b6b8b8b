/*
 * mk_kernel_math.h — the exact per-pixel math of the mobilekit kernels.
 *
 * One header, two compilers: it is included by the C target (CPU path, called from Swift) and by
 * the Metal shaders (Sources/MobilekitShaders/Metal/MobilekitKernels.metal). It therefore sticks to the subset of
 * C99 that Metal Shading Language (C++14-based) also accepts:
 *   - `static inline` functions, `int` / `float` scalars, structs of int/float (no int64, no bool,
 *     no size_t, no globals: constants are macros);
 *   - pointer parameters carry an address-space macro (MK_DEVICE / MK_THREAD) that expands to
 *     `device` / `thread` in MSL and to nothing in C;
 *   - math through MK_* macros (floorf vs floor, ...).
 * The definitions are mobilekit/shaders/reference/; TF-backed kernels reproduce TF's CPU kernels
 * operation by operation in float32 (see its modules' docstrings).
 *
 * Layout everywhere: NHWC float32, row-major, index ((n * H + y) * W + x) * C + c.
 */
#ifndef MK_KERNEL_MATH_H
#define MK_KERNEL_MATH_H

#if defined(__METAL_VERSION__)
/* ---- Metal Shading Language ---- */
#define MK_DEVICE device
#define MK_CONSTANT constant
#define MK_THREAD thread
#define MK_FLOORF(x) metal::floor(x)
#define MK_CEILF(x) metal::ceil(x)
#define MK_RINTF(x) metal::rint(x)
#define MK_FABSF(x) metal::fabs(x)
#define MK_SQRTF(x) metal::precise::sqrt(x)
/* Metal has no double: the bicubic table is evaluated in float (<= 1 ulp from TF's table). */
#define MK_WIDE float
#if __METAL_VERSION__ >= 320
#pragma METAL fp contract(off)
#endif
#else
/* ---- C (CPU path) ---- */
#include <math.h>
#define MK_DEVICE
#define MK_CONSTANT
#define MK_THREAD
#define MK_FLOORF(x) floorf(x)
#define MK_CEILF(x) ceilf(x)
#define MK_RINTF(x) rintf(x)
#define MK_FABSF(x) fabsf(x)
#define MK_SQRTF(x) sqrtf(x)
#define MK_WIDE double
/* Keep a*b+c as two roundings (as TF's x86 build does); FMA contraction would move bicubic
 * sample positions across the 1/1024 quantisation steps on ARM. */
#pragma STDC FP_CONTRACT OFF
#endif

#define MK_FLT_MAX 3.402823466e+38f
#define MK_FLT_MIN 1.175494351e-38f
#define MK_BICUBIC_TABLE_SIZE 1024
#define MK_BICUBIC_A (-0.5f) /* exact in float and double */

/* ------------------------------------------------------------------ parameter blocks
 * Shared by Swift (setBytes / C calls) and Metal (`constant T&`). int/float only: identical layout. */

typedef struct MKMorphParams {
    int batch, height, width, channels;
    int kernel_height, kernel_width; /* odd */
    int has_filter;                  /* 0: flat element; 1: filter[(dy * kw + dx) * C + c] */
    int dilate;                      /* 1: dilation (max), 0: erosion (min) */
} MKMorphParams;

typedef struct MKResizeParams {
    int batch, in_height, in_width, channels;
    int out_height, out_width;
} MKResizeParams;

typedef struct MKStitchParams {
    int pixels;        /* N * H * W */
    int channels;      /* C of original / inpainted */
    int mask_channels; /* 1 (broadcast) or C */
} MKStitchParams;

typedef struct MKClick {
    int y, x;     /* integer pixel: row, column */
    int positive; /* non-zero: channel 0, zero: channel 1 */
} MKClick;

typedef struct MKClickParams {
    int height, width, num_clicks;
    float truncate; /* 255 */
    int normalize;  /* 0: raw distances, 1: clip(d / truncate, 0, 1) */
} MKClickParams;

typedef struct MKDofParams {
    int batch, height, width, channels;
    float focal_depth, strength;
    int max_radius;
} MKDofParams;

/* ------------------------------------------------------------------ small helpers */

static inline int mk_mini(int a, int b) { return a < b ? a : b; }
static inline int mk_maxi(int a, int b) { return a > b ? a : b; }
static inline int mk_bound(int v, int limit) { return mk_mini(limit - 1, mk_maxi(0, v)); }
static inline int mk_index(int y, int x, int c, int width, int channels) {
    return (y * width + x) * channels + c;
}

/* ------------------------------------------------------------------ 1. erosion / dilation
 * TF Dilation2D (SAME, stride 1, rate 1): max over in-image taps of in + f, start -FLT_MAX, strict '>'.
 * TF Erosion2D = -Dilation2D(-in, reverse(f)). `img` points at one image (H*W*C floats). */
static inline float mk_morph_pixel(MK_DEVICE const float* img, MK_DEVICE const float* filter,
                                   MKMorphParams p, int y, int x, int c) {
    const int ph = (p.kernel_height - 1) / 2;
    const int pw = (p.kernel_width - 1) / 2;
    float acc = -MK_FLT_MAX;
    for (int dy = 0; dy < p.kernel_height; ++dy) {
        const int yy = y + dy - ph;
        if (yy < 0 || yy >= p.height) continue;
        for (int dx = 0; dx < p.kernel_width; ++dx) {
            const int xx = x + dx - pw;
            if (xx < 0 || xx >= p.width) continue;
            float f = 0.0f;
            if (p.has_filter) {
                const int fy = p.dilate ? dy : p.kernel_height - 1 - dy;
                const int fx = p.dilate ? dx : p.kernel_width - 1 - dx;
                f = filter[(fy * p.kernel_width + fx) * p.channels + c];
            }
            const float v0 = img[mk_index(yy, xx, c, p.width, p.channels)];
            const float v = (p.dilate ? v0 : -v0) + f;
            if (v > acc) acc = v;
        }
    }
    return p.dilate ? acc : -acc;
}

/* ------------------------------------------------------------------ 2. bicubic (TF ResizeBicubic,
 * half_pixel_centers=True, Keys a=-0.5, 1/1024-quantised phase, out-of-image taps weight 0 and
 * renormalised). */

/* TF coefficient table entry i in [0, 1024]: which=0 -> K(i/1024), which=1 -> K(i/1024 + 1). */
static inline float mk_bicubic_table(int i, int which) {
    const MK_WIDE a = MK_BICUBIC_A;
    MK_WIDE x = (MK_WIDE)i / (MK_WIDE)MK_BICUBIC_TABLE_SIZE;
    if (which == 0) return (float)(((a + 2) * x - (a + 3)) * x * x + 1);
    x = x + 1; /* exact */
    return (float)(((a * x - 5 * a) * x + 8 * a) * x - 4 * a);
}

static inline float mk_resize_scale(int in_size, int out_size) {
    return (float)in_size / (float)out_size;
}

/* Taps (clamped indices) and weights for output index `out_loc`; `limit` = input size. */
static inline void mk_bicubic_coeffs(int out_loc, float scale, int limit, MK_THREAD int* idx,
                                     MK_THREAD float* w) {
    const float in_f = ((float)out_loc + 0.5f) * scale - 0.5f;
    const float fl = MK_FLOORF(in_f);
    const int in_loc = (int)fl;
    const float delta = in_f - fl;
    const int off = (int)MK_RINTF(delta * (float)MK_BICUBIC_TABLE_SIZE);
    const float raw0 = mk_bicubic_table(off, 1);
    const float raw1 = mk_bicubic_table(off, 0);
    const float raw2 = mk_bicubic_table(MK_BICUBIC_TABLE_SIZE - off, 0);
    const float raw3 = mk_bicubic_table(MK_BICUBIC_TABLE_SIZE - off, 1);
    idx[0] = mk_bound(in_loc - 1, limit);
    idx[1] = mk_bound(in_loc, limit);
    idx[2] = mk_bound(in_loc + 1, limit);
    idx[3] = mk_bound(in_loc + 2, limit);
    w[0] = idx[0] == in_loc - 1 ? raw0 : 0.0f;
    w[1] = idx[1] == in_loc ? raw1 : 0.0f;
    w[2] = idx[2] == in_loc + 1 ? raw2 : 0.0f;
    w[3] = idx[3] == in_loc + 2 ? raw3 : 0.0f;
    const float sum = w[0] + w[1] + w[2] + w[3];
    if (MK_FABSF(sum) >= 1000.0f * MK_FLT_MIN) {
        const float inv = 1.0f / sum;
        w[0] = w[0] * inv;
        w[1] = w[1] * inv;
        w[2] = w[2] * inv;
        w[3] = w[3] * inv;
    }
}

/* One output value; y taps first for each of the 4 x taps, then x (TF's order). */
static inline float mk_bicubic_pixel(MK_DEVICE const float* img, MKResizeParams p, int oy, int ox,
                                     int c) {
    int yi[4], xi[4];
    float yw[4], xw[4];
    mk_bicubic_coeffs(oy, mk_resize_scale(p.in_height, p.out_height), p.in_height, yi, yw);
    mk_bicubic_coeffs(ox, mk_resize_scale(p.in_width, p.out_width), p.in_width, xi, xw);
    float col[4];
    for (int j = 0; j < 4; ++j) {
        col[j] = img[mk_index(yi[0], xi[j], c, p.in_width, p.channels)] * yw[0] +
                 img[mk_index(yi[1], xi[j], c, p.in_width, p.channels)] * yw[1] +
                 img[mk_index(yi[2], xi[j], c, p.in_width, p.channels)] * yw[2] +
                 img[mk_index(yi[3], xi[j], c, p.in_width, p.channels)] * yw[3];
    }
    return col[0] * xw[0] + col[1] * xw[1] + col[2] * xw[2] + col[3] * xw[3];
}

/* ------------------------------------------------------------------ 3. area (TF ResizeArea) */

/* Length of source cell [i, i+1) inside [lo, hi) exactly as TF computes it (float32). */
static inline float mk_area_coverage(int i, float lo, float hi, float scale) {
    if ((float)i < lo) return (float)(i + 1) > hi ? scale : (float)(i + 1) - lo;
    return (float)(i + 1) > hi ? hi - (float)i : 1.0f;
}

/* Source span [start, end) of output index o; lo/hi are the float bounds. */
static inline void mk_area_span(int o, float scale, MK_THREAD int* start, MK_THREAD int* end,
                                MK_THREAD float* lo, MK_THREAD float* hi) {
    *lo = (float)o * scale;
    *hi = (float)(o + 1) * scale;
    *start = (int)MK_FLOORF(*lo);
    *end = (int)MK_CEILF(*hi);
}

/* 1 / (sh * sw) as TF: product in float, reciprocal in double (C) / float (Metal). */
static inline float mk_area_norm(float sh, float sw) {
    const float prod = sh * sw;
    return (float)((MK_WIDE)1.0f / (MK_WIDE)prod);
}

static inline float mk_area_pixel(MK_DEVICE const float* img, MKResizeParams p, int oy, int ox, int c) {
    const float sh = mk_resize_scale(p.in_height, p.out_height);
    const float sw = mk_resize_scale(p.in_width, p.out_width);
    int y0, y1, xs, xe;
    float ylo, yhi, xlo, xhi;
    mk_area_span(oy, sh, &y0, &y1, &ylo, &yhi);
    mk_area_span(ox, sw, &xs, &xe, &xlo, &xhi);
    const float s0 = mk_area_coverage(xs, xlo, xhi, sw);
    const float s1 = mk_area_coverage(xe - 1, xlo, xhi, sw);
    float sum = 0.0f;
    for (int i = y0; i < y1; ++i) {
        const int yy = mk_bound(i, p.in_height);
        float sum_y = img[mk_index(yy, mk_bound(xs, p.in_width), c, p.in_width, p.channels)] * s0;
        if (xs + 1 != xe) {
            for (int j = xs + 1; j < xe - 1; ++j) {
                sum_y = sum_y + img[mk_index(yy, mk_bound(j, p.in_width), c, p.in_width, p.channels)];
            }
            sum_y = sum_y + img[mk_index(yy, mk_bound(xe - 1, p.in_width), c, p.in_width, p.channels)] * s1;
        }
        sum = sum + sum_y * mk_area_coverage(i, ylo, yhi, sh);
    }
    return sum * mk_area_norm(sh, sw);
}

/* ------------------------------------------------------------------ 4. masked stitch
 * m = mask > 0 ? min(mask, 1) : 0 (NaN -> 0); out = (1 - m) * original + m * inpainted. */
static inline float mk_stitch_value(float original, float inpainted, float mask) {
    const float m = mask > 0.0f ? (mask < 1.0f ? mask : 1.0f) : 0.0f;
    return (1.0f - m) * original + m * inpainted;
}

/* ------------------------------------------------------------------ 5. click distance maps
 * Channel 0 / 1: distance to the nearest positive / negative click, min(sqrt(d2), truncate),
 * d2 = (y-cy)^2 + (x-cx)^2 in float; `truncate` when there is no click of that polarity. */
static inline float mk_click_distance(MK_DEVICE const MKClick* clicks, int num_clicks, int positive,
                                      int y, int x, float truncate) {
    float best = -1.0f;
    for (int i = 0; i < num_clicks; ++i) {
        if ((clicks[i].positive != 0) != (positive != 0)) continue;
        const float dy = (float)y - (float)clicks[i].y;
        const float dx = (float)x - (float)clicks[i].x;
        const float d2 = dy * dy + dx * dx;
        if (best < 0.0f || d2 < best) best = d2;
    }
    if (best < 0.0f) return truncate;
    const float d = MK_SQRTF(best);
    return d < truncate ? d : truncate;
}

static inline float mk_click_normalize(float d, float truncate) {
    const float v = d / truncate;
    return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
}

/* ------------------------------------------------------------------ 6. depth-of-field blur
 * r = min(max_radius, round_half_up(strength * |depth - focal|)), 0 when not > 0 (NaN);
 * out = mean of the (2r+1)^2 window intersected with the image (float32 sum, row-major). */
static inline int mk_dof_radius(float depth, float focal_depth, float strength, int max_radius) {
    const float t = strength * MK_FABSF(depth - focal_depth);
    if (!(t > 0.0f)) return 0;
    if (t >= (float)max_radius) return max_radius;
    return mk_mini((int)MK_FLOORF(t + 0.5f), max_radius);
}

static inline float mk_dof_pixel(MK_DEVICE const float* img, MKDofParams p, int y, int x, int c, int r) {
    const int y0 = mk_maxi(y - r, 0), y1 = mk_mini(y + r, p.height - 1);
    const int x0 = mk_maxi(x - r, 0), x1 = mk_mini(x + r, p.width - 1);
    float sum = 0.0f;
    for (int yy = y0; yy <= y1; ++yy) {
        for (int xx = x0; xx <= x1; ++xx) {
            sum = sum + img[mk_index(yy, xx, c, p.width, p.channels)];
        }
    }
    return sum / (float)((y1 - y0 + 1) * (x1 - x0 + 1));
}

#endif /* MK_KERNEL_MATH_H */
