"""Compressed-weight ops (constexpr_*, iOS16 and iOS18 forms) and iOS17 quantize / dequantize.

These are decompressed here independently of coremltools' own `decompress` helpers (tests compare
the two). Bit packing (iOS16): elements are packed one byte at a time starting with the least
significant bit; an n-bit element may straddle two bytes. iOS18 sub-byte types (uint1..uint6,
int4) arrive from the milproto loader already unpacked, one element per uint8/int8.

- constexpr_affine_dequantize (iOS16): scale * (quantized_data - zero_point); scale/zero_point
  scalar or a vector along `axis`.
- constexpr_blockwise_shift_scale (iOS18): scale[block] * (data - offset[block]), block size per
  axis = data.shape[i] / scale.shape[i].
- constexpr_lut_to_dense: iOS16 lut [2^n], packed `indices`, `shape`; iOS18 lut
  [*blocks, 2^n, VECTOR_SIZE] with unpacked indices, one LUT per block (block size per axis =
  indices.shape[i] / lut.shape[i]), vectors laid out along `vector_axis`.
- constexpr_sparse_to_dense: iOS16 packed bit `mask` + `shape`; iOS18 unpacked uint1 mask shaped
  like the output. Non-zero values fill set bits in row-major order.
- constexpr_lut_to_sparse / constexpr_sparse_blockwise_shift_scale (iOS18): (mask, values) pairs
  decompressing only the non-zero entries.
- constexpr_cast: fp16 -> fp32.
"""
from __future__ import annotations

import numpy as np

from mobilekit.parity.mil.ops.registry import mil_op
from mobilekit.parity.mil.ops._common import as_list, norm_axis


def unpack_bits(packed: np.ndarray, nbits: int, count: int) -> np.ndarray:
    """LSB-first packed n-bit unsigned integers -> uint8 array of `count` elements."""
    bits = np.unpackbits(np.asarray(packed).astype(np.uint8).reshape(-1), bitorder="little")
    bits = bits[: count * nbits].reshape(count, nbits).astype(np.uint16)
    weights = (1 << np.arange(nbits, dtype=np.uint16))[None, :]
    return (bits * weights).sum(axis=1).astype(np.uint8)


def _along_axis(v, rank: int, axis: int) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 0 or v.size == 1 and v.ndim <= 1:
        return v.reshape(())
    shape = [1] * rank
    shape[axis] = v.size
    return v.reshape(shape)


@mil_op("constexpr_affine_dequantize")
def constexpr_affine_dequantize(call):
    q = np.asarray(call["quantized_data"])
    axis = norm_axis(call["axis"], q.ndim)
    scale = _along_axis(call["scale"], q.ndim, axis)
    zp = _along_axis(call["zero_point"], q.ndim, axis)
    return (q.astype(np.float32) - zp) * scale


