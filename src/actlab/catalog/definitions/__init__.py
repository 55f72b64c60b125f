"""Catalog entries, one module per family. Importing this package registers them all,
in the order ``actlab list`` shows them: the seed article's seven first."""

from actlab.catalog.definitions import (  # noqa: F401  (import registers)
    article,
    modern,
    piecewise,
    vector,
)
