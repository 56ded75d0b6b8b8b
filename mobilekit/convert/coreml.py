"""Core ML target: mlprogram `.mlpackage` with image-typed input, descriptions and metadata."""
from __future__ import annotations

import shutil
from pathlib import Path

from mobilekit.convert.base import Artifact, ConvertRequest
from mobilekit.convert.mlpackage import normalize_mlpackage
from mobilekit.core.clock import artifact_timestamp_iso
from mobilekit.core.native import import_coremltools

_CONVERSION_DATE_KEY = "com.github.apple.coremltools.conversion_date"


def _input_types(ct, request: ConvertRequest) -> list:
    types = []
    for info in request.io.inputs:
        if info.kind == "image":
            types.append(ct.ImageType(name=info.name, shape=info.shape, scale=float(info.normalization.get("scale", 1.0)),
                                      bias=[float(info.normalization.get("bias", 0.0))] * 3,
                                      color_layout=getattr(ct.colorlayout, info.color_layout or "RGB")))
        else:
            types.append(ct.TensorType(name=info.name, shape=info.shape))
    return types


class CoreMLTarget:
    name = "coreml"
    suffix = ".mlpackage"
    numerics = ("fp32", "fp16", "w8", "lowbit")

    def convert(self, model, request: ConvertRequest, out_path: Path) -> Artifact:
        from mobilekit.convert.coverage import analyze_target

        ct = import_coremltools()
        options = request.options
        # Lower (exact decompositions) and check every op before anything is written.
        coverage = analyze_target(model, request.io, self.name)
        coverage.require_supported()
        custom_ops = sorted({row.op for row in coverage.custom_layers})
        precision = ct.precision.FLOAT16 if options.compute_precision == "fp16" else ct.precision.FLOAT32
        if custom_ops:  # custom layers exist only in the neural-network model format
            from mobilekit.convert.ops.coreml_custom import convert_neuralnetwork

            mlmodel = convert_neuralnetwork(coverage.function, _input_types(ct, request), custom_ops,
                                            getattr(ct.ComputeUnit, options.compute_units.upper()))
        else:
            mlmodel = ct.convert(
                [coverage.function], source="tensorflow", inputs=_input_types(ct, request),
                convert_to="mlprogram", minimum_deployment_target=getattr(ct.target, options.deployment_target),
                compute_precision=precision, compute_units=getattr(ct.ComputeUnit, options.compute_units.upper()),
            )
        spec = mlmodel.get_spec()
        # TF names outputs Identity, Identity_1, ... in sorted order of the serving dict's keys.
        for produced, wanted in zip([o.name for o in spec.description.output], sorted(t.name for t in request.io.outputs)):
            if produced != wanted:
                ct.utils.rename_feature(spec, produced, wanted)
        # Metadata goes straight into the spec, written once: a new MLModel(spec) + save() would
        # serialize and parse the whole program twice more (pure-Python protobuf: seconds per model).
        meta = request.meta
        metadata = spec.description.metadata
        metadata.author, metadata.license, metadata.versionString = meta.author, meta.license, meta.version
        metadata.shortDescription = meta.description or meta.name
        descriptions = {info.name: info.description for info in (*request.io.inputs, *request.io.outputs)}
        for feature in (*spec.description.input, *spec.description.output):
            if feature.name in descriptions:
                feature.shortDescription = descriptions[feature.name]
        metadata.userDefined[_CONVERSION_DATE_KEY] = artifact_timestamp_iso()
        for key, value in sorted(request.user_metadata.items()):
            metadata.userDefined[key] = value
        if out_path.exists():
            shutil.rmtree(out_path)
        ct.models.utils.save_spec(spec, str(out_path), weights_dir=mlmodel.weights_dir)
        normalize_mlpackage(out_path)
        details = {
            "format": "neuralnetwork" if custom_ops else "mlprogram",
            "deployment_target": options.deployment_target,
            "compute_precision": options.compute_precision,
            "compute_units": options.compute_units,
            "spec_version": int(spec.specificationVersion),
        }
        if coverage.routes():
            details["op_routes"] = coverage.routes()
        if custom_ops:
            # fp32 weights; Core ML picks the arithmetic precision of a neural network at run time
            details["compute_precision"] = "fp32 weights (neural-network format: runtime-chosen precision)"
        return Artifact(self.name, out_path, "fp32" if custom_ops else options.compute_precision, details)


COREML = CoreMLTarget()
