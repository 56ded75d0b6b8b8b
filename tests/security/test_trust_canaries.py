"""The trust policy's allow-list, proved with canaries: crafted `.keras` / `.h5` files whose configs
reference `builtins.exec`, `os.system`, `subprocess.Popen`, a Lambda's marshalled bytecode,
`tensorflow.io.write_file` or a class from an arbitrary (importable!) module. Each is refused with
`UntrustedModelError` before Keras sees it (exit 2 through the CLI, one line naming the file and the
class path), and the canary file each payload would write (or whose module import would write it)
does not exist afterwards. A positive control shows the bytecode payload is live: loaded with
`trust=True` it does write its canary."""
from __future__ import annotations

import base64
import io
import json
import marshal
import os
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import last_json, run_cli
from mobilekit.core.errors import InputError, UntrustedModelError
from mobilekit.nn.loading import check_model_file, load_keras_model, mobilekit_layers, untrusted_entries

FLAVOURS = {  # metadata keras_version, Functional module, input-shape key
    "keras3": ("3.15.1", "keras.src.models.functional", "batch_shape"),
    "tf_keras": ("2.19.0", "tf_keras.src.engine.functional", "batch_input_shape"),
}


def _empty_h5() -> bytes:
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w"):
        pass
    return buffer.getvalue()


def _inbound(flavour: str) -> list:
    if flavour == "keras3":
        return [{"args": [{"class_name": "__keras_tensor__",
                           "config": {"shape": [None, 4], "dtype": "float32", "keras_history": ["input", 0, 0]}}], "kwargs": {}}]
    return [[["input", 0, 0, {}]]]


def keras_archive(path: Path, payload: dict, flavour: str) -> Path:
    """A `.keras` zip as Keras writes it (metadata.json, config.json, model.weights.h5): Input → payload."""
    version, functional, shape_key = FLAVOURS[flavour]
    inp = {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None, "name": "input",
           "config": {shape_key: [None, 4], "dtype": "float32", "sparse": False, "name": "input"}, "inbound_nodes": []}
    layer = {**payload, "name": payload["config"]["name"], "inbound_nodes": _inbound(flavour)}
    config = {"module": functional, "class_name": "Functional", "registered_name": "Functional",
              "config": {"name": "canary_model", "trainable": True, "layers": [inp, layer],
                         "input_layers": [["input", 0, 0]], "output_layers": [[layer["name"], 0, 0]]}}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": version, "date_saved": "2026-01-01@00:00:00"}))
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("model.weights.h5", _empty_h5())
    return path


def _function(module: str, name: str) -> dict:
    return {"module": module, "class_name": "function", "config": name, "registered_name": "function"}


def _bytecode(canary: Path) -> str:
    """Marshalled bytecode of a lambda that writes `canary`, base64 as Keras' func_dump writes it."""
    fn = eval(compile(f"lambda x: (open({str(canary)!r}, 'w').write('pwned'), x)[1]", "<payload>", "eval"))  # noqa: S307
    return base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")


def _lambda_layer(canary: Path, flavour: str) -> dict:
    if flavour == "keras3":
        function = {"class_name": "__lambda__", "config": {"code": _bytecode(canary), "defaults": None, "closure": None}}
        return {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                "config": {"name": "payload", "trainable": True, "dtype": "float32", "function": function, "arguments": {}}}
    return {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "payload", "trainable": True, "dtype": "float32", "function": [_bytecode(canary), None, None],
                       "function_type": "lambda", "module": "__main__", "output_shape": None, "output_shape_type": "raw",
                       "output_shape_module": None, "arguments": {}}}


def _evil_package(root: Path, canary: Path) -> Path:
    """An importable package whose import writes the canary: refusal must happen before any import."""
    package = root / "evilpkg"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "payload.py").write_text(f"open({str(canary)!r}, 'w').write('imported')\nclass Backdoor:\n    pass\n")
    return root


