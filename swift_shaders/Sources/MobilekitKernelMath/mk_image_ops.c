/* Whole-image loops over mk_kernel_math.h (see MobilekitKernelMath.h). */
#include "MobilekitKernelMath.h"

#include <stddef.h>

#define MK_EINVAL (-1)

static ptrdiff_t mk_plane(int h, int w, int c) { return (ptrdiff_t)h * w * c; }

int mk_morphology(const float* input, const float* filter, float* output, MKMorphParams p) {
    if (!input || !output || p.batch < 0 || p.height <= 0 || p.width <= 0 || p.channels <= 0) return MK_EINVAL;
    if (p.kernel_height <= 0 || p.kernel_width <= 0 || p.kernel_height % 2 == 0 || p.kernel_width % 2 == 0)
        return MK_EINVAL;
    if (p.has_filter && !filter) return MK_EINVAL;
    const ptrdiff_t plane = mk_plane(p.height, p.width, p.channels);
    for (int n = 0; n < p.batch; ++n) {
        const float* img = input + n * plane;
        float* out = output + n * plane;
        for (int y = 0; y < p.height; ++y)
            for (int x = 0; x < p.width; ++x)
                for (int c = 0; c < p.channels; ++c)
                    out[mk_index(y, x, c, p.width, p.channels)] = mk_morph_pixel(img, filter, p, y, x, c);
    }
    return 0;
}

static int mk_resize_valid(const float* input, const float* output, MKResizeParams p) {
    return input && output && p.batch >= 0 && p.in_height > 0 && p.in_width > 0 && p.channels > 0 &&
           p.out_height > 0 && p.out_width > 0;
}

int mk_resize_bicubic(const float* input, float* output, MKResizeParams p) {
    if (!mk_resize_valid(input, output, p)) return MK_EINVAL;
    const ptrdiff_t in_plane = mk_plane(p.in_height, p.in_width, p.channels);
    const ptrdiff_t out_plane = mk_plane(p.out_height, p.out_width, p.channels);
    for (int n = 0; n < p.batch; ++n)
        for (int y = 0; y < p.out_height; ++y)
            for (int x = 0; x < p.out_width; ++x)
                for (int c = 0; c < p.channels; ++c)
                    output[n * out_plane + mk_index(y, x, c, p.out_width, p.channels)] =
                        mk_bicubic_pixel(input + n * in_plane, p, y, x, c);
    return 0;
}

int mk_resize_area(const float* input, float* output, MKResizeParams p) {
    if (!mk_resize_valid(input, output, p)) return MK_EINVAL;
    const ptrdiff_t in_plane = mk_plane(p.in_height, p.in_width, p.channels);
    const ptrdiff_t out_plane = mk_plane(p.out_height, p.out_width, p.channels);
    for (int n = 0; n < p.batch; ++n)
        for (int y = 0; y < p.out_height; ++y)
            for (int x = 0; x < p.out_width; ++x)
                for (int c = 0; c < p.channels; ++c)
                    output[n * out_plane + mk_index(y, x, c, p.out_width, p.channels)] =
                        mk_area_pixel(input + n * in_plane, p, y, x, c);
    return 0;
}

int mk_stitch(const float* original, const float* inpainted, const float* mask, float* output,
              MKStitchParams p) {
    if (!original || !inpainted || !mask || !output || p.pixels < 0 || p.channels <= 0) return MK_EINVAL;
    if (p.mask_channels != 1 && p.mask_channels != p.channels) return MK_EINVAL;
    for (ptrdiff_t i = 0; i < p.pixels; ++i)
        for (int c = 0; c < p.channels; ++c) {
            const ptrdiff_t k = i * p.channels + c;
            const float m = mask[i * p.mask_channels + (p.mask_channels == 1 ? 0 : c)];
            output[k] = mk_stitch_value(original[k], inpainted[k], m);
        }
    return 0;
}

int mk_click_maps(const MKClick* clicks, float* output, MKClickParams p) {
    if (!output || p.height <= 0 || p.width <= 0 || p.num_clicks < 0 || !(p.truncate > 0.0f)) return MK_EINVAL;
    if (p.num_clicks > 0 && !clicks) return MK_EINVAL;
    for (int i = 0; i < p.num_clicks; ++i)
        if (clicks[i].y < 0 || clicks[i].y >= p.height || clicks[i].x < 0 || clicks[i].x >= p.width)
            return MK_EINVAL;
    for (int y = 0; y < p.height; ++y)
        for (int x = 0; x < p.width; ++x)
            for (int ch = 0; ch < 2; ++ch) {
                float d = mk_click_distance(clicks, p.num_clicks, ch == 0, y, x, p.truncate);
                if (p.normalize) d = mk_click_normalize(d, p.truncate);
                output[mk_index(y, x, ch, p.width, 2)] = d;
            }
    return 0;
}

static int mk_dof_valid(MKDofParams p) {
    return p.batch >= 0 && p.height > 0 && p.width > 0 && p.channels > 0 && p.max_radius >= 0;
}

int mk_dof_radius_map(const float* depth, int* radius, MKDofParams p) {
    if (!depth || !radius || !mk_dof_valid(p)) return MK_EINVAL;
    const ptrdiff_t count = (ptrdiff_t)p.batch * p.height * p.width;
    for (ptrdiff_t i = 0; i < count; ++i)
        radius[i] = mk_dof_radius(depth[i], p.focal_depth, p.strength, p.max_radius);
    return 0;
}

int mk_depth_of_field(const float* image, const float* depth, float* output, MKDofParams p) {
    if (!image || !depth || !output || !mk_dof_valid(p)) return MK_EINVAL;
    const ptrdiff_t plane = mk_plane(p.height, p.width, p.channels);
    const ptrdiff_t dplane = (ptrdiff_t)p.height * p.width;
    for (int n = 0; n < p.batch; ++n) {
        const float* img = image + n * plane;
        for (int y = 0; y < p.height; ++y)
            for (int x = 0; x < p.width; ++x) {
                const int r = mk_dof_radius(depth[n * dplane + (ptrdiff_t)y * p.width + x], p.focal_depth,
                                            p.strength, p.max_radius);
                for (int c = 0; c < p.channels; ++c)
                    output[n * plane + mk_index(y, x, c, p.width, p.channels)] = mk_dof_pixel(img, p, y, x, c, r);
            }
    }
    return 0;
}
