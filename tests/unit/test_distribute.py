"""Placement from TF_CONFIG: worker count and task index, and a clear error for a malformed spec."""
from __future__ import annotations

import json

import pytest

from mobilekit.core.errors import InputError
from mobilekit.train.distribute import cluster_from_env


@pytest.mark.parametrize("spec, expected", [
    (None, (1, 0)),
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}, (2, 1)),
    ({"cluster": {"chief": ["c:1"], "worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 0}}, (3, 1)),
    ({"cluster": {"chief": ["c:1"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}, (2, 0)),
])
def test_cluster_from_tf_config(monkeypatch, spec, expected):
    if spec is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", json.dumps(spec))
    assert cluster_from_env() == expected


@pytest.mark.parametrize("raw", ["not json", json.dumps({"cluster": {"worker": ["a:1"]}}), json.dumps([1, 2])])
def test_a_malformed_tf_config_names_the_variable_and_the_accepted_shape(monkeypatch, raw):
    monkeypatch.setenv("TF_CONFIG", raw)
    with pytest.raises(InputError, match=r"TF_CONFIG: .*accepted"):
        cluster_from_env()
