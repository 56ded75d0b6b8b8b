"""The family contract, generated from the family registry: every registered family ships a tiny
config (`configs/<family>-tiny.yaml`) and satisfies `tests.family_contract.check_family_contract`."""
from __future__ import annotations

from pathlib import Path

import pytest

import mobilekit  # noqa: F401
from mobilekit.core.family import FAMILIES
from tests.family_contract import check_family_contract

REPO = Path(__file__).resolve().parents[2]
BUILT_IN = [name for name in FAMILIES.names() if name != "toy"]  # "toy" is registered by a test module


@pytest.mark.parametrize("name", BUILT_IN)
def test_family_contract(name):
    from mobilekit.core.config import load_config

    path = REPO / "configs" / f"{name}-tiny.yaml"
    assert path.is_file(), f"family {name!r} must ship {path.name} (the contract and smoke tests build it)"
    config, _ = load_config(path)
    assert config.family == name
    check_family_contract(FAMILIES.get(name), config)