def _block_repeat(v: np.ndarray, shape) -> np.ndarray:
    v = np.asarray(v)
    for axis, (full, part) in enumerate(zip(shape, v.shape)):
        if part != full:
            v = np.repeat(v, full // part, axis=axis)
    return v


def _shift_scale(data, scale, offset):
    data = np.asarray(data).astype(np.float32)
    out = data if offset is None else data - _block_repeat(np.asarray(offset).astype(np.float32), data.shape)
    return out * _block_repeat(np.asarray(scale, dtype=np.float32), data.shape)


@mil_op("constexpr_blockwise_shift_scale")
def constexpr_blockwise_shift_scale(call):
    return _shift_scale(call["data"], call["scale"], call.get("offset"))


def _lut_iOS18(indices: np.ndarray, lut: np.ndarray, vector_axis) -> np.ndarray:
    indices = np.asarray(indices).astype(np.int64)
    lut = np.asarray(lut)
    rank = indices.ndim
    vector_size = lut.shape[-1]
    # per-element LUT selection: block index along each axis
    block = [indices.shape[i] // lut.shape[i] for i in range(rank)]
    grids = np.meshgrid(*[np.arange(indices.shape[i]) // block[i] for i in range(rank)], indexing="ij")
    values = lut[tuple(grids) + (indices,)]  # [*indices.shape, VECTOR_SIZE]
    if vector_size == 1:
        return values[..., 0]
    axis = norm_axis(vector_axis, rank)
    # element at position p along `axis` expands to p*V .. p*V+V-1
    values = np.moveaxis(values, -1, axis + 1)  # [..., n_axis, V, ...]
    shape = list(indices.shape)
    shape[axis] *= vector_size
    return values.reshape(shape)


@mil_op("constexpr_lut_to_dense")
def constexpr_lut_to_dense(call):
    if "shape" in call:  # iOS16
        lut = np.asarray(call["lut"]).reshape(-1)
        shape = [int(s) for s in as_list(call["shape"])]
        nbits = int(np.log2(lut.size))
        idx = unpack_bits(call["indices"], nbits, int(np.prod(shape)))
        return lut[idx.astype(np.int64)].reshape(shape)
    return _lut_iOS18(call["indices"], call["lut"], call.get("vector_axis"))


def _sparse_dense(nonzero, mask) -> np.ndarray:
    mask = np.asarray(mask) != 0
    out = np.zeros(mask.shape, dtype=np.asarray(nonzero).dtype)
    out[mask] = np.asarray(nonzero).reshape(-1)
    return out


@mil_op("constexpr_sparse_to_dense")
def constexpr_sparse_to_dense(call):
    if "shape" in call:  # iOS16: packed bit mask
        shape = [int(s) for s in as_list(call["shape"])]
        bits = unpack_bits(call["mask"], 1, int(np.prod(shape))).reshape(shape)
        return _sparse_dense(call["nonzero_data"], bits)
    return _sparse_dense(call["nonzero_data"], call["mask"])


@mil_op("constexpr_lut_to_sparse")
def constexpr_lut_to_sparse(call):
    mask = np.asarray(call["indices_mask"])
    indices = _sparse_dense(call["indices_nonzero_data"], mask)
    vector_axis = call.get("vector_axis")
    dense = _lut_iOS18(indices, call["lut"], vector_axis)
    lut = np.asarray(call["lut"])
    if lut.shape[-1] > 1:
        mask = np.repeat(mask, lut.shape[-1], axis=norm_axis(vector_axis, mask.ndim))
    return mask.astype(np.uint8), dense[mask != 0].reshape(-1)


@mil_op("constexpr_sparse_blockwise_shift_scale")
def constexpr_sparse_blockwise_shift_scale(call):
    mask = np.asarray(call["data_mask"])
    data = _sparse_dense(call["nonzero_data"], mask)
    dense = _shift_scale(data, call["scale"], call.get("offset"))
    return mask.astype(np.uint8), dense[mask != 0].reshape(-1)


@mil_op("constexpr_cast")
def constexpr_cast(call):
    return np.asarray(call["source_val"])


@mil_op("dequantize")
def dequantize(call):
    x = np.asarray(call["input"])
    axis = call.get("axis")
    axis = 0 if axis is None else norm_axis(axis, x.ndim)
    scale = _along_axis(call["scale"], x.ndim, axis)
    zp = call.get("zero_point")
    zp = np.float32(0) if zp is None else _along_axis(zp, x.ndim, axis)
    return (x.astype(np.float32) - zp) * scale


@mil_op("quantize")
def quantize(call):
    x = np.asarray(call["input"], dtype=np.float32)
    axis = call.get("axis")
    axis = 0 if axis is None else norm_axis(axis, x.ndim)
    scale = _along_axis(call["scale"], x.ndim, axis)
    zp = call.get("zero_point")
    zp = np.float32(0) if zp is None else _along_axis(zp, x.ndim, axis)
    dtype = str(call["output_dtype"])
    lo, hi = (-128, 127) if dtype == "int8" else (0, 255)
    return np.clip(np.round(x / scale) + zp, lo, hi)
