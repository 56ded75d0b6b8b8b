"""The two generators (multi-column and partial-convolution U-Net) and the training-only
discriminators. Both generators take `image` (RGB in [0, 1]) and `mask` (1 = hole) and return
`inpainted`: the prediction inside the hole composited over the untouched pixels outside it.

Both start from a smooth pull-push fill of the hole (`mobilekit.nn.layers.PushPullFill`) and learn a
correction to it, so even a briefly trained generator is never worse than a smooth interpolation
of the known pixels. Ops were chosen to convert cleanly to Core ML, TFLite and ONNX: plain and
dilated convolutions, ELU / ReLU, average pooling, nearest and bilinear upsampling, concatenation,
products and a division. GMCNN's 7×7 and 5×5 columns
keep their kernel sizes; its ID-MRF loss is replaced by discriminator feature matching (there is
no pretrained VGG here). Partial convolution is `mobilekit.nn.layers.PartialConv2D`, written with
convolutions, `minimum`/`maximum` and a division."""
from __future__ import annotations

from mobilekit.families.inpainting.config import InpaintingPreset

RAW_LAYER = "raw"  # the generator's prediction at every pixel, before compositing
COLUMN_KERNELS = (7, 5, 3)


def _compose(keras, image, mask, raw):
    """inpainted = image·(1 − mask) + raw·mask (pixels outside the hole are the input's)."""
    keep = keras.layers.Rescaling(-1.0, offset=1.0, name="valid")(mask)
    return keras.layers.Add(name="inpainted")([keras.layers.Multiply(name="kept")([image, keep]),
                                                keras.layers.Multiply(name="filled")([raw, mask])])


def _column(keras, x, kernel: int, widths: list[int], dilations: list[int]):
    """One encoder-decoder column: full → 1/2 → 1/4 (dilated convolutions) → 1/2 → full."""
    def conv(h, filters, name, strides=1, dilation=1):
        return keras.layers.Conv2D(filters, kernel, strides=strides, dilation_rate=dilation, padding="same",
                                   activation="elu", name=f"col{kernel}_{name}")(h)

    full, half, quarter = widths
    h = conv(x, full, "enc1")
    h = conv(conv(h, half, "down1", strides=2), half, "enc2")
    h = conv(h, quarter, "down2", strides=2)
    for d in dilations:
        h = conv(h, quarter, f"dil{d}", dilation=d)
    h = conv(keras.layers.UpSampling2D(2, interpolation="nearest", name=f"col{kernel}_up1")(h), half, "dec1")
    return conv(keras.layers.UpSampling2D(2, interpolation="nearest", name=f"col{kernel}_up2")(h), full, "dec2")


def coarse_fill(keras, masked, valid, relax: int):
    """The pull-push fill of the hole from the known pixels, relaxed by `relax` Jacobi sweeps
    towards the harmonic fill (`mobilekit.nn.layers.PushPullFill`)."""
    import math

    from mobilekit.nn.layers import PushPullFill

    levels = int(math.log2(min(int(masked.shape[1]), int(masked.shape[2]))))
    return PushPullFill(levels, relax, name="coarse_fill")([masked, valid])


def _residual_output(keras, h, coarse):
    """raw = clip(coarse fill + a learned correction, 0, 1)."""
    correction = keras.layers.Conv2D(3, 3, padding="same", kernel_initializer="zeros", name="correction")(h)  # starts at the fill
    return keras.layers.ReLU(max_value=1.0, name=RAW_LAYER)(keras.layers.Add(name="corrected")([coarse, correction]))