def payloads(canary: Path, flavour: str) -> dict[str, tuple[dict, str]]:
    """name -> (payload layer entry, the class path the refusal must name)."""
    cmd = ["sh", "-c", f"touch {canary}"]
    found = {
        "builtins.exec": ({"module": "keras.layers", "class_name": "Dense", "registered_name": None,
                           "config": {"name": "payload", "units": 4, "activation": _function("builtins", "exec")}},
                          "builtins.exec"),
        "os.system": ({"module": "keras.layers", "class_name": "Activation", "registered_name": None,
                       "config": {"name": "payload", "activation": _function("os", "system"), "command": " ".join(cmd)}},
                      "os.system"),
        "subprocess.Popen": ({"module": "subprocess", "class_name": "Popen", "registered_name": "Popen",
                              "config": {"name": "payload", "args": cmd}}, "subprocess.Popen"),
        "lambda-bytecode": (_lambda_layer(canary, flavour), "payload (Lambda)"),
        "tensorflow.io.write_file": ({"module": "keras.layers", "class_name": "Activation", "registered_name": None,
                                      "config": {"name": "payload", "activation": _function("tensorflow.io", "write_file")}},
                                     "tensorflow.io.write_file"),
        "bytecode-activation": ({"module": "keras.layers", "class_name": "Activation", "registered_name": None,
                                 "config": {"name": "payload", "activation": {"value": [_bytecode(canary), None, None]}}},
                                "marshalled bytecode"),  # how tf_keras writes a lambda activation: no class name
        "custom-class": ({"module": "evilpkg.payload", "class_name": "Backdoor", "registered_name": "evilpkg>Backdoor",
                          "config": {"name": "payload"}}, "evilpkg.payload.Backdoor"),
    }
    if flavour == "tf_keras":  # tf_keras rebuilds TF-op layers by looking the op up in the tf namespace
        found["tf-op io.write_file"] = ({"module": "tf_keras.src.layers.core.tf_op_layer", "class_name": "TFOpLambda",
                                         "registered_name": "TFOpLambda",
                                         "config": {"name": "payload", "trainable": True, "dtype": "float32",
                                                    "function": "io.write_file"}}, "tf.io.write_file")
    return found


CASES = [(flavour, name) for flavour in FLAVOURS for name in payloads(Path("c"), flavour)]


@pytest.mark.parametrize("flavour, name", CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_canary_keras_archives_are_refused_before_deserialization(tmp_path, monkeypatch, flavour, name):
    canary = tmp_path / "canary"
    monkeypatch.syspath_prepend(str(_evil_package(tmp_path, canary)))
    entry, class_path = payloads(canary, flavour)[name]
    path = keras_archive(tmp_path / f"{name}.keras", entry, flavour)
    with pytest.raises(UntrustedModelError) as refused:
        load_keras_model(path)
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{path}: ") and class_path in message, message
    assert not canary.exists()
    assert check_model_file(path, trust=True) in ("keras2", "keras3")  # the policy, not the file, refused it


def _h5_model(path: Path, config: dict) -> Path:
    import h5py

    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps(config)
        handle.attrs["keras_version"] = "2.19.0"
        handle.attrs["backend"] = "tensorflow"
        handle.create_group("model_weights")
    return path


@pytest.mark.parametrize("name", ["lambda-bytecode", "builtins.exec", "custom-class"])
def test_canary_h5_model_configs_are_refused(tmp_path, monkeypatch, name):
    """Legacy `.h5` configs (no `module` keys; a registered class is named by its registered name)."""
    canary = tmp_path / "canary"
    monkeypatch.syspath_prepend(str(_evil_package(tmp_path, canary)))
    layers = {"lambda-bytecode": _lambda_layer(canary, "tf_keras"),
              "builtins.exec": {"class_name": "Dense", "config": {"name": "payload", "units": 4,
                                                                  "activation": _function("builtins", "exec")}},
              "custom-class": {"class_name": "evilpkg>Backdoor", "config": {"name": "payload"}}}
    expected = {"lambda-bytecode": "payload (Lambda)", "builtins.exec": "builtins.exec", "custom-class": "evilpkg>Backdoor"}
    layer = {key: value for key, value in layers[name].items() if key not in ("module", "registered_name")}
    inp = {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "input"}, "name": "input",
           "inbound_nodes": []}
    config = {"class_name": "Functional", "config": {"name": "m", "layers": [inp, {**layer, "name": "payload",
                                                                                   "inbound_nodes": [[["input", 0, 0, {}]]]}],
                                                     "input_layers": [["input", 0, 0]], "output_layers": [["payload", 0, 0]]}}
    path = _h5_model(tmp_path / f"{name}.h5", config)
    with pytest.raises(UntrustedModelError, match=re.escape(expected[name])):
        load_keras_model(path)
    assert not canary.exists()


