"""actlab for Keras 3 users (``pip install actlab[keras]``): every catalog entry as a layer.

Keras runs on its torch backend here, so TensorFlow is not needed: importing this module
sets ``KERAS_BACKEND=torch`` unless the environment already names a backend.

>>> import keras, actlab.keras
>>> dense = keras.layers.Dense(10, activation=actlab.keras.get("leaky_relu(alpha=0.2)"))
"""

from __future__ import annotations

import os
import sys


def _import_keras() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    already = "keras" in sys.modules
    try:
        import keras
    except ImportError as exc:
        raise ImportError("actlab.keras needs Keras 3: pip install actlab[keras]") from exc
    backend = keras.backend.backend()
    if backend != "torch":
        how = "was imported before actlab.keras" if already else "was configured"
        raise ImportError(
            f"actlab.keras needs Keras' torch backend, but Keras {how} with backend "
            f"{backend!r}; set KERAS_BACKEND=torch before importing keras"
        )


_import_keras()

import keras  # noqa: E402  (the torch backend is selected now)

from actlab.backends.keras import ActlabActivation, get, native_op, ops_function  # noqa: E402
from actlab.diagnose.keras_monitor import Monitor  # noqa: E402

__all__ = ["ActlabActivation", "Monitor", "get", "keras", "native_op", "ops_function"]
