"""Image-typed inputs: the executor takes NHWC RGB pixels (0..255) and applies what the program
does (in-graph scale/bias ops, NCHW layout, BGR order), matching TF fed pixels * scale + bias."""
from __future__ import annotations

import mobilekit  # noqa: F401

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
ct = pytest.importorskip("coremltools")
keras = pytest.importorskip("tf_keras")

from mobilekit.parity.mil import MilExecutionError, load_program, run_program  # noqa: E402

H, W = 20, 28


def psnr(ref, out):
    ref, out = ref.astype(np.float64), out.astype(np.float64)
    return float(20 * np.log10((ref.max() - ref.min()) / np.sqrt(np.mean((ref - out) ** 2))))


@pytest.fixture(scope="module")
def seg_model():
    """Two inputs, like the interactive segmentation family: RGB image + click maps."""
    keras.utils.set_random_seed(11)
    image = keras.Input((H, W, 3), name="image")
    clicks = keras.Input((H, W, 2), name="clicks")
    x = keras.layers.Concatenate()([image, clicks / 255.0])
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.UpSampling2D(interpolation="bilinear")(x)
    out = keras.layers.Conv2D(1, 1, activation="sigmoid", name="mask")(x)
    return keras.Model([image, clicks], out)


def _convert(model, inputs, precision, tmp_path):
    specs = [tf.TensorSpec(inp.shape.shape, tf.float32, name=inp.name) for inp in inputs]
    fn = tf.function(lambda *a: model(list(a) if len(a) > 1 else a[0], training=False)).get_concrete_function(*specs)
    mlmodel = ct.convert([fn], source="tensorflow", convert_to="mlprogram", compute_precision=precision, inputs=inputs)
    path = tmp_path / "img.mlpackage"
    mlmodel.save(str(path))
    return load_program(path)


def _pixels(seed, channels=3):
    return np.random.default_rng(seed).integers(0, 256, (1, H, W, channels)).astype(np.float32)


@pytest.mark.parametrize("precision", ["FLOAT32", "FLOAT16"])
def test_image_plus_tensor_input(seg_model, precision, tmp_path):
    inputs = [
        ct.ImageType(name="image", shape=(1, H, W, 3), scale=1 / 255.0, color_layout=ct.colorlayout.RGB),
        ct.TensorType(name="clicks", shape=(1, H, W, 2)),
    ]
    prog = _convert(seg_model, inputs, getattr(ct.precision, precision), tmp_path)
    image_desc, clicks_desc = prog.inputs
    assert image_desc["kind"] == "image" and image_desc["color_layout"] == "RGB"
    assert image_desc["shape"] == (1, H, W, 3)
    assert image_desc["scale"] == pytest.approx(1 / 255.0)
    assert image_desc["bias"] == [0.0, 0.0, 0.0]
    assert clicks_desc["kind"] == "tensor" and clicks_desc["shape"] == (1, H, W, 2)

    pixels = _pixels(0)
    clicks = np.random.default_rng(1).uniform(0, 255, (1, H, W, 2)).astype(np.float32)
    res = run_program(prog, {"image": pixels, "clicks": clicks})
    (out_name,) = [o["name"] for o in prog.outputs]
    out = res.outputs[out_name].astype(np.float32)
    ref = seg_model([pixels / 255.0, clicks], training=False).numpy()
    assert out.shape == ref.shape
    if precision == "FLOAT32":
        assert prog.compute_precision == "fp32"
        assert np.abs(out - ref).max() <= 1e-5
        # feeding the wrong convention (already scaled pixels) must show up as a mismatch
        wrong = run_program(prog, {"image": pixels / 255.0, "clicks": clicks}).outputs[out_name]
        assert np.abs(wrong - ref).max() > 1e-3
    else:
        assert prog.compute_precision == "fp16"
        assert psnr(ref, out) >= 40.0


def test_bgr_layout_with_bias(tmp_path):
    keras.utils.set_random_seed(2)
    image = keras.Input((H, W, 3), name="image")
    model = keras.Model(image, keras.layers.Conv2D(4, 3, padding="same")(image))
    inputs = [ct.ImageType(name="image", shape=(1, H, W, 3), scale=1 / 127.5, bias=[-1.0, -0.5, -0.25], color_layout=ct.colorlayout.BGR)]
    prog = _convert(model, inputs, ct.precision.FLOAT32, tmp_path)
    desc = prog.inputs[0]
    assert desc["color_layout"] == "BGR"
    assert desc["bias"] == pytest.approx([-1.0, -0.5, -0.25])
    assert len(desc["preprocessing_ops"]) == 2
    rgb = _pixels(3)
    out = list(run_program(prog, {"image": rgb}).outputs.values())[0]
    # the program receives B, G, R; bias is per program channel
    bgr = rgb[..., ::-1] / 127.5 + np.array([-1.0, -0.5, -0.25], np.float32)
    ref = model(bgr, training=False).numpy()
    assert np.abs(out - ref).max() <= 1e-5


def test_grayscale_image(tmp_path):
    keras.utils.set_random_seed(4)
    image = keras.Input((H, W, 1), name="gray")
    model = keras.Model(image, keras.layers.Conv2D(3, 3, padding="same")(image))
    inputs = [ct.ImageType(name="gray", shape=(1, H, W, 1), scale=2 / 255.0, bias=-1.0, color_layout=ct.colorlayout.GRAYSCALE)]
    prog = _convert(model, inputs, ct.precision.FLOAT32, tmp_path)
    desc = prog.inputs[0]
    assert desc["color_layout"] == "G" and desc["shape"] == (1, H, W, 1)
    px = _pixels(5, channels=1)
    out = list(run_program(prog, {"gray": px}).outputs.values())[0]
    ref = model(px * (2 / 255.0) - 1.0, training=False).numpy()
    assert np.abs(out - ref).max() <= 1e-5


def test_image_feed_validation(seg_model, tmp_path):
    inputs = [
        ct.ImageType(name="image", shape=(1, H, W, 3), scale=1 / 255.0, color_layout=ct.colorlayout.RGB),
        ct.TensorType(name="clicks", shape=(1, H, W, 2)),
    ]
    prog = _convert(seg_model, inputs, ct.precision.FLOAT32, tmp_path)
    clicks = np.zeros((1, H, W, 2), np.float32)
    with pytest.raises(MilExecutionError, match="0..255"):
        run_program(prog, {"image": _pixels(0) * 2.0, "clicks": clicks})
    with pytest.raises(MilExecutionError, match="NHWC"):
        run_program(prog, {"image": np.transpose(_pixels(0), (0, 3, 1, 2)), "clicks": clicks})
    with pytest.raises(MilExecutionError, match="missing"):
        run_program(prog, {"image": _pixels(0)})
    with pytest.raises(MilExecutionError, match="unknown input"):
        run_program(prog, {"image": _pixels(0), "clicks": clicks, "extra": clicks})
    with pytest.raises(MilExecutionError, match="clicks"):
        run_program(prog, {"image": _pixels(0), "clicks": np.zeros((1, 2, H, W), np.float32)})