def build_multicolumn(keras, image, mask, preset: InpaintingPreset):
    keep = keras.layers.Rescaling(-1.0, offset=1.0, name="keep")(mask)
    masked = keras.layers.Multiply(name="masked_image")([image, keep])
    coarse = coarse_fill(keras, masked, keep, preset.fill_relax)
    x = keras.layers.Concatenate(name="masked_input")([masked, mask, coarse])
    columns = [_column(keras, x, k, preset.widths, preset.dilations) for k in COLUMN_KERNELS]
    h = keras.layers.Concatenate(name="columns")(columns)
    h = keras.layers.Conv2D(preset.widths[0], 3, padding="same", activation="elu", name="fuse")(h)
    return _residual_output(keras, h, coarse)


def build_pconv_unet(keras, image, mask, preset: InpaintingPreset):
    """Encoder of strided partial convolutions (7×7, 5×5, then 3×3), decoder of nearest upsampling +
    skip concatenation + partial convolution; masks merge by `maximum` (a pixel is valid if it is
    valid in either path)."""
    from mobilekit.nn.layers import PartialConv2D

    valid = keras.layers.Rescaling(-1.0, offset=1.0, name="keep")(mask)
    masked = keras.layers.Multiply(name="masked_image")([image, valid])  # the hole's content never reaches a skip
    coarse = coarse_fill(keras, masked, valid, preset.fill_relax)
    skips = [(keras.layers.Concatenate(name="skip0_fill")([masked, coarse]), valid)]  # the last decoder layer sees the fill
    x, m = masked, valid
    for i, width in enumerate(preset.widths):
        kernel = 7 if i == 0 else 5 if i == 1 else 3
        x, m = PartialConv2D(width, kernel, strides=2, name=f"enc{i + 1}")([x, m])
        x = keras.layers.ReLU(name=f"enc{i + 1}_relu")(x)
        skips.append((x, m))
    widths = [3] + list(preset.widths[:-1])
    for i in range(len(preset.widths), 0, -1):
        skip_x, skip_m = skips[i - 1]
        x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"up{i}")(x)
        m = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"up{i}_mask")(m)
        x = keras.layers.Concatenate(name=f"skip{i}")([x, skip_x])
        m = keras.layers.Maximum(name=f"skip{i}_mask")([m, skip_m])
        out_width = widths[i - 1] if i > 1 else preset.widths[0]
        x, m = PartialConv2D(out_width, 3, name=f"dec{i}")([x, m])
        x = keras.layers.LeakyReLU(0.2, name=f"dec{i}_act")(x)
    return _residual_output(keras, x, coarse)


GENERATORS = {"multicolumn": build_multicolumn, "pconv": build_pconv_unet}


def build_generator(height: int | None, width: int | None, preset: InpaintingPreset):
    """The end-to-end generator at `height` × `width` (None: any size that is a multiple of the stride)."""
    from mobilekit.core.tf import tf_and_keras

    _, keras = tf_and_keras()
    image = keras.Input((height, width, 3), batch_size=1 if height else None, name="image")
    mask = keras.Input((height, width, 1), batch_size=1 if height else None, name="mask")
    raw = GENERATORS[preset.generator](keras, image, mask, preset)
    return keras.Model([image, mask], {"inpainted": _compose(keras, image, mask, raw)}, name=f"inpaint_{preset.generator}")


def stride(preset: InpaintingPreset) -> int:
    """Input sizes must be multiples of this."""
    return 4 if preset.generator == "multicolumn" else 2 ** len(preset.widths)


def build_discriminator(keras, size: tuple[int, int], widths: list[int], name: str):
    """A patch discriminator on (completed image, mask) returning its features and real/fake logits."""
    inputs = keras.Input((*size, 4), name=f"{name}_in")
    h, features = inputs, []
    for i, width in enumerate(widths):
        h = keras.layers.Conv2D(width, 5, strides=2, padding="same", name=f"{name}_conv{i}")(h)
        h = keras.layers.LeakyReLU(0.2, name=f"{name}_act{i}")(h)
        features.append(h)
    logits = keras.layers.Conv2D(1, 3, padding="same", name=f"{name}_logits")(h)
    return keras.Model(inputs, [*features, logits], name=name)
