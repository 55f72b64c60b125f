"""Catalog entries, one module per family. Importing this package registers them all,
in the order ``actlab list`` shows them: the seed article's seven first."""

import importlib

FAMILIES = ("article", "modern", "piecewise", "smooth", "frontier", "vector", "gated")
"""Modules in registration (and listing) order."""

for _family in FAMILIES:
    importlib.import_module(f"{__name__}.{_family}")
