"""actlab for Keras 3 users (``pip install actlab[keras]``): every catalog entry as a layer,
and a monitor callback, on whichever backend Keras runs (TensorFlow, JAX or PyTorch).

Keras chooses its backend itself (``KERAS_BACKEND``, else ``~/.keras/keras.json``, else
TensorFlow); importing this module keeps that choice, and works after Keras was imported.

>>> import keras, actlab.keras
>>> dense = keras.layers.Dense(10, activation=actlab.keras.get("leaky_relu(alpha=0.2)"))
>>> mon = actlab.keras.Monitor(x_probe, y_probe)       # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from actlab.backends.keras import ActlabActivation, get, keras, native_op, ops_function

if TYPE_CHECKING:
    from actlab.diagnose.keras_monitor import Monitor

__all__ = ["ActlabActivation", "Monitor", "get", "keras", "native_op", "ops_function"]


def __getattr__(name: str) -> Any:
    """``Monitor`` loads on first use (it needs torch for its statistics)."""
    if name == "Monitor":
        from actlab.diagnose.keras_monitor import Monitor

        globals()["Monitor"] = Monitor
        return Monitor
    raise AttributeError(f"module 'actlab.keras' has no attribute {name!r}")
