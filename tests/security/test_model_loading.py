"""Untrusted model files: refused before deserialization, never executed."""
import zipfile

import pytest

from mobilekit.core.errors import InputError, UntrustedModelError
from mobilekit.nn.loading import check_model_file, load_keras_model


def _model_with_lambda(path, marker):
    from mobilekit.core.tf import tf_and_keras

    tf, keras = tf_and_keras()
    inp = keras.Input((4,))
    out = keras.layers.Lambda(lambda x: x * 2.0, name="sneaky")(inp)
    keras.Model(inp, out).save(path)


def test_lambda_layer_refused_without_trust(tmp_path):
    path = tmp_path / "lambda.keras"
    _model_with_lambda(path, tmp_path / "pwned")
    with pytest.raises(UntrustedModelError, match="sneaky"):
        load_keras_model(path)
    assert check_model_file(path, trust=True) == "keras2"


def test_custom_module_refused(tmp_path):
    path = tmp_path / "custom.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", '{"class_name": "Functional", "config": {"layers": [{"class_name": "Evil", "module": "os", "config": {"name": "e"}}]}}')
        zf.writestr("metadata.json", '{"keras_version": "2.19.0"}')
    with pytest.raises(UntrustedModelError, match="os.Evil"):
        check_model_file(path)


@pytest.mark.parametrize("name, content", [("broken.keras", b"PK\x03\x04garbage"), ("weights.h5", b"\x89HDF\r\n")])
def test_corrupt_files_get_clear_errors(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError):
        load_keras_model(path)


def test_pickle_and_unknown_formats_refused(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(InputError, match="unsupported model format"):
        load_keras_model(path)
    with pytest.raises(InputError, match="not a SavedModel"):
        load_keras_model(tmp_path)
