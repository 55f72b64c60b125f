"""actlab: pick, use and understand neural-network activation functions with evidence."""

from actlab.catalog import (
    Activation,
    SpecError,
    get,
    get_many,
    names,
    parse,
)

__version__ = "0.1.0"

__all__ = ["Activation", "SpecError", "__version__", "get", "get_many", "names", "parse"]
