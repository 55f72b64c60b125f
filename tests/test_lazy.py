"""Packages whose names are imported on first use (actlab._lazy): every exported name is
the object it names, whatever was imported before."""

from __future__ import annotations

import subprocess
import sys

import pytest

from actlab._lazy import lazy_names

PACKAGES = (
    "actlab.analysis",
    "actlab.backends.torch",
    "actlab.comparison",
    "actlab.engine",
    "actlab.store",
)

SUBMODULES_FIRST = f"""
import importlib, pkgutil, types
packages = {PACKAGES!r}
for name in packages:  # every submodule imported before any exported name is read
    package = importlib.import_module(name)
    for info in pkgutil.iter_modules(package.__path__, name + "."):
        importlib.import_module(info.name)
for name in packages:
    package = importlib.import_module(name)
    for attr in package.__all__:
        value = getattr(package, attr)
        assert not isinstance(value, types.ModuleType), (name, attr)
print("ok")
"""


def test_exported_names_are_their_objects_after_every_submodule_is_imported() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SUBMODULES_FIRST], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_lazy_name_may_not_be_its_modules_name() -> None:
    with pytest.raises(ValueError, match="recognize"):
        lazy_names("actlab.backends.torch", {"recognize": "recognize", "Left": "swap"})
