"""MIL ops the TF frontend rarely or never emits, built directly with the MIL builder.

Each case builds a small MIL program (NCHW tensors), converts it to an ML program with an empty
pass pipeline (the ops stay as written), saves / loads it and runs it through the executor.
References are computed independently with TensorFlow ops (or plain NumPy where TF has no
equivalent, e.g. replicate padding), never with the executor's own code.
"""
from __future__ import annotations

import mobilekit  # noqa: F401

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
ct = pytest.importorskip("coremltools")

from coremltools.converters.mil import Builder as mb  # noqa: E402

from mobilekit.parity.mil import MilExecutionError, load_program, run_program  # noqa: E402

RNG = np.random.default_rng(7)


def rnd(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def nhwc(a):
    return np.transpose(a, (0, 2, 3, 1))


def nchw(a):
    return np.transpose(np.asarray(a), (0, 3, 1, 2))


def run_mil(fn, feeds: dict, opset=ct.target.iOS17, precision=ct.precision.FLOAT32, tmp_path=None):
    specs = []
    for name, v in feeds.items():
        dtype = ct.converters.mil.mil.types.int32 if np.issubdtype(v.dtype, np.integer) else ct.converters.mil.mil.types.fp32
        specs.append(mb.TensorSpec(shape=v.shape, dtype=dtype))
    prog = mb.program(input_specs=specs, opset_version=opset)(fn)
    pipeline = ct.PassPipeline.EMPTY
    if precision == ct.precision.FLOAT16:
        pipeline.append_pass("common::add_fp16_cast")  # the pass FLOAT16 conversion runs
    mlmodel = ct.convert(
        prog,
        convert_to="mlprogram",
        compute_precision=precision,
        minimum_deployment_target=opset,
        pass_pipeline=pipeline,
    )
    if tmp_path is not None:
        path = tmp_path / "p.mlpackage"
        mlmodel.save(str(path))
        loaded = load_program(path)
    else:
        loaded = load_program(mlmodel)
    res = run_program(loaded, feeds)
    return [res.outputs[o["name"]] for o in loaded.outputs], loaded


# --------------------------------------------------------------------------- cases
X = rnd(1, 4, 9, 11)
W_G = rnd(6, 2, 3, 3)


def case_conv_grouped_same_lower():
    w = W_G
    x = rnd(1, 4, 10, 12)  # odd total padding in both dims (1 and 3): same_lower differs from same

    def prog(x):
        return mb.conv(x=x, weight=w, groups=2, pad_type="same_lower", strides=[2, 2], dilations=[1, 2])

    def ref(x):
        # same_lower: total pad per dim, the odd pixel goes *before*
        k_eff = [3, 5]
        pads = []
        for size, k, s in zip(x.shape[2:], k_eff, [2, 2]):
            total = max(0, (int(np.ceil(size / s)) - 1) * s + k - size)
            pads.append((total - total // 2, total // 2))
        xp = tf.pad(nhwc(x), [[0, 0], list(pads[0]), list(pads[1]), [0, 0]])
        parts = [
            tf.nn.conv2d(xp[..., 2 * g : 2 * g + 2], np.transpose(w[3 * g : 3 * g + 3], (2, 3, 1, 0)), strides=2, padding="VALID", dilations=[1, 2])
            for g in range(2)
        ]
        return [nchw(tf.concat(parts, -1))]

    return prog, {"x": x}, ref


def case_conv_custom_pad_bias():
    w, b = rnd(5, 4, 2, 3), rnd(5)

    def prog(x):
        return mb.conv(x=x, weight=w, bias=b, pad_type="custom", pad=[1, 2, 0, 3], strides=[1, 2])

    def ref(x):
        xp = tf.pad(nhwc(x), [[0, 0], [1, 2], [0, 3], [0, 0]])
        return [nchw(tf.nn.conv2d(xp, np.transpose(w, (2, 3, 1, 0)), strides=[1, 2], padding="VALID") + b)]

    return prog, {"x": X}, ref


def case_conv1d_and_3d():
    w1 = rnd(3, 4, 3)
    w3 = rnd(2, 2, 2, 3, 3)
    x1, x3 = rnd(1, 4, 10), rnd(1, 2, 5, 6, 7)

    def prog(a, b):
        return mb.conv(x=a, weight=w1, pad_type="same", strides=[2]), mb.conv(x=b, weight=w3, pad_type="valid", strides=[1, 2, 1])

    def ref(a, b):
        o1 = tf.nn.conv1d(np.transpose(a, (0, 2, 1)), np.transpose(w1, (2, 1, 0)), stride=2, padding="SAME")
        o3 = tf.nn.conv3d(np.transpose(b, (0, 2, 3, 4, 1)), np.transpose(w3, (2, 3, 4, 1, 0)), strides=[1, 1, 2, 1, 1], padding="VALID")
        return [np.transpose(o1, (0, 2, 1)), np.transpose(o3, (0, 4, 1, 2, 3))]

    return prog, {"a": x1, "b": x3}, ref


def case_conv_transpose_custom_groups():
    w = rnd(4, 3, 3, 3)  # [C_in, C_out/groups, kh, kw], groups=2 -> C_out = 6

    def prog(x):
        return mb.conv_transpose(x=x, weight=w, groups=2, pad_type="custom", pad=[1, 0, 0, 1], strides=[2, 2])

    def ref(x):
        outs = []
        n, _, h, wd = x.shape
        full = ((h - 1) * 2 + 3, (wd - 1) * 2 + 3)
        for g in range(2):
            xg = nhwc(x[:, 2 * g : 2 * g + 2])
            filt = np.transpose(w[2 * g : 2 * g + 2], (2, 3, 1, 0))  # [kh, kw, out, in]
            outs.append(tf.nn.conv2d_transpose(xg, filt, (n,) + full + (3,), strides=2, padding="VALID"))
        y = tf.concat(outs, -1)[:, 1:, : full[1] - 1, :]
        return [nchw(y)]

    return prog, {"x": X}, ref


def case_pool_ceil_mode_and_padding():
    def prog(x):
        return (
            mb.max_pool(x=x, kernel_sizes=[3, 2], strides=[2, 2], pad_type="custom", pad=[1, 1, 0, 0], ceil_mode=True),
            mb.avg_pool(x=x, kernel_sizes=[2, 2], strides=[2, 2], pad_type="valid", ceil_mode=True, exclude_padding_from_average=True),
            mb.avg_pool(x=x, kernel_sizes=[3, 3], strides=[2, 2], pad_type="custom", pad=[1, 1, 1, 1], exclude_padding_from_average=False),
            mb.l2_pool(x=x, kernel_sizes=[2, 3], strides=[1, 2], pad_type="valid"),
            mb.max_pool(x=x, kernel_sizes=[2, 2], strides=[1, 1], pad_type="same_lower"),
        )

    def ref(x):
        t = nhwc(x)
        # ceil mode = extra room at the end that no window may read; emulate with -inf / masked mean
        mp = tf.nn.max_pool2d(tf.pad(t, [[0, 0], [1, 2], [0, 1], [0, 0]], constant_values=-np.inf), [3, 2], 2, "VALID")
        num = tf.nn.avg_pool2d(tf.pad(t, [[0, 0], [0, 1], [0, 1], [0, 0]]), 2, 2, "VALID")
        den = tf.nn.avg_pool2d(tf.pad(tf.ones_like(t), [[0, 0], [0, 1], [0, 1], [0, 0]]), 2, 2, "VALID")
        ap = num / den
        ap_inc = tf.nn.avg_pool2d(tf.pad(t, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 2, "VALID")
        l2 = tf.sqrt(tf.nn.avg_pool2d(tf.square(t), [2, 3], [1, 2], "VALID") * 6.0)
        msl = tf.nn.max_pool2d(tf.pad(t, [[0, 0], [1, 0], [1, 0], [0, 0]], constant_values=-np.inf), 2, 1, "VALID")
        return [nchw(mp), nchw(ap), nchw(ap_inc), nchw(l2), nchw(msl)]

    return prog, {"x": X}, ref


def case_resize_bilinear_modes():
    x = rnd(1, 2, 5, 7)
    out = (8, 4)

    def prog(x):
        return tuple(
            mb.resize_bilinear(x=x, target_size_height=out[0], target_size_width=out[1], sampling_mode=m)
            for m in ("DEFAULT", "STRICT_ALIGN_CORNERS", "ALIGN_CORNERS", "UNALIGN_CORNERS", "OFFSET_CORNERS")
        ) + (mb.resize_bilinear(x=x, target_size_height=1, target_size_width=3, sampling_mode="ALIGN_CORNERS"),)

    def ref(x):
        t = nhwc(x)
        h, w = x.shape[2:]
        default = tf.compat.v1.image.resize_bilinear(t, out, align_corners=False, half_pixel_centers=False)
        strict = tf.compat.v1.image.resize_bilinear(t, out, align_corners=True)
        unalign = tf.image.resize(t, out, method="bilinear")

        def offset_box(n_in, n_out):
            # OFFSET_CORNERS samples 0.5*d + i*d, d = max(1, n_in-1)/n_out: express as a crop box
            d = max(1, n_in - 1) / n_out
            lo = 0.5 * d / (n_in - 1)
            return lo, lo + d * (n_out - 1) / (n_in - 1)

        (y1, y2), (x1, x2) = offset_box(h, out[0]), offset_box(w, out[1])
        offset = tf.image.crop_and_resize(t, [[y1, x1, y2, x2]], [0], out, method="bilinear")
        # ALIGN_CORNERS with a single output row samples the centre row: crop_and_resize does the same
        single = tf.image.crop_and_resize(t, [[0.0, 0.0, 1.0, 1.0]], [0], (1, 3), method="bilinear")
        return [nchw(default), nchw(strict), nchw(strict), nchw(unalign), nchw(offset), nchw(single)]

    return prog, {"x": x}, ref


def case_upsample_variants():
    x = rnd(1, 3, 4, 5)

    def prog(x):
        return (
            mb.upsample_bilinear(x=x, scale_factor_height=2.0, scale_factor_width=3.0, align_corners=True),
            mb.upsample_bilinear(x=x, scale_factor_height=2.0, scale_factor_width=2.0, align_corners=False, half_pixel_centers=False),
            mb.upsample_bilinear(x=x, scale_factor_height=2.5, scale_factor_width=1.5, align_corners=False),
            mb.upsample_nearest_neighbor(x=x, scale_factor_height=2, scale_factor_width=3),
            mb.resize_nearest_neighbor(x=x, target_size_height=8, target_size_width=15),
            mb.resize_nearest_neighbor(x=x, target_size_height=7, target_size_width=9),  # non-integer ratio
            mb.resize(x=x, shape=np.array([1, 3, 7, 9], np.int32), resized_dims=np.uint32(2), interpolation_mode="LINEAR", sampling_mode="UNALIGN_CORNERS"),
            mb.resize(x=x, shape=np.array([0, 0, 8, 10], np.int32), resized_dims=np.uint32(2), interpolation_mode="NEAREST_NEIGHBOR"),
            mb.crop(x=x, crop_height=[1, 0], crop_width=[1, 2]),
        )

    def ref(x):
        t = nhwc(x)
        return [
            nchw(tf.compat.v1.image.resize_bilinear(t, (8, 15), align_corners=True)),
            nchw(tf.compat.v1.image.resize_bilinear(t, (8, 10), align_corners=False)),
            nchw(tf.image.resize(t, (10, 7), method="bilinear")),
            nchw(tf.compat.v1.image.resize_nearest_neighbor(t, (8, 15), align_corners=False, half_pixel_centers=False)),
            nchw(tf.image.resize(t, (8, 15), method="nearest")),
            nchw(tf.image.resize(t, (7, 9), method="nearest")),  # TF2 nearest = half-pixel centres
            nchw(tf.image.resize(t, (7, 9), method="bilinear")),
            nchw(tf.image.resize(t, (8, 10), method="nearest")),
            x[:, :, 1:, 1:3],
        ]

    return prog, {"x": x}, ref


def case_crop_resize():
    x = rnd(2, 3, 9, 8)
    boxes = np.array([[0.1, 0.2, 0.7, 0.9], [0.0, 0.0, 1.0, 1.0], [-0.2, 0.3, 0.5, 1.2]], np.float32)
    idx = np.array([1, 0, 1], np.int32)

    def prog(x):
        return mb.crop_resize(
            x=x, boxes=boxes, box_indices=idx, target_height=5, target_width=4,
            normalized_coordinates=True, sampling_mode="ALIGN_CORNERS", pad_value=0.25,
        )

    def ref(x):
        y = tf.image.crop_and_resize(nhwc(x), boxes, idx, (5, 4), method="bilinear", extrapolation_value=0.25)
        return [nchw(y)]

    return prog, {"x": x}, ref


def case_crop_resize_roi_ios16():
    # batch of one image: with B > 1 coremltools' type inference declares [N, B, C, th, tw] for a
    # 5-element roi while its docs (and the TF frontend, which squeezes axis 1) say [N, 1, C, th, tw];
    # the executor refuses that inconsistency (see test_crop_resize_roi_declared_shape_inconsistency)
    x = rnd(1, 3, 9, 8)
    roi = np.array([[0, 0.1, 0.2, 0.7, 0.9], [0, -0.1, 0.0, 1.0, 0.8]], np.float32).reshape(2, 1, 5, 1, 1)

    def prog(x):
        return mb.crop_resize(x=x, roi=roi, target_height=4, target_width=6, normalized_coordinates=True,
                              sampling_mode="ALIGN_CORNERS", pad_value=-1.0)

    def ref(x):
        boxes = roi.reshape(2, 5)
        y = tf.image.crop_and_resize(nhwc(x), boxes[:, 1:], boxes[:, 0].astype(np.int32), (4, 6), extrapolation_value=-1.0)
        return [np.transpose(y, (0, 3, 1, 2))[:, None]]  # [N, 1, C, th, tw]

    return prog, {"x": x}, ref


def case_norms():
    x = rnd(2, 4, 5, 6)
    g, b = rnd(5, 6), rnd(5, 6)
    gi, bi = rnd(4), rnd(4)

    def prog(x):
        return (
            mb.layer_norm(x=x, axes=[2, 3], gamma=g, beta=b, epsilon=1e-3),
            mb.layer_norm(x=x, axes=[1], epsilon=1e-5),
            mb.instance_norm(x=x, gamma=gi, beta=bi, epsilon=1e-4),
            mb.l2_norm(x=x, epsilon=1e-6),
            mb.batch_norm(x=x, mean=gi, variance=np.abs(bi) + 0.5, epsilon=1e-3),
        )

    def ref(x):
        m, v = tf.nn.moments(x, axes=[2, 3], keepdims=True)
        ln = (x - m) / tf.sqrt(v + 1e-3) * g + b
        m1, v1 = tf.nn.moments(x, axes=[1], keepdims=True)
        ln1 = (x - m1) / tf.sqrt(v1 + 1e-5)
        inn = (x - m) / tf.sqrt(v + 1e-4) * gi[:, None, None] + bi[:, None, None]
        l2 = x / tf.sqrt(tf.reduce_sum(tf.square(x), axis=[1, 2, 3], keepdims=True) + 1e-6)
        bn = tf.nn.batch_normalization(x, gi[:, None, None], (np.abs(bi) + 0.5)[:, None, None], None, None, 1e-3)
        return [ln, ln1, inn, l2, bn]

    return prog, {"x": x}, ref


def case_activations():
    x = rnd(1, 3, 4, 5, scale=2.0)
    alpha, beta = np.array([0.1, 0.2, 0.3], np.float32), np.array([0.5, 1.0, 2.0], np.float32)

    def prog(x):
        return (
            mb.prelu(x=x, alpha=alpha),
            mb.sigmoid_hard(x=x, alpha=0.2, beta=0.5),
            mb.clamped_relu(x=x, alpha=0.1, beta=1.5),
            mb.silu(x=x),
            mb.scaled_tanh(x=x, alpha=1.5, beta=0.7),
            mb.softplus_parametric(x=x, alpha=alpha, beta=beta),
            mb.linear_activation(x=x, alpha=0.5, beta=-0.25),
            mb.thresholded_relu(x=x, alpha=0.4),
            mb.gelu(x=x, mode="TANH_APPROXIMATION"),
            mb.gelu(x=x, mode="SIGMOID_APPROXIMATION"),
            mb.elu(x=x, alpha=0.3),
            mb.softmax(x=x, axis=1),
        )

    def ref(x):
        a = alpha[:, None, None]
        bt = beta[:, None, None]
        return [
            tf.where(x > 0, x, a * x),
            tf.clip_by_value(0.2 * x + 0.5, 0, 1),
            tf.minimum(tf.where(x >= 0, x, 0.1 * x), 1.5),
            tf.nn.silu(x),
            1.5 * tf.tanh(0.7 * x),
            a * tf.math.softplus(bt * x),
            0.5 * x - 0.25,
            tf.where(x >= 0.4, x, 0.0),
            tf.nn.gelu(x, approximate=True),
            x * tf.sigmoid(1.702 * x),
            tf.where(x > 0, x, 0.3 * (tf.exp(x) - 1)),
            tf.nn.softmax(x, axis=1),
        ]

    return prog, {"x": x}, ref


def case_slicing_and_shapes():
    x = rnd(2, 3, 6, 8)

    def prog(x):
        return (
            mb.slice_by_index(x=x, begin=[1, 0, 1, 7], end=[2, 3, 6, 0], stride=[1, 2, 2, -2], begin_mask=[False, True, False, False], end_mask=[False, False, True, True], squeeze_mask=[True, False, False, False]),
            mb.slice_by_size(x=x, begin=[0, 1, 2, -5], size=[-1, 2, 3, 4]),
            mb.reshape(x=x, shape=[0, -1, 8]),
            mb.flatten2d(x=x, axis=2),
            mb.concat(values=[x, mb.mul(x=x, y=2.0)], axis=1, interleave=True),
            mb.split(x=x, num_splits=2, axis=3)[1],
            mb.stack(values=[x, mb.mul(x=x, y=-1.0)], axis=2),
            mb.squeeze(x=mb.expand_dims(x=x, axes=[-1]), axes=[4]),
            mb.pad(x=x, pad=[1, 2, 3, 0], mode="replicate"),
            mb.pad(x=x, pad=[0, 0, 2, 1, 3, 3], mode="reflect"),
            mb.pad(x=x, pad=[1, 1], mode="constant", constant_val=-2.0),
            mb.sliding_windows(x=x, axis=3, size=3, stride=2),
            mb.reverse(x=x, axes=[1, -1]),
            mb.band_part(x=x, lower=1, upper=2),
            mb.pixel_shuffle(
                x=mb.concat(values=[x, mb.mul(x=x, y=0.5), mb.mul(x=x, y=-1.0), mb.add(x=x, y=1.0)], axis=1),
                upscale_factor=2,
            ),
            mb.pixel_unshuffle(x=x, downscale_factor=np.uint32(2)),
            mb.space_to_batch(x=x, block_shape=[2, 2], paddings=[[0, 0], [1, 1]]),
            mb.batch_to_space(x=mb.concat(values=[x, mb.mul(x=x, y=3.0)], axis=0), block_shape=[2, 2], crops=[[1, 0], [0, 2]]),
            mb.cumsum(x=x, axis=3, exclusive=True, reverse=True),
        )

    def ref(x):
        t = tf.constant(x)
        shuffled = np.concatenate([x, x * 0.5, -x, x + 1.0], axis=1)
        n, c, h, w = shuffled.shape
        px = shuffled.reshape(n, c // 4, 2, 2, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c // 4, h * 2, w * 2)
        n, c, h, w = x.shape
        unpx = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * 4, h // 2, w // 2)
        s2b = tf.space_to_batch_nd(nhwc(x), [2, 2], [[0, 0], [1, 1]])
        b2s = tf.batch_to_space(nhwc(np.concatenate([x, x * 3.0], 0)), [2, 2], [[1, 0], [0, 2]])
        rev_cum = tf.math.cumsum(t, axis=3, exclusive=True, reverse=True)
        return [
            tf.strided_slice(t, [1, 0, 1, 7], [2, 3, 6, 0], [1, 2, 2, -2], begin_mask=0b0010, end_mask=0b1100, shrink_axis_mask=0b0001),
            x[:, 1:3, 2:5, -5:-1],
            tf.reshape(t, [3, -1, 8]),  # iOS17 rule: a 0 copies x's dim counted from the right (x.shape[1])
            tf.reshape(t, [6, 48]),
            np.stack([x, x * 2.0], axis=2).reshape(2, 6, 6, 8),
            tf.split(t, 2, axis=3)[1],
            tf.stack([t, -t], axis=2),
            t,
            np.pad(x, [(0, 0), (0, 0), (1, 2), (3, 0)], mode="edge"),
            tf.pad(t, [[0, 0], [0, 0], [2, 1], [3, 3]], mode="REFLECT"),
            tf.pad(t, [[0, 0], [0, 0], [0, 0], [1, 1]], constant_values=-2.0),
            tf.transpose(tf.signal.frame(t, 3, 2, axis=3), [0, 1, 2, 3, 4]),
            tf.reverse(t, [1, 3]),
            tf.linalg.band_part(t, 1, 2),
            px,
            unpx,
            nchw(s2b),
            nchw(b2s),
            rev_cum,
        ]

    return prog, {"x": x}, ref


def case_gather_scatter():
    x = rnd(3, 4, 5)
    idx = np.array([[2, -1], [0, 1]], np.int32)
    along = RNG.integers(0, 4, (3, 2, 5)).astype(np.int32)
    nd = np.array([[2, 1], [0, 3], [1, 0]], np.int32)
    upd = rnd(3, 5)

    def prog(x):
        return (
            mb.gather(x=x, indices=idx, axis=1),
            mb.gather(x=x, indices=np.array([[1, 0], [3, 3], [2, 1]], np.int32), axis=1, batch_dims=1),
            mb.gather_along_axis(x=x, indices=along, axis=1),
            mb.gather_nd(x=x, indices=nd),
            mb.scatter_nd(data=x, indices=nd, updates=upd, mode="add"),
            mb.scatter_nd(data=x, indices=nd, updates=upd, mode="update"),
        )

    def ref(x):
        return [
            tf.gather(x, idx % 4, axis=1),
            tf.gather(x, [[1, 0], [3, 3], [2, 1]], axis=1, batch_dims=1),
            np.take_along_axis(x, along, axis=1),
            tf.gather_nd(x, nd),
            tf.tensor_scatter_nd_add(x, nd, upd),
            tf.tensor_scatter_nd_update(x, nd, upd),
        ]

    return prog, {"x": x}, ref


def case_elementwise_extra():
    x = rnd(2, 3, 4) * 3
    y = rnd(2, 3, 4) * 2 + 0.1

    def prog(x, y):
        return (
            mb.mod(x=x, y=y),
            mb.floor_div(x=x, y=y),
            mb.inverse(x=mb.abs(x=x), epsilon=0.5),
            mb.log(x=mb.abs(x=x), epsilon=0.1),
            mb.rsqrt(x=mb.abs(x=x), epsilon=0.2),
            mb.atan(x=x),
            mb.tanh(x=x),
            mb.exp2(x=x),
            mb.threshold(x=x, alpha=0.3),
            mb.clip(x=x, alpha=-1.0, beta=0.5),
            mb.select(cond=mb.logical_xor(x=mb.greater(x=x, y=0.0), y=mb.less(x=y, y=0.0)), a=x, b=y),
            mb.cast(x=mb.cast(x=x, dtype="int32"), dtype="fp32"),
            mb.cast(x=mb.not_equal(x=mb.floor(x=x), y=mb.ceil(x=x)), dtype="fp32"),
            mb.round(x=mb.mul(x=x, y=2.0)),
        )

    def ref(x, y):
        return [
            tf.math.floormod(x, y), tf.math.floordiv(x, y), 1.0 / (np.abs(x) + 0.5), tf.math.log(np.abs(x) + 0.1),
            1.0 / tf.sqrt(np.abs(x) + 0.2), tf.atan(x), tf.tanh(x), tf.pow(2.0, x), tf.maximum(x, 0.3),
            tf.clip_by_value(x, -1.0, 0.5), tf.where(tf.math.logical_xor(x > 0, y < 0), x, y),
            tf.cast(tf.cast(x, tf.int32), tf.float32), tf.cast(tf.floor(x) != tf.math.ceil(x), tf.float32),
            tf.round(x * 2.0),
        ]

    return prog, {"x": x, "y": y}, ref


def case_reductions_linalg():
    x = rnd(2, 3, 4, 5)
    a, b = rnd(2, 3, 4), rnd(2, 5, 4)
    w, bias = rnd(6, 4), rnd(6)

    def prog(x, a, b):
        return (
            mb.reduce_l1_norm(x=x, axes=[1, 3]),
            mb.reduce_log_sum(x=mb.abs(x=x), axes=[2], keep_dims=True),
            mb.reduce_sum_square(x=x, axes=[-1]),
            mb.reduce_log_sum_exp(x=x, axes=[0, 2]),
            mb.reduce_prod(x=x, axes=[3]),
            mb.cast(x=mb.reduce_argmin(x=x, axis=2, keep_dims=True), dtype="fp32"),
            mb.matmul(x=a, y=b, transpose_y=True),
            mb.linear(x=a, weight=w, bias=bias),
            mb.einsum(
                values=(mb.slice_by_size(x=x, begin=[0, 0, 0, 0], size=[-1, -1, -1, 4]),
                        mb.transpose(x=mb.slice_by_size(x=x, begin=[0, 0, 0, 0], size=[-1, -1, -1, 4]), perm=[0, 3, 2, 1])),
                equation="nchw,nwhu->nchu",
            ),
            mb.topk(x=x, k=2, axis=-1)[0],
            mb.cast(x=mb.topk(x=x, k=3, axis=1, ascending=True)[1], dtype="fp32"),
            mb.cast(x=mb.argsort(x=x, axis=-1), dtype="fp32"),
        )

    def ref(x, a, b):
        xs = x[:, :, :, :4]
        return [
            tf.reduce_sum(tf.abs(x), axis=[1, 3]), tf.math.log(tf.reduce_sum(tf.abs(x), axis=[2], keepdims=True)),
            tf.reduce_sum(tf.square(x), axis=-1), tf.reduce_logsumexp(x, axis=[0, 2]), tf.reduce_prod(x, axis=3),
            tf.cast(tf.argmin(x, axis=2), tf.float32)[:, :, None, :],
            tf.matmul(a, b, transpose_b=True), tf.matmul(a, w.T) + bias,
            tf.einsum("nchw,nwhu->nchu", xs, np.transpose(xs, (0, 3, 2, 1))),
            tf.math.top_k(x, 2).values,
            tf.cast(tf.transpose(tf.math.top_k(-tf.transpose(x, [0, 2, 3, 1]), 3).indices, [0, 3, 1, 2]), tf.float32),
            tf.cast(tf.argsort(x, axis=-1, direction="DESCENDING", stable=True), tf.float32),
        ]

    return prog, {"x": x, "a": a, "b": b}, ref


def case_fill_range_shape():
    x = rnd(2, 3, 4)

    def prog(x):
        shp = mb.shape(x=x)
        n = mb.cast(x=mb.reduce_prod(x=shp), dtype="fp32")
        return (
            mb.cast(x=shp, dtype="fp32"),
            mb.add(x=mb.fill(shape=shp, value=1.5), y=x),
            mb.range_1d(start=0.5, end=n, step=2.5),
            mb.add(x=mb.fill_like(ref_tensor=x, value=-2.0), y=x),
            mb.cast(x=mb.one_hot(indices=np.array([2, 0, 3], np.int32), one_hot_vector_size=5, axis=0, on_value=3, off_value=-1), dtype="fp32"),
        )

    def ref(x):
        return [np.array(x.shape, np.float32), x + 1.5, tf.range(0.5, float(x.size), 2.5), x - 2.0,
                tf.transpose(tf.one_hot([2, 0, 3], 5, on_value=3.0, off_value=-1.0))]

    return prog, {"x": x}, ref


CASES = {
    "fill_range_shape": case_fill_range_shape,
    "conv_grouped_same_lower": case_conv_grouped_same_lower,
    "conv_custom_pad_bias": case_conv_custom_pad_bias,
    "conv1d_and_3d": case_conv1d_and_3d,
    "conv_transpose_custom_groups": case_conv_transpose_custom_groups,
    "pool_ceil_mode_and_padding": case_pool_ceil_mode_and_padding,
    "resize_bilinear_modes": case_resize_bilinear_modes,
    "upsample_variants": case_upsample_variants,
    "crop_resize": case_crop_resize,
    "crop_resize_roi_ios16": case_crop_resize_roi_ios16,
    "norms": case_norms,
    "activations": case_activations,
    "slicing_and_shapes": case_slicing_and_shapes,
    "elementwise_extra": case_elementwise_extra,
    "gather_scatter": case_gather_scatter,
    "reductions_linalg": case_reductions_linalg,
}


OPSETS = {"crop_resize_roi_ios16": ct.target.iOS16}  # op forms that only exist in older opsets


@pytest.mark.parametrize("name", sorted(CASES))
def test_mil_op_matches_tensorflow(name, tmp_path):
    prog, feeds, ref = CASES[name]()
    outs, loaded = run_mil(prog, feeds, opset=OPSETS.get(name, ct.target.iOS17), tmp_path=tmp_path)
    refs = ref(**feeds)
    assert len(outs) == len(refs)
    for k, (o, r) in enumerate(zip(outs, refs)):
        r = np.asarray(r, dtype=np.float32)
        assert o.shape == r.shape, f"{name} output {k}: shape {o.shape} vs TF {r.shape}"
        err = float(np.abs(o.astype(np.float32) - r).max()) if r.size else 0.0
        assert err <= 1e-5 * max(1.0, float(np.abs(r).max())), f"{name} output {k}: max-abs {err:.3g}"


@pytest.mark.parametrize("name", ["conv_grouped_same_lower", "pool_ceil_mode_and_padding", "resize_bilinear_modes", "norms", "activations"])
def test_mil_op_fp16_program(name):
    prog, feeds, ref = CASES[name]()
    outs, loaded = run_mil(prog, feeds, precision=ct.precision.FLOAT16)
    assert loaded.compute_precision == "fp16"
    errs = []
    for o, r in zip(outs, ref(**feeds)):
        r = np.asarray(r, dtype=np.float64)
        err = np.abs(o.astype(np.float64) - r).max()
        assert err <= 4e-3 * max(1.0, np.abs(r).max())
        errs.append(err)
    assert max(errs) > 1e-5  # fp16 rounding really happened


def test_scatter_modes():
    x = rnd(3, 4, 5)
    upd = rnd(3, 2, 5)
    along_idx = np.array([[[1, 0, 3, 2, 1]], [[0, 0, 1, 1, 2]], [[3, 2, 1, 0, 0]]], np.int32)

    def prog(x):
        return (
            mb.scatter(data=x, indices=np.array([3, 0], np.int32), updates=upd, axis=1, mode="update"),
            mb.scatter(data=x, indices=np.array([1, 1], np.int32), updates=upd, axis=1, mode="add"),
            mb.scatter_along_axis(data=x, indices=along_idx, updates=np.ones((3, 1, 5), np.float32), axis=1, mode="add"),
        )

    outs, _ = run_mil(prog, {"x": x})
    t = np.transpose(x, (1, 0, 2))  # scatter along axis 1 == tensor_scatter on the moved axis
    u = np.transpose(upd, (1, 0, 2))
    upd_ref = np.transpose(tf.tensor_scatter_nd_update(t, [[3], [0]], u).numpy(), (1, 0, 2))
    add_ref = np.transpose(tf.tensor_scatter_nd_add(t, [[1], [1]], u).numpy(), (1, 0, 2))
    along_ref = x.copy()
    for b in range(3):
        for j in range(5):
            along_ref[b, along_idx[b, 0, j], j] += 1.0
    np.testing.assert_allclose(outs[0], upd_ref, atol=1e-6)
    np.testing.assert_allclose(outs[1], add_ref, atol=1e-6)
    np.testing.assert_allclose(outs[2], along_ref, atol=1e-6)


def test_control_flow_cond_and_while_loop():
    def prog(x):
        pred = mb.greater(x=mb.reduce_sum(x=x), y=0.0)
        branch = mb.cond(pred=pred, _true_fn=lambda: mb.mul(x=x, y=2.0), _false_fn=lambda: mb.sub(x=x, y=1.0))

        def cond_fn(i, acc):
            return mb.less(x=i, y=5.0)

        def body_fn(i, acc):
            return mb.add(x=i, y=1.0), mb.add(x=acc, y=mb.mul(x=acc, y=0.5))

        _, looped = mb.while_loop(_cond=cond_fn, _body=body_fn, loop_vars=(np.float32(0.0), x))
        return branch, looped

    for x in (np.full((2, 3), 0.5, np.float32), np.full((2, 3), -0.5, np.float32)):
        outs, _ = run_mil(prog, {"x": x}, opset=ct.target.iOS16)
        expect_branch = x * 2.0 if x.sum() > 0 else x - 1.0
        np.testing.assert_allclose(outs[0], expect_branch, atol=1e-6)
        np.testing.assert_allclose(outs[1], x * 1.5**5, rtol=1e-6)


def test_crop_resize_roi_declared_shape_inconsistency():
    x = rnd(2, 3, 9, 8)
    roi = np.array([[1, 0.1, 0.2, 0.7, 0.9]], np.float32).reshape(1, 1, 5, 1, 1)

    def prog(x):
        return mb.crop_resize(x=x, roi=roi, target_height=4, target_width=6, normalized_coordinates=True)

    with pytest.raises(MilExecutionError, match=r"produced shape \(1, 1, 3, 4, 6\).*declares \(1, 2, 3, 4, 6\)"):
        run_mil(prog, {"x": x}, opset=ct.target.iOS16)
