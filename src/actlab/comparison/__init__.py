"""``actlab.compare``: train the same network with every candidate activation and several
seeds side by side, monitor them, rank them and recommend one."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actlab._lazy import lazy_names
from actlab.catalog import Activation
from actlab.comparison.config import (
    ARTICLE_SEVEN,
    AUTO_MAX_SEEDS,
    DEFAULT_ACTIVATIONS,
    AutoSeeds,
    CompareConfig,
    hidden_widths,
)
from actlab.comparison.inputs import Prepared, digest, from_loader

if TYPE_CHECKING:
    from actlab.comparison.result import CompareResult
    from actlab.comparison.runner import Progress

# The runner (torch, the engine, the data) and the result (the analysis) are imported when
# a function here needs them: `actlab compare --help` and the config load neither.


__getattr__, _ = lazy_names(__name__, {"CompareResult": "result"})


def compare(
    data: Any = "digits",
    activations: Sequence[str | Activation] | str = DEFAULT_ACTIVATIONS,
    seeds: int | Sequence[int] | str = 5,
    *,
    max_seeds: int | None = None,
    epochs: int = 30,
    hidden: Sequence[int] = (128, 128),
    channels: Sequence[int] = (16, 32),
    depth: int | None = None,
    width: int | None = None,
    depths: Sequence[int] = (),
    model: Any = "mlp",
    d_model: int = 64,
    heads: int = 4,
    match: str = "params",
    optimizer: str = "adam",
    lr: float = 1e-3,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    batch_size: int = 64,
    early_stopping: int | None = None,
    init: str | Callable[[Any], Any] = "auto",
    target: str | None = None,
    task: str | None = None,
    impute: bool = False,
    split_seed: int = 0,
    device: str | None = None,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    progress: Progress | None = None,
) -> CompareResult:
    """Train one network per activation x seed (all at once, in one stacked model).

    ``data``: an embedded dataset name or generator spec (``"digits"``, ``"moons(n=500)"``),
    a CSV/NPZ/NPY path (``target=`` names a CSV's label column), ``(X, y)`` arrays, or a
    ``DataLoader`` of ``(x, y)`` batches (its samples are used as they are, in their own
    shape). ``activations``: spec strings (or a comma-separated string). ``seeds``: how
    many (0..n-1) or which, or ``"auto"``: start with 5 and add 5 at a time (each batch one
    more stacked run, the same paired design) until every candidate is resolved against
    the leader or ``max_seeds`` (default 30) is reached, with group-sequential boundaries
    that keep the verdicts' error rates (:mod:`actlab.analysis.sequential`).
    ``data="text"`` (``"text(context=64, chars=200000)"``) is the embedded corpus for
    next-character prediction (:mod:`actlab.data.text`; ``model="ffn"``), ranked by bits
    per character, lower is better (each candidate's ``test_bpc``; accuracy beside it).
    ``model``: ``"mlp"``,
    ``"cnn"`` (image-shaped data, ``channels`` conv widths), ``"ffn"`` (transformer-style
    pre-norm residual blocks, :mod:`actlab.engine.ffn`: ``d_model`` wide, ``heads``
    attention heads on token sequences, ``hidden`` the FFN width of each block), or your
    own ``nn.Module`` / a factory returning one: its activation
    modules are swapped for a per-candidate activation and every candidate trains in one
    vmapped stack (:mod:`actlab.engine.user_stack`; a model that cannot be vmapped trains
    its candidates one at a time, and the run says why). A factory is called under each
    seed; an instance is re-initialised under each seed by ``init`` (a callable taking the
    model), or as it was built: each layer's ``reset_parameters``, then the
    ``_init_weights`` of any Hugging Face model inside it (also in a wrapper); without
    either, a warning says its own initialisation is not kept.
    ``hidden`` widths, or ``depth`` x ``width``; ``depths`` trains several depths (of
    ``width`` or ``hidden[0]``) as separate groups. ``match``: how wide a gated
    activation's layers are (swiglu, geglu, ...: each projects to value and gate halves):
    ``"params"`` (default) round(2/3) the plain width, LLaMA's rule for about the same
    parameters, or ``"width"`` the plain width (:mod:`actlab.catalog.widths`); gated and
    plain candidates train in the same run on the same paired seeds and batches.
    ``device``: ``"auto"`` (default: an accelerator where there is one), ``"cpu"``,
    ``"cuda"``, ``"cuda:N"``, ``"mps"``.
    ``out``: a run directory to record into (with ``report.html``). ``resume``: a run
    directory to finish instead (pass the same ``model`` and in-memory ``data`` again when
    the run trained them; every other argument comes from the run).
    """
    from actlab.comparison.runner import run_comparison
    from actlab.engine.user_stack import UserModel

    auto = auto_seeds(seeds, max_seeds)
    user = (
        None
        if isinstance(model, str)
        else UserModel(model, init=None if isinstance(init, str) else init)
    )
    if resume is not None:
        from actlab.store import RunDir

        stored = CompareConfig.from_dict(RunDir(resume).read_config())
        task, split_seed = stored.task, stored.split_seed
    source = None if isinstance(data, str | Path) else _materialize(data, task, split_seed)
    if resume is not None:
        return run_comparison(
            CompareConfig(),
            resume,
            resume=True,
            data_source=source,
            user_model=user,
            device=device,
            progress=progress,
        )
    if isinstance(activations, str):
        from actlab.catalog.spec import split_specs

        activations = split_specs(activations)
    if auto is not None:
        seed_list = tuple(range(auto.start))
    elif isinstance(seeds, int):
        seed_list = tuple(range(seeds))
    else:
        seed_list = tuple(seeds)
    if user is not None:
        if isinstance(init, str) and init != "auto":
            raise ValueError(
                f"init={init!r} is a scheme of actlab's own models; a model of yours keeps "
                "its own initialisation (pass init=callable to re-initialise an instance)"
            )
        if "reset_parameters" in user.policy:
            warnings.warn(f"model={user.name}: {user.policy}", UserWarning, stacklevel=2)
    config = CompareConfig(
        data=_describe(data, source),
        target=target,
        task=task,
        impute=impute,
        activations=tuple(a.spec if isinstance(a, Activation) else a for a in activations),
        seeds=seed_list,
        auto_seeds=auto,
        model="user" if user is not None else model,
        hidden=hidden_widths(hidden, depth, width),
        channels=tuple(channels),
        depths=tuple(depths),
        d_model=d_model,
        heads=heads,
        match=match,
        epochs=epochs,
        optimizer=optimizer,
        lr=lr,
        momentum=momentum,
        weight_decay=weight_decay,
        batch_size=batch_size,
        early_stopping=early_stopping,
        init=init if isinstance(init, str) else "auto",
        split_seed=split_seed,
        device=device or "auto",
        user_model=None if user is None else user.describe(),
        data_digest=None if source is None else digest(source),
    )
    return run_comparison(config, out, data_source=source, user_model=user, progress=progress)


def auto_seeds(seeds: Any, max_seeds: int | None) -> AutoSeeds | None:
    """``seeds="auto"`` with its budget; ``max_seeds`` is refused without it."""
    if isinstance(seeds, str):
        if seeds != "auto":
            raise ValueError(f"seeds must be a count, a list of seeds or 'auto', got {seeds!r}")
        return AutoSeeds.of(AUTO_MAX_SEEDS if max_seeds is None else max_seeds)
    if max_seeds is not None:
        raise ValueError("max_seeds applies only to seeds='auto' (--seeds auto)")
    return None


def _describe(data: Any, source: Any) -> str:
    if source is None:
        return str(data)
    if isinstance(source, Prepared):
        return f"a DataLoader ({type(data.dataset).__name__})"
    return "in-memory arrays"


def _materialize(data: Any, task: str | None, split_seed: int) -> Any:
    """A ``torch.utils.data.DataLoader`` is read once into split samples that keep their
    shape (:func:`actlab.comparison.inputs.from_loader`); anything else is passed on."""
    import torch

    if isinstance(data, torch.utils.data.DataLoader):
        return from_loader(data, task=task, seed=split_seed)
    return data


def extend_seeds(
    run_dir: str | Path,
    seeds: Sequence[int],
    *,
    data: Any = None,
    model: Any = None,
    init: Callable[[Any], Any] | None = None,
    device: str | None = None,
    progress: Progress | None = None,
) -> CompareResult:
    """Add ``seeds`` to the run in ``run_dir`` and train them with the same paired design
    (a seed's initial weights and batch order do not depend on the other seeds), then
    re-analyse; the results equal a run that had every seed from the start. A run of your
    own model or of in-memory data takes them again (``model=``, ``data=``)."""
    from actlab.comparison import runner
    from actlab.engine.user_stack import UserModel
    from actlab.store import RunDir

    stored = CompareConfig.from_dict(RunDir(run_dir).read_config())
    source = None if data is None else _materialize(data, stored.task, stored.split_seed)
    user = None if model is None else UserModel(model, init=init)
    return runner.extend_seeds(
        run_dir, seeds, data_source=source, user_model=user, device=device, progress=progress
    )


def resume(run_dir: str | Path, *, progress: Progress | None = None) -> CompareResult:
    """Finish an interrupted run directory without redoing finished work (a run of your
    own model or of in-memory data: ``actlab.compare(model=..., data=..., resume=DIR)``)."""
    from actlab.comparison.runner import run_comparison

    return run_comparison(CompareConfig(), run_dir, resume=True, progress=progress)


def load(run_dir: str | Path) -> CompareResult:
    """Read a finished (or partial) run directory without training."""
    from actlab.comparison.result import CompareResult
    from actlab.store import RunDir

    run = RunDir(run_dir)
    CompareConfig.of_run(run)  # a damaged config.json is refused, naming it
    results = run.read_results()
    if results is None:
        raise FileNotFoundError(
            f"{run_dir} has no results.json yet; resume it with `actlab compare --resume {run_dir}`"
        )
    return CompareResult.from_dict(results, path=Path(run_dir))


__all__ = [
    "ARTICLE_SEVEN",
    "DEFAULT_ACTIVATIONS",
    "CompareConfig",
    "CompareResult",
    "compare",
    "extend_seeds",
    "load",
    "resume",
]
