"""TFLite metadata (tflite-support writers): what Android Studio ML binding and Task Library read."""
from __future__ import annotations

import contextlib
import tempfile
import time
import zipfile
from unittest import mock
from pathlib import Path

from mobilekit.convert.base import ConvertRequest
from mobilekit.core.clock import artifact_epoch
from mobilekit.core.native import import_metadata_writers


def populate_tflite_metadata(model_buffer: bytes, request: ConvertRequest, input_order: list[str], output_order: list[str]) -> bytes:
    """Attach general info, per-tensor descriptions, normalization and value ranges, and label files.

    Tensor metadata follows the order of the model's input/output tensors (`*_order`)."""
    _, info_md, writer_md, _ = import_metadata_writers()
    from tensorflow_lite_support.metadata import metadata_schema_py_generated as schema
    from tensorflow_lite_support.metadata import schema_py_generated as tflite_schema

    meta = request.meta
    by_name = {t.name: t for t in (*request.io.inputs, *request.io.outputs)}
    labelled = [n for n in output_order if by_name[n].labels]
    with tempfile.TemporaryDirectory() as tmp:
        label_files = {}
        for name in labelled:  # one label file per labelled output; `labels.txt` when there is one
            label_files[name] = Path(tmp) / ("labels.txt" if len(labelled) == 1 else f"{name}_labels.txt")
            label_files[name].write_text("".join(f"{label}\n" for label in by_name[name].labels))
        inputs = []
        for name in input_order:
            info = by_name[name]
            if info.kind == "image":
                inputs.append(_image_md(info_md, schema, tflite_schema, info))
            else:
                inputs.append(info_md.TensorMd(name=info.name, description=info.description))
        outputs = []
        for name in output_order:
            info = by_name[name]
            low, high = info.value_range if info.value_range is not None else (None, None)
            outputs.append(info_md.TensorMd(name=name, description=info.description,
                                            min_values=None if low is None else [float(low)],
                                            max_values=None if high is None else [float(high)],
                                            associated_files=[info_md.LabelFileMd(str(label_files[name]))] if name in label_files else None))
        writer = writer_md.MetadataWriter.create_from_metadata_info(
            bytearray(model_buffer),
            general_md=info_md.GeneralMd(name=meta.name, version=meta.version, description=meta.description or meta.name,
                                         author=meta.author, licenses=meta.license),
            input_md=inputs, output_md=outputs, associated_files=[str(p) for p in label_files.values()] or None)
        with _zip_clock(artifact_epoch()):
            return bytes(writer.populate())


def _image_md(info_md, schema, tflite_schema, info):
    """An RGB image tensor: its normalization (mean/std) and color space."""
    return info_md.InputImageTensorMd(
        name=info.name, description=info.description, norm_mean=list(info.normalization["mean"]),
        norm_std=list(info.normalization["std"]), color_space_type=schema.ColorSpaceType.RGB,
        tensor_type=tflite_schema.TensorType.FLOAT32)


class _FixedClock:
    """Stands in for the `time` module inside `zipfile`: every entry gets the artifact time (UTC)."""

    def __init__(self, epoch: int) -> None:
        self._epoch = epoch

    def time(self) -> float:
        return float(self._epoch)

    def localtime(self, _seconds: float | None = None) -> time.struct_time:
        return time.gmtime(self._epoch)

    def __getattr__(self, name: str):
        return getattr(time, name)


@contextlib.contextmanager
def _zip_clock(epoch: int):
    """The metadata populator appends associated files with `ZipFile.writestr`, which stamps the
    current local time; pin it so the .tflite bytes are reproducible."""
    with mock.patch.object(zipfile, "time", _FixedClock(epoch)):
        yield


def read_tflite_metadata(model_path: Path) -> dict:
    """The metadata JSON and associated file names, as MetadataDisplayer reports them."""
    metadata, *_ = import_metadata_writers()
    import json

    displayer = metadata.MetadataDisplayer.with_model_file(str(model_path))
    return {"metadata": json.loads(displayer.get_metadata_json()), "associated_files": sorted(displayer.get_packed_associated_file_list())}
