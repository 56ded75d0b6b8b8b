/*
 * MobilekitKernelMath — whole-image CPU entry points over the shared per-pixel math.
 *
 * Swift calls these (MobilekitShaders/CPU.swift); the Metal kernels call the same static inline
 * functions from mk_kernel_math.h per thread, so CPU and GPU share one definition.
 * All buffers are float32 NHWC, contiguous; shapes come in the parameter structs.
 * Functions return 0 on success and a negative value for invalid parameters (nothing written).
 */
#ifndef MOBILEKIT_KERNEL_MATH_H
#define MOBILEKIT_KERNEL_MATH_H

#include "mk_kernel_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Erosion / dilation (p.dilate); `filter` (kh * kw * C) may be NULL when p.has_filter == 0. */
int mk_morphology(const float* input, const float* filter, float* output, MKMorphParams p);

/* tf.image.resize(..., "bicubic", antialias=False): input (N, in_h, in_w, C) -> (N, out_h, out_w, C). */
int mk_resize_bicubic(const float* input, float* output, MKResizeParams p);

/* tf.image.resize(..., "area"). */
int mk_resize_area(const float* input, float* output, MKResizeParams p);

/* out = (1 - m) * original + m * inpainted, m = clamp(mask); mask has 1 or C channels. */
int mk_stitch(const float* original, const float* inpainted, const float* mask, float* output,
              MKStitchParams p);

/* Click maps (H, W, 2): channel 0 positive, 1 negative; raw or normalised per p.normalize. */
int mk_click_maps(const MKClick* clicks, float* output, MKClickParams p);

/* Per-pixel blur radius (N, H, W) from depth (N, H, W). */
int mk_dof_radius_map(const float* depth, int* radius, MKDofParams p);

/* Depth-of-field blur: image (N, H, W, C), depth (N, H, W) -> output (N, H, W, C). */
int mk_depth_of_field(const float* image, const float* depth, float* output, MKDofParams p);

#ifdef __cplusplus
}
#endif

#endif /* MOBILEKIT_KERNEL_MATH_H */