@pytest.mark.parametrize("flavour", list(FLAVOURS))
def test_bytecode_canary_is_live_when_trusted(tmp_path, flavour):
    """Positive control: the same bytecode archive, loaded with --trust-model, runs its payload."""
    canary = tmp_path / "canary"
    path = keras_archive(tmp_path / "lambda.keras", _lambda_layer(canary, flavour), flavour)
    try:
        load_keras_model(path, trust=True)
    except InputError:
        pass  # loading may fail after the payload ran (the weights file is empty); the canary tells
    assert canary.read_text() == "pwned"


def _gadget(entry: dict) -> dict:
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": "m", "layers": [entry]}}


REFUSED = {  # entry -> class path the refusal names (Keras safe-mode CVE gadgets and other paths out of Keras)
    "load_model (CVE-2025-9906)": (_function("keras.models", "load_model"), "keras.models.load_model"),
    "get_file (CVE-2025-8747)": (_function("keras.utils", "get_file"), "keras.utils.get_file"),
    "enable_unsafe_deserialization (CVE-2025-9906)": (_function("keras.config", "enable_unsafe_deserialization"),
                                                      "keras.config.enable_unsafe_deserialization"),
    "set_global_attribute": (_function("keras.src.saving.serialization_lib", "set_global_attribute"),
                             "keras.src.saving.serialization_lib.set_global_attribute"),
    "activations.deserialize": (_function("keras.activations", "deserialize"), "keras.activations.deserialize"),
    "saving class": ({"module": "keras.src.saving.saving_lib", "class_name": "ObjectSharingScope", "config": {"name": "x"}},
                     "keras.src.saving.saving_lib.ObjectSharingScope"),
    "TFSMLayer (CVE-2026-1462)": ({"module": "keras.layers", "class_name": "TFSMLayer", "config": {"name": "x", "filepath": "/tmp/sm"}},
                                  "x (TFSMLayer)"),
    "TorchModuleWrapper (CVE-2025-49655)": ({"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": {"name": "x"}},
                                            "x (TorchModuleWrapper)"),
    "JaxLayer": ({"module": "keras.layers", "class_name": "JaxLayer", "config": {"name": "x"}}, "x (JaxLayer)"),
    "gen_io_ops": ({"module": "tensorflow.python.ops.gen_io_ops", "class_name": "WriteFile", "config": {"name": "x"}},
                   "tensorflow.python.ops.gen_io_ops.WriteFile"),
    "tensorflow function": (_function("tensorflow", "py_function"), "tensorflow.py_function"),
    "importlib": (_function("importlib", "import_module"), "importlib.import_module"),
    "posix": (_function("posix", "system"), "posix.system"),
    "shutil": (_function("shutil", "rmtree"), "shutil.rmtree"),
    "sys": (_function("sys", "exit"), "sys.exit"),
    "keras-lookalike package": ({"module": "kerasx.layers", "class_name": "Dense", "config": {"name": "x"}}, "kerasx.layers.Dense"),
    "mobilekit outside nn.layers": ({"module": "mobilekit.core.fsio", "class_name": "Thing", "config": {"name": "x"}},
                                    "mobilekit.core.fsio.Thing"),
    "unregistered mobilekit name": ({"module": "mobilekit.nn.layers", "class_name": "tf", "config": {"name": "x"}},
                                    "mobilekit.nn.layers.tf"),
    "foreign registered name": ({"module": "keras.layers", "class_name": "Dense", "registered_name": "evil>Dense",
                                 "config": {"name": "x"}}, "registered as 'evil>Dense'"),
    "foreign legacy registered class": ({"class_name": "os>system", "config": {"name": "x"}}, "os>system"),
    "user class in the default package": ({"class_name": "Custom>Backdoor", "config": {"name": "x"}}, "Custom>Backdoor"),
    "typespec from os": ({"class_name": "__typespec__", "spec_name": "system", "module": "os", "config": []}, "os.system"),
    "tf.print op": ({"module": "tf_keras.src.layers.core.tf_op_layer", "class_name": "TFOpLambda", "registered_name": "TFOpLambda",
                     "config": {"name": "x", "function": "print"}}, "tf.print"),
    "tf.load_op_library op": ({"class_name": "TFOpLambda", "config": {"name": "x", "function": "load_op_library"}},
                              "tf.load_op_library"),
    "tf.raw_ops op": ({"class_name": "TFOpLambda", "config": {"name": "x", "function": "raw_ops.WriteFile"}},
                      "tf.raw_ops.WriteFile"),
    "tf class-method gadget": ({"module": "tf_keras.src.layers.core.tf_op_layer", "class_name": "ClassMethod",
                                "config": {"name": "x", "cls_symbol": "io", "method_name": "write_file"}}, "tf.io.write_file"),
    "private tensor attribute": ({"class_name": "InstanceMethod", "config": {"name": "x", "attr_name": "__reduce__"}},
                                 "attribute '__reduce__'"),
    "tf.compat op": ({"class_name": "TFOpLambda", "config": {"name": "x", "function": "compat.v1.py_func"}},
                     "tf.compat.v1.py_func"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_gadgets_outside_the_allow_list_are_refused(case):
    entry, expected = REFUSED[case]
    found = untrusted_entries(_gadget(entry))
    assert found and any(expected in f for f in found), found


ALLOWED = [
    {"module": "keras.layers", "class_name": "Conv2D", "registered_name": None,
     "config": {"name": "c", "kernel_initializer": {"module": "keras.initializers", "class_name": "HeNormal", "config": {}},
                "activation": _function("keras.activations", "gelu"),
                "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}}}},
    {"module": "keras.src.layers.convolutional.conv2d", "class_name": "Conv2D", "config": {"name": "c2"}},
    {"module": "tf_keras.src.layers.core.tf_op_layer", "class_name": "TFOpLambda", "registered_name": "TFOpLambda",
     "config": {"name": "op", "function": "nn.relu6"}},
    {"class_name": "SlicingOpLambda", "config": {"name": "s", "function": "__operators__.getitem"}},
    {"class_name": "ClassMethod", "config": {"name": "cm", "cls_symbol": "RaggedTensor", "method_name": "from_row_lengths"}},
    {"class_name": "InstanceProperty", "config": {"name": "ip", "attr_name": "flat_values"}},
    {"module": "keras.src.ops.numpy", "class_name": "Add", "registered_name": "Add", "config": {"name": "add"}},
    {"module": "mobilekit.nn.layers", "class_name": "Erosion2D", "registered_name": "mobilekit>Erosion2D", "config": {"name": "e"}},
    {"class_name": "mobilekit>ResizeBicubic", "config": {"name": "r", "size": [8, 8]}},
    {"module": "tensorflow.python.ops.init_ops_v2", "class_name": "Constant", "config": {"value": 0.0}},
    {"module": "tf_keras.src.applications.convnext", "class_name": "LayerScale", "config": {"name": "ls"}},
    {"class_name": "Custom>CustomScaleLayer", "config": {"name": "scale"}},  # tf_keras InceptionResNetV2, legacy .h5
    {"class_name": "__keras_tensor__", "config": {"shape": [None, 4], "dtype": "float32", "keras_history": ["input", 0, 0]}},
]


def test_keras_tf_keras_and_mobilekit_entries_pass():
    assert untrusted_entries(_gadget({"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "layers": ALLOWED}})) == []
    assert {"Erosion2D", "Dilation2D", "ResizeBicubic", "ResizeArea"} <= mobilekit_layers()


@pytest.fixture(scope="module")
def real_models(tmp_path_factory):
    """Files the kit must keep accepting: its own families' networks, tf_keras TF-op layers, Keras 3 ops,
    mobilekit layers, and keras.applications models that define their own layers / TF initializers."""
    import keras as keras3
    import yaml

    from mobilekit.core.config import parse_config
    from mobilekit.core.family import get_family
    from mobilekit.core.tf import tf_and_keras
    from mobilekit.nn.layers import Erosion2D

    tf, keras = tf_and_keras()
    root = tmp_path_factory.mktemp("real")
    paths = []
    repo = Path(__file__).resolve().parents[2]
    for name in ("segmentation-tiny", "depth-tiny"):
        file = repo / "configs" / f"{name}.yaml"
        config = parse_config(yaml.safe_load(file.read_text()), str(file))
        model = get_family(config.family).build_model(config)
        for suffix in (".keras", ".h5"):
            model.save(root / f"{name}{suffix}")
            paths.append(root / f"{name}{suffix}")
    x = keras.Input((8, 8, 1))
    y = tf.image.resize(tf.nn.relu6(Erosion2D(kernel_size=3)(x)) + 1.0, (16, 16))[:, :8]
    for suffix in (".keras", ".h5"):
        keras.Model(x, y).save(root / f"tfops{suffix}")
        paths.append(root / f"tfops{suffix}")
    i = keras3.Input((4,))
    keras3.Model(i, keras3.ops.reshape(keras3.ops.tanh(keras3.ops.add(i, 1.0)), (-1, 2, 2))).save(root / "ops3.keras")
    paths.append(root / "ops3.keras")
    for lib, module in (("tf_keras", keras), ("keras3", keras3)):
        for app in ("MobileNetV3Small", "ConvNeXtTiny"):
            getattr(module.applications, app)(weights=None, input_shape=(32, 32, 3), classes=3).save(root / f"{app}-{lib}.keras")
            paths.append(root / f"{app}-{lib}.keras")
    return paths


def test_real_keras_tf_keras_and_mobilekit_models_pass(real_models):
    for path in real_models:
        assert check_model_file(path) in ("keras2", "keras3"), path


def test_cli_refuses_every_canary_with_exit_2_and_one_line(tmp_path):
    """`python -m mobilekit convert tflite --model X --json` per payload (tf_keras flavour, the one
    whose loader is least hardened): exit 2, one `error:` line naming the file and the class path,
    no traceback, no canary, no output directory."""
    canary = tmp_path / "canary"
    env = {"PYTHONPATH": os.pathsep.join([str(_evil_package(tmp_path, canary)), os.environ.get("PYTHONPATH", "")])}
    cases = payloads(canary, "tf_keras")
    runs = {}
    with ThreadPoolExecutor(max_workers=int(os.environ.get("MOBILEKIT_TEST_JOBS", "2"))) as pool:
        for name, (entry, _) in cases.items():
            path = keras_archive(tmp_path / f"{name.replace(' ', '_')}.keras", entry, "tf_keras")
            runs[name] = (path, pool.submit(run_cli, "convert", "tflite", "--model", str(path), "--out",
                                            str(tmp_path / f"out-{name.replace(' ', '_')}"), "--json", env=env))
    for name, (path, future) in runs.items():
        result = future.result()
        assert result.returncode == 2, (name, result.stdout[-800:], result.stderr[-1500:])
        error = last_json(result.stdout)["error"]
        assert error.startswith(f"{path}: ") and cases[name][1] in error and "\n" not in error, (name, error)
        assert "Traceback" not in result.stderr
        assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [f"error: {error}"]
        assert not (tmp_path / f"out-{name.replace(' ', '_')}").exists()
    assert not canary.exists()
