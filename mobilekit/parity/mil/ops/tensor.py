"""Shape and data-movement ops: reshape / transpose / concat / split / slice / pad / gather /
scatter / tile / depth_to_space ... (iOS15..iOS18 forms).

A declared table: one small implementation per MIL op type of this group (about 40 ops), longer
than the ~400-line module guideline because splitting the group would only scatter it.

Notes on the less obvious semantics (from the coremltools op definitions):
- reshape: `0` copies a dim of x, matched from the right (iOS17 rule; identical to the iOS15 rule
  whenever len(shape) == rank(x), the only case iOS15 allows); `-1` is inferred.
- slice_by_index: NumPy slicing; begin_mask/end_mask ignore begin/end; squeeze_mask takes the
  single element at begin and drops the axis.
- pad: `pad` covers the last len(pad)/2 axes, [before, after] per axis; modes constant / reflect
  (edge not repeated) / replicate.
- depth_to_space: TF order (DCR): out[n, c, h*b+i, w*b+j] = x[n, (i*b+j)*C' + c, h, w];
  pixel_shuffle: PyTorch order (CRD): out[n, c, h*f+i, w*f+j] = x[n, c*f*f + i*f + j, h, w].
- concat interleave: outputs take slices from each input in turn along `axis`.
"""
from __future__ import annotations

import numpy as np

from mobilekit.parity.mil.ops.registry import mil_op
from mobilekit.parity.mil.ops._common import as_list, norm_axis


@mil_op("identity")
def identity(call):
    return call["x"]


@mil_op("reshape")
def reshape(call):
    x = np.asarray(call["x"])
    shape = [int(s) for s in as_list(call["shape"])]
    k, r = len(shape), x.ndim
    for i, s in enumerate(shape):
        if s == 0:
            j = r - (k - i)
            shape[i] = x.shape[j] if 0 <= j < r else 1
    return x.reshape(shape)


@mil_op("reshape_like")
def reshape_like(call):
    x = np.asarray(call["x"])
    refs = call["ref_tensors"]
    begins, ends, masks = call["begins"], call["ends"], call["end_masks"]
    shape: list[int] = []
    for ref, b, e, m in zip(refs, begins, ends, masks):
        dims = np.asarray(ref).shape
        shape += list(dims[int(b) :] if bool(m) else dims[int(b) : int(e)])
    return x.reshape(shape)


@mil_op("transpose")
def transpose(call):
    return np.transpose(call["x"], [int(p) for p in as_list(call["perm"])])


@mil_op("squeeze")
def squeeze(call):
    x = np.asarray(call["x"])
    axes = call.get("axes")
    if axes is None:
        return np.squeeze(x)
    axes = tuple(norm_axis(a, x.ndim) for a in as_list(axes))
    return np.squeeze(x, axis=tuple(a for a in axes if x.shape[a] == 1))  # PyTorch rule: ignore non-1


@mil_op("expand_dims")
def expand_dims(call):
    x = np.asarray(call["x"])
    out_rank = x.ndim + len(as_list(call["axes"]))
    axes = sorted(a + out_rank if a < 0 else a for a in (int(v) for v in as_list(call["axes"])))
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return x.reshape(shape)


@mil_op("flatten2d")
def flatten2d(call):
    x = np.asarray(call["x"])
    axis = int(call.get("axis", 1))
    axis = axis + x.ndim if axis < 0 else axis
    return x.reshape(int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:])))


@mil_op("concat")
def concat(call):
    values = [np.asarray(v) for v in call["values"]]
    axis = norm_axis(call["axis"], values[0].ndim)
    if bool(call.get("interleave", False)):
        stacked = np.stack(values, axis=axis + 1)  # [..., d, n_inputs, ...]
        shape = list(values[0].shape)
        shape[axis] *= len(values)
        return stacked.reshape(shape)
    return np.concatenate(values, axis=axis)


@mil_op("stack")
def stack(call):
    return np.stack([np.asarray(v) for v in call["values"]], axis=int(call["axis"]))


