"""The family contract, checked on one family and config (used by the registry-generated test and
by families defined in tests)."""
from __future__ import annotations

import numpy as np

from mobilekit.convert.base import TARGETS
from mobilekit.core.family import MAIN_MODULE, ModelFamily


def check_family_contract(family: ModelFamily, config) -> None:
    from mobilekit.convert.context import ModelContext
    from mobilekit.nn.keras_io import keras_input_names, keras_output_names
    from mobilekit.parity.tolerances import declared_tolerance
    from mobilekit.pipeline.package import module_inputs

    io = family.io(config)
    model = family.build_model(config)
    # I/O names equal the model's layer names
    assert [t.name for t in io.inputs] == keras_input_names(model), (io.inputs, keras_input_names(model))
    assert sorted(t.name for t in io.outputs) == sorted(keras_output_names(model))
    # split shapes match the I/O; training targets are outputs of the right shape
    for split_name in ("parity", "val"):
        split = family.make_split(config, split_name)
        for info in io.inputs:
            assert split.inputs[info.name].shape[1:] == info.shape[1:], (split_name, info.name)
        outputs = {t.name: t for t in io.outputs}
        for name, target in split.targets.items():
            assert name in outputs and target.shape[1:] == outputs[name].shape[1:], (split_name, name)
    # examples are what the dataset cache stores: deterministic, `split_size` of them, one spec per key;
    # every source is a versioned handler whose declared options exist in the config
    from mobilekit.core.family import split_size
    from mobilekit.data.cache.codec import merge_spec, spec_of
    from mobilekit.data.cache.identity import config_value
    from mobilekit.data.sources import SourceHandler

    examples = list(family.iter_examples(config, "parity"))
    assert len(examples) == split_size(config, "parity")
    spec = spec_of(examples[0])
    for example in examples[1:]:
        merge_spec(spec, example)
    again = next(iter(family.iter_examples(config, "parity")))
    assert all(np.array_equal(again[k], examples[0][k]) for k in spec)
    for name, handler in family.sources.items():
        assert isinstance(handler, SourceHandler) and handler.version >= 1, name
        for path in handler.options + family.example_options:
            config_value(config, path)
    # modules compose to the end-to-end model; their I/O names match their models
    modules = family.modules(config, model)
    assert [m.name for m in modules].count(MAIN_MODULE) == 1
    assert tuple(m.name for m in modules) == family.module_names_for(config), (family.module_names_for(config), [m.name for m in modules])
    for module in modules:
        assert [t.name for t in module.io.inputs] == keras_input_names(module.model), module.name
        assert sorted(t.name for t in module.io.outputs) == sorted(keras_output_names(module.model)), module.name
    split = family.make_split(config, "parity")
    contexts = [ModelContext(m.model, m.io, None, config, family, m.name) for m in modules]
    _, references = module_inputs(contexts, split.inputs)
    end_to_end = references[MAIN_MODULE]
    for module in modules:
        for name, value in references[module.name].items():
            if name in end_to_end:
                np.testing.assert_allclose(value, end_to_end[name], atol=1e-5, err_msg=f"module {module.name} output {name}")
    # score_outputs covers the budget metrics; task metrics of identical outputs are perfect
    val = family.make_split(config, "val")
    val_outputs = module_inputs([c for c in contexts if c.module == MAIN_MODULE], val.inputs)[1][MAIN_MODULE]
    scores = family.score_outputs(val_outputs, val)
    assert set(family.metric_names) <= set(scores), (family.metric_names, scores)
    assert all(m.direction in ("higher", "lower") for m in family.metrics)
    for name, metric in family.task_metrics.items():
        assert name in {t.name for t in io.outputs}, name
        assert metric.value(end_to_end[name], end_to_end[name], split.inputs) == metric.spec.perfect, name
    # tolerances exist for every module x target x numerics class
    for target in TARGETS.names():
        for numerics in TARGETS.get(target).numerics:
            assert declared_tolerance(family, target, numerics) is not None, (family.name, target, numerics)