@mil_op("split")
def split(call):
    x = np.asarray(call["x"])
    axis = norm_axis(call["axis"], x.ndim)
    sizes = call.get("split_sizes")
    if sizes is not None:
        cuts = np.cumsum([int(s) for s in as_list(sizes)])[:-1]
    else:
        n = int(call.get("num_splits", len(call.op.outputs)))
        cuts = np.cumsum([x.shape[axis] // n] * n)[:-1]
    return tuple(np.split(x, cuts, axis=axis))


def _index_slices(shape, call):
    rank = len(shape)
    begin = [int(v) for v in as_list(call["begin"])]
    end = [int(v) for v in as_list(call["end"])]
    stride = [int(v) for v in as_list(call.get("stride"))] or [1] * rank
    begin_mask = [bool(v) for v in as_list(call.get("begin_mask"))] or [False] * rank
    end_mask = [bool(v) for v in as_list(call.get("end_mask"))] or [False] * rank
    squeeze_mask = [bool(v) for v in as_list(call.get("squeeze_mask"))] or [False] * rank
    slices, squeeze_axes = [], []
    for i in range(rank):
        if squeeze_mask[i]:
            b = begin[i] + shape[i] if begin[i] < 0 else begin[i]
            slices.append(slice(b, b + 1))
            squeeze_axes.append(i)
            continue
        b = None if begin_mask[i] else begin[i]
        e = None if end_mask[i] else end[i]
        slices.append(slice(b, e, stride[i]))
    return tuple(slices), tuple(squeeze_axes)


@mil_op("slice_by_index")
def slice_by_index(call):
    x = np.asarray(call["x"])
    slices, squeeze_axes = _index_slices(x.shape, call)
    out = x[slices]
    return np.squeeze(out, axis=squeeze_axes) if squeeze_axes else out


@mil_op("slice_update")
def slice_update(call):
    x = np.array(call["x"], copy=True)
    slices, squeeze_axes = _index_slices(x.shape, call)
    update = np.asarray(call["update"])
    target_shape = x[slices].shape
    x[slices] = update.reshape(target_shape)
    return x


@mil_op("slice_by_size")
def slice_by_size(call):
    x = np.asarray(call["x"])
    begin = [int(v) for v in as_list(call["begin"])]
    size = [int(v) for v in as_list(call["size"])]
    slices = []
    for i, (b, s) in enumerate(zip(begin, size)):
        b = b + x.shape[i] if b < 0 else b
        slices.append(slice(b, None) if s == -1 else slice(b, b + s))
    return x[tuple(slices)]


@mil_op("tile")
def tile(call):
    return np.tile(call["x"], [int(r) for r in as_list(call["reps"])])


@mil_op("pad")
def pad(call):
    x = np.asarray(call["x"])
    p = [int(v) for v in as_list(call["pad"])]
    n = len(p) // 2
    widths = [(0, 0)] * (x.ndim - n) + [(p[2 * i], p[2 * i + 1]) for i in range(n)]
    mode = str(call.get("mode", "constant")).lower()
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=np.asarray(call.get("constant_val", 0.0)).item())
    if mode == "reflect":
        return np.pad(x, widths, mode="reflect")
    if mode == "replicate":
        return np.pad(x, widths, mode="edge")
    raise ValueError(f"unknown pad mode {mode!r}")


@mil_op("reverse")
def reverse(call):
    x = np.asarray(call["x"])
    axes = call.get("axes")
    axes = tuple(range(x.ndim)) if axes is None else tuple(int(a) for a in as_list(axes))
    return np.flip(x, axis=axes)


@mil_op("reverse_sequence")
def reverse_sequence(call):
    x = np.array(call["x"], copy=True)
    lengths = [int(v) for v in as_list(call["lengths"])]
    seq_axis = norm_axis(call.get("seq_axis", 0), x.ndim)
    batch_axis = norm_axis(call.get("batch_axis", 0), x.ndim)
    src = np.asarray(call["x"])
    for b, length in enumerate(lengths):
        idx = [slice(None)] * x.ndim
        idx[batch_axis] = b
        idx[seq_axis] = slice(0, length)
        sub = src[tuple(idx)]
        # seq axis position inside `sub` shifts down by one if batch axis came before it
        sa = seq_axis - (1 if batch_axis < seq_axis else 0)
        x[tuple(idx)] = np.flip(sub, axis=sa)
    return x


def _gather_batched(x, indices, axis, batch_dims, fn):
    if batch_dims == 0:
        return fn(x, indices, axis)
    bshape = x.shape[:batch_dims]
    xb = x.reshape((-1,) + x.shape[batch_dims:])
    ib = indices.reshape((-1,) + indices.shape[batch_dims:])
    outs = [fn(xb[i], ib[i], axis - batch_dims) for i in range(xb.shape[0])]
    out = np.stack(outs)
    return out.reshape(tuple(bshape) + out.shape[1:])


@mil_op("gather")
def gather(call):
    x = np.asarray(call["x"])
    indices = np.asarray(call["indices"]).astype(np.int64)
    axis = norm_axis(call.get("axis", 0), x.ndim)
    batch_dims = int(call.get("batch_dims", 0))
    return _gather_batched(x, indices, axis, batch_dims, lambda a, i, ax: np.take(a, i, axis=ax))


@mil_op("gather_along_axis")
def gather_along_axis(call):
    x = np.asarray(call["x"])
    indices = np.asarray(call["indices"]).astype(np.int64)
    axis = norm_axis(call.get("axis", 0), x.ndim)
    indices = np.where(indices < 0, indices + x.shape[axis], indices)
    return np.take_along_axis(x, indices, axis=axis)


def _gather_nd_plain(x, indices):
    k = indices.shape[-1]
    flat = indices.reshape(-1, k)
    out = np.stack([x[tuple(int(v) for v in row)] for row in flat]) if flat.shape[0] else np.zeros((0,) + x.shape[k:], x.dtype)
    return out.reshape(indices.shape[:-1] + x.shape[k:])


@mil_op("gather_nd")
def gather_nd(call):
    x = np.asarray(call["x"])
    indices = np.asarray(call["indices"]).astype(np.int64)
    batch_dims = int(call.get("batch_dims", 0))
    if batch_dims == 0:
        return _gather_nd_plain(x, indices)
    bshape = x.shape[:batch_dims]
    xb = x.reshape((-1,) + x.shape[batch_dims:])
    ib = indices.reshape((-1,) + indices.shape[batch_dims:])
    out = np.stack([_gather_nd_plain(xb[i], ib[i]) for i in range(xb.shape[0])])
    return out.reshape(tuple(bshape) + out.shape[1:])


_SCATTER_MODES = {
    "update": lambda old, new: new,
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "div": np.true_divide,
    "max": np.maximum,
    "min": np.minimum,
}


def _scatter_apply(data, index_tuples, updates, mode):
    fn = _SCATTER_MODES[mode]
    for idx, upd in zip(index_tuples, updates):
        data[idx] = fn(data[idx], upd)
    return data


@mil_op("scatter")
def scatter(call):
    data = np.array(call["data"], copy=True)
    indices = np.asarray(call["indices"]).astype(np.int64).reshape(-1)
    updates = np.asarray(call["updates"])
    axis = norm_axis(call.get("axis", 0), data.ndim)
    mode = str(call.get("mode", "update")).lower()
    moved = np.moveaxis(data, axis, 0)  # view
    upd = np.moveaxis(updates, axis, 0)
    _scatter_apply(moved, [int(i) for i in indices], upd, mode)
    return data


@mil_op("scatter_along_axis")
def scatter_along_axis(call):
    data = np.array(call["data"], copy=True)
    indices = np.asarray(call["indices"]).astype(np.int64)
    updates = np.asarray(call["updates"])
    axis = norm_axis(call.get("axis", 0), data.ndim)
    mode = str(call.get("mode", "add")).lower()
    indices = np.where(indices < 0, indices + data.shape[axis], indices)
    tuples = []
    for pos in np.ndindex(*indices.shape):
        tgt = list(pos)
        tgt[axis] = int(indices[pos])
        tuples.append(tuple(tgt))
    return _scatter_apply(data, tuples, [updates[p] for p in np.ndindex(*indices.shape)], mode)


@mil_op("scatter_nd")
def scatter_nd(call):
    data = np.array(call["data"], copy=True)
    indices = np.asarray(call["indices"]).astype(np.int64)
    updates = np.asarray(call["updates"])
    mode = str(call.get("mode", "add")).lower()
    k = indices.shape[-1]
    flat_idx = indices.reshape(-1, k)
    flat_upd = updates.reshape((-1,) + data.shape[k:])
    return _scatter_apply(data, [tuple(int(v) for v in row) for row in flat_idx], list(flat_upd), mode)


@mil_op("depth_to_space")
def depth_to_space(call):
    x = np.asarray(call["x"])
    b = int(call["block_size"])
    n, c, h, w = x.shape
    y = x.reshape(n, b, b, c // (b * b), h, w)  # [n, i, j, c', h, w]
    y = y.transpose(0, 3, 4, 1, 5, 2)  # [n, c', h, i, w, j]
    return y.reshape(n, c // (b * b), h * b, w * b)


@mil_op("space_to_depth")
def space_to_depth(call):
    x = np.asarray(call["x"])
    b = int(call["block_size"])
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b)  # [n, c, h', i, w', j]
    y = y.transpose(0, 3, 5, 1, 2, 4)  # [n, i, j, c, h', w']
    return y.reshape(n, c * b * b, h // b, w // b)


@mil_op("pixel_shuffle")
def pixel_shuffle(call):
    x = np.asarray(call["x"])
    f = int(call["upscale_factor"])
    n, c, h, w = x.shape
    y = x.reshape(n, c // (f * f), f, f, h, w).transpose(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // (f * f), h * f, w * f)


@mil_op("pixel_unshuffle")
def pixel_unshuffle(call):
    x = np.asarray(call["x"])
    f = int(call["downscale_factor"])
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // f, f, w // f, f).transpose(0, 1, 3, 5, 2, 4)
    return y.reshape(n, c * f * f, h // f, w // f)


@mil_op("space_to_batch")
def space_to_batch(call):
    x = np.asarray(call["x"])
    bh, bw = [int(v) for v in as_list(call["block_shape"])]
    p = np.asarray(call["paddings"]).reshape(2, 2)
    x = np.pad(x, [(0, 0), (0, 0), tuple(p[0]), tuple(p[1])])
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // bh, bh, w // bw, bw).transpose(3, 5, 0, 1, 2, 4)  # [i, j, n, c, h', w']
    return y.reshape(bh * bw * n, c, h // bh, w // bw)


@mil_op("batch_to_space")
def batch_to_space(call):
    x = np.asarray(call["x"])
    bh, bw = [int(v) for v in as_list(call["block_shape"])]
    crops = np.asarray(call["crops"]).reshape(2, 2)
    nb, c, h, w = x.shape
    n = nb // (bh * bw)
    y = x.reshape(bh, bw, n, c, h, w).transpose(2, 3, 4, 0, 5, 1).reshape(n, c, h * bh, w * bw)
    return y[:, :, crops[0][0] : h * bh - crops[0][1], crops[1][0] : w * bw - crops[1][1]]


@mil_op("shape")
def shape(call):
    return np.asarray(np.shape(call["x"]), dtype=np.int32)


@mil_op("fill")
def fill(call):
    return np.full([int(s) for s in as_list(call["shape"])], np.asarray(call.get("value", 0.0)).item())


@mil_op("fill_like")
def fill_like(call):
    return np.full(np.shape(call["ref_tensor"]), np.asarray(call.get("value", 0.0)).item())


@mil_op("range_1d")
def range_1d(call):
    return np.arange(np.asarray(call["start"]).item(), np.asarray(call["end"]).item(), np.asarray(call["step"]).item())


@mil_op("band_part")
def band_part(call):
    x = np.asarray(call["x"])
    lower, upper = int(call.get("lower", -1)), int(call.get("upper", -1))
    m, n = x.shape[-2:]
    i = np.arange(m)[:, None]
    j = np.arange(n)[None, :]
    keep = ((lower < 0) | (i - j <= lower)) & ((upper < 0) | (j - i <= upper))
    return np.where(keep, x, np.zeros((), x.dtype))


@mil_op("cumsum")
def cumsum(call):
    x = np.asarray(call["x"])
    axis = norm_axis(call.get("axis", 0), x.ndim)
    if bool(call.get("reverse", False)):
        x = np.flip(x, axis)
    out = np.cumsum(x, axis=axis)
    if bool(call.get("exclusive", False)):
        out = out - x
    if bool(call.get("reverse", False)):
        out = np.flip(out, axis)
    return out


@mil_op("one_hot")
def one_hot(call):
    indices = np.asarray(call["indices"]).astype(np.int64)
    depth = int(call["one_hot_vector_size"])
    axis = int(call.get("axis", -1))
    on, off = np.asarray(call.get("on_value", 1)).item(), np.asarray(call.get("off_value", 0)).item()
    hot = indices[..., None] == np.arange(depth)
    out = np.where(hot, on, off)
    axis = axis + out.ndim if axis < 0 else axis
    return np.moveaxis(out, -1, axis)


def _sorted_indices(x, axis, ascending):
    # stable sort; descending keeps the first of equal values first (like TF top_k)
    return np.argsort(x if ascending else -x, axis=axis, kind="stable")


@mil_op("argsort")
def argsort(call):
    x = np.asarray(call["x"])
    axis = int(call.get("axis", -1))
    return _sorted_indices(x, axis, bool(call.get("ascending", False))).astype(np.int32)


@mil_op("topk")
def topk(call):
    x = np.asarray(call["x"])
    axis = norm_axis(call.get("axis", -1), x.ndim)
    k = int(call.get("k", 1))
    idx = np.take(_sorted_indices(x, axis, bool(call.get("ascending", False))), np.arange(k), axis=axis)
    values = np.take_along_axis(x, idx, axis=axis)
    if len(call.op.outputs) == 1:
        return values
    return values, idx.astype(np.int32)


@mil_op("non_zero")
def non_zero(call):
    return np.argwhere(np.asarray(call["x"]) != 0).astype(np.int32)


@mil_op("sliding_windows")
def sliding_windows(call):
    x = np.asarray(call["x"])
    axis = norm_axis(call["axis"], x.ndim)
    size = int(call["size"])
    stride = int(call.get("stride", 1))
    n = (x.shape[axis] - size) // stride + 1
    parts = [np.take(x, np.arange(i * stride, i * stride + size), axis=axis) for i in range(n)]
    return np.stack(parts, axis=axis)
