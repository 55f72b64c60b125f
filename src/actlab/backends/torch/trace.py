"""Trace one forward pass of a model into a data-flow graph.

:class:`Tracer` runs the model's own ``forward`` (no symbolic tracing: data-dependent
control flow, Hugging Face models and fused blocks all run as they are) under a
``TorchFunctionMode`` that sees every torch function, ``torch.nn.functional`` call and
tensor method, and with forward hooks on every module. Each call becomes a :class:`Node`
whose inputs are the nodes that produced its tensor arguments:

* a *leaf* module (no child modules; ``nn.Linear``, ``nn.ReLU``, a Hugging Face
  ``GELUActivation``) is one opaque node: what it does inside is not recorded;
* every other call is a function node, named after the function (``relu``, ``add``,
  ``view``, ``batch_norm``); calls of activation functions also record the innermost
  module whose ``forward`` (or helper method) made the call, and the source line.

A tensor is *data* when it depends on the model's inputs; parameters, buffers and
tensors built from constants are not. The graph keeps the tensors alive until the tracer
is released, so the node of a tensor is looked up by identity.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.hooks import RemovableHandle

# ---- functions that are activations --------------------------------------------------------
_ACTIVATION_NAMES = {
    F: (
        "relu relu_ relu6 elu elu_ selu celu leaky_relu leaky_relu_ rrelu gelu silu mish "
        "hardswish hardsigmoid hardtanh hardtanh_ softplus softsign tanhshrink softshrink "
        "hardshrink logsigmoid sigmoid tanh threshold threshold_ softmax log_softmax "
        "softmin glu"
    ),
    torch: "relu relu_ sigmoid sigmoid_ tanh tanh_ selu selu_ celu celu_ softmax log_softmax",
    torch.Tensor: "relu relu_ sigmoid sigmoid_ tanh tanh_ softmax log_softmax",
    torch.special: "expit",
}


def _activation_functions() -> dict[Callable[..., Any], str]:
    found: dict[Callable[..., Any], str] = {}
    for owner, names in _ACTIVATION_NAMES.items():
        for name in names.split():
            fn = getattr(owner, name, None)
            if fn is not None:
                found.setdefault(fn, name.rstrip("_"))
    found[torch.special.expit] = "sigmoid"
    return found


ACTIVATION_FUNCTIONS: dict[Callable[..., Any], str] = _activation_functions()
"""Torch callables (``F.relu``, ``torch.tanh``, ``Tensor.sigmoid``, in-place forms) that
are activation calls, by the name their sites carry (``relu`` for ``relu_`` too)."""

INPLACE_FUNCTIONS = frozenset(
    fn for fn in ACTIVATION_FUNCTIONS if getattr(fn, "__name__", "").endswith("_")
)

# ---- how other calls pass data on ----------------------------------------------------------
SHAPE_OPS = frozenset(
    "view reshape flatten unflatten permute transpose t contiguous squeeze unsqueeze expand "
    "expand_as view_as reshape_as getitem narrow select split chunk unbind movedim moveaxis "
    "swapaxes swapdims clone to float half bfloat16 double type type_as detach repeat roll "
    "flip dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout".split()
)
"""Functions that move, copy or mask values (dropout is a fixed mask per step)."""

SHAPE_FROM_OTHER = frozenset("view_as expand_as reshape_as type_as".split())
"""Shape functions whose second tensor only lends its shape or dtype."""

LINEAR_OPS = frozenset(
    "batch_norm mean sum avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d "
    "adaptive_avg_pool2d adaptive_avg_pool3d pad neg".split()
)
"""Functions linear in their data input (batch norm: affine for fixed statistics)."""

ARITHMETIC = frozenset("add sub mul div true_divide rsub".split())
"""Affine when only one operand is data (a bias, a layer scale, a constant)."""

MULTIPLY_OPS = frozenset("mul matmul bmm einsum baddbmm addcmul".split())
"""Functions that multiply their data operands together (gates)."""

TRANSPARENT_MODULES: tuple[type[nn.Module], ...] = (
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.FeatureAlphaDropout,
    nn.modules.batchnorm._BatchNorm,
    nn.Identity,
    nn.Flatten,
    nn.Unflatten,
    nn.modules.pooling._AvgPoolNd,
    nn.modules.pooling._AdaptiveAvgPoolNd,
)
"""Leaf modules that are affine maps of their input (for fixed masks and statistics)."""

_MACHINERY = tuple(
    os.path.join(os.path.dirname(torch.__file__), name)
    for name in (
        "overrides.py",
        "nn/functional.py",
        "_tensor.py",
        "functional.py",
        "_jit_internal.py",
    )
)


def _op_name(func: Callable[..., Any]) -> str:
    """``__iadd__`` / ``add_`` / ``__radd__`` -> ``add``."""
    name = getattr(func, "__name__", type(func).__name__)
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
        if name[:1] in "ir" and name[1:] in ARITHMETIC | {"matmul", "truediv"}:
            name = name[1:]
        name = {"truediv": "div", "getitem": "getitem"}.get(name, name)
    return name.rstrip("_") or name


def tensors(value: Any) -> Iterator[torch.Tensor]:
    """The tensors in a (nested) tuple, list, dict or Hugging Face ``ModelOutput``."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from tensors(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from tensors(v)


def caller(frame: FrameType | None) -> tuple[nn.Module | None, str]:
    """The innermost module whose method made a call, and ``file:line`` of the call,
    from the first frame outside torch's function machinery (and this package's own)."""
    where = ""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_MACHINERY) and not filename.startswith(_OWN):
            if not where:
                where = f"{os.path.basename(filename)}:{frame.f_lineno}"
            code = frame.f_code
            if code.co_argcount and code.co_varnames[0] == "self":
                owner = frame.f_locals.get("self")
                if isinstance(owner, nn.Module):
                    return owner, where
        frame = frame.f_back
    return None, where


_OWN = os.path.dirname(os.path.abspath(__file__))


@dataclass
class Node:
    """One call in the traced forward pass.

    ``op``: the function name, or the module's class name for a module node; ``module``:
    the module's qualified name (module nodes); ``call``: the how-manieth call of that
    module (module nodes) or of that activation function in ``scope`` (function nodes),
    counted from 0 over the forward pass; ``inputs``: the nodes producing the data tensor
    arguments, in argument order; ``constants``: the other tensor arguments (parameters,
    buffers, constants); ``data``: whether the output depends on the model input.
    """

    index: int
    op: str
    kind: str  # "input" | "module" | "function"
    inputs: tuple[int, ...] = ()
    constants: tuple[torch.Tensor, ...] = ()
    data: bool = True
    module: str | None = None
    call: int = 0
    scope: str | None = None
    where: str = ""
    activation: str | None = None  # the activation function's name, for function nodes
    function: Callable[[torch.Tensor], torch.Tensor] | None = None
    """For activation calls and leaf modules: the call as a function of its data input."""
    target: Callable[..., Any] | None = None
    """For activation calls: the torch function called."""
    input_shape: tuple[int, ...] = ()
    output_shape: tuple[int, ...] = ()
    is_output: bool = False
    first_input_first: bool = True
    """For arithmetic: whether the data operand is the first argument (``x / c``)."""
    consumers: list[int] = field(default_factory=list)


@dataclass
class Graph:
    """The traced forward pass: nodes in execution order (so every node's inputs come
    before it), the model's named modules and the names of its parameters and buffers."""

    nodes: list[Node]
    modules: dict[str, nn.Module]
    tensor_names: dict[int, str]

    def module_of(self, node: Node) -> nn.Module | None:
        return self.modules.get(node.module) if node.module is not None else None


def _bind(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], position: int
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``func`` as a function of the argument at ``position`` (``-1``: ``kwargs['input']``),
    the others fixed."""
    rest = list(args)
    if position >= 0:
        rest[position] = None  # not kept alive

    def call(x: torch.Tensor) -> torch.Tensor:
        if position < 0:
            return func(*rest, **{**kwargs, "input": x})
        return func(*rest[:position], x, *rest[position + 1 :], **kwargs)

    return call


class Tracer(TorchFunctionMode):
    """Records one forward pass of ``model`` (see the module docstring).

    Use :meth:`start` before the forward pass (with its arguments) and :meth:`stop` after it
    (with its output); :meth:`run` does both around ``model(*args, **kwargs)``.
    ``on_call(node, x)`` is called for every activation-function call and leaf module
    call, before it runs, with its data input ``x`` (which an in-place call then
    overwrites).
    """

    def __init__(
        self,
        model: nn.Module,
        on_call: Callable[[Node, torch.Tensor], None] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.on_call = on_call
        self.modules = dict(model.named_modules())
        self._names = {id(m): name for name, m in self.modules.items()}
        self._leaves = {
            id(m) for m in self.modules.values() if m is not model and not any(m.children())
        }
        self.tensor_names = {
            id(t): n for n, t in [*model.named_parameters(), *model.named_buffers()]
        }
        self.nodes: list[Node] = []
        self._producer: dict[int, int] = {}
        self._keep: list[Any] = []
        self._opaque = 0
        self._pending: list[Node] = []
        self._calls: dict[tuple[str, str], int] = {}
        self._handles: list[RemovableHandle] = []

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        for t in tensors((args, kwargs)):
            self._add(Node(len(self.nodes), "input", "input"), [t])
        for m in self.modules.values():
            if id(m) in self._leaves:
                self._handles.append(m.register_forward_pre_hook(self._leaf_pre, with_kwargs=True))
                self._handles.append(
                    m.register_forward_hook(self._leaf_post, with_kwargs=True, always_call=True)
                )
        self.__enter__()

    def stop(self, output: Any) -> Graph:
        self.__exit__(None, None, None)
        for h in self._handles:
            h.remove()
        self._handles.clear()
        for t in tensors(output):
            index = self._producer.get(id(t))
            if index is not None:
                self.nodes[index].is_output = True
        for node in self.nodes:
            for i in node.inputs:
                self.nodes[i].consumers.append(node.index)
        return Graph(self.nodes, self.modules, self.tensor_names)

    def run(self, *args: Any, **kwargs: Any) -> tuple[Graph, Any]:
        self.start(args, kwargs)
        output: Any = None
        try:
            output = self.model(*args, **kwargs)
        finally:
            graph = self.stop(output)
        return graph, output

    def release(self) -> None:
        """Drop the references to the traced tensors."""
        self._keep.clear()
        self._producer.clear()

    # ---- recording ---------------------------------------------------------------------
    def _node_of(self, t: torch.Tensor) -> Node | None:
        index = self._producer.get(id(t))
        return self.nodes[index] if index is not None else None

    def _split(self, values: Any) -> tuple[list[int], list[torch.Tensor], list[torch.Tensor]]:
        """Producers of the data tensors in ``values``, the data tensors, and the others."""
        inputs, data, constants = [], [], []
        for t in tensors(values):
            node = self._node_of(t)
            if node is not None and node.data:
                inputs.append(node.index)
                data.append(t)
            else:
                constants.append(t)
        return inputs, data, constants

    def _add(self, node: Node, outputs: list[torch.Tensor]) -> Node:
        """Append ``node`` as the producer of ``outputs``."""
        node.index = len(self.nodes)
        if outputs:
            node.output_shape = tuple(outputs[0].shape)
        self.nodes.append(node)
        for t in outputs:
            self._producer[id(t)] = node.index
            self._keep.append(t)
        return node

    def _count(self, scope: str, name: str) -> int:
        k = self._calls.get((scope, name), 0)
        self._calls[(scope, name)] = k + 1
        return k

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        if self._opaque:
            return func(*args, **kwargs)
        op = _op_name(func)
        inputs, data, constants = self._split(
            args[:1] if op in SHAPE_FROM_OTHER else (args, kwargs)
        )
        node = Node(len(self.nodes), op, "function", tuple(inputs), tuple(constants))
        node.data = bool(inputs)
        activation = ACTIVATION_FUNCTIONS.get(func)
        if activation is not None:
            # every call is counted (as the run-time routers count them); only calls on
            # data are sites
            scope_module, where = caller(sys._getframe(1))
            scope = self._names.get(id(scope_module), "") if scope_module is not None else ""
            call = self._count(scope, activation)
            if data:
                node.scope, node.where, node.call = scope, where, call
                node.activation, node.target = activation, func
                position = next((i for i, a in enumerate(args) if a is data[0]), -1)
                node.function = _bind(func, args, kwargs, position)
                node.input_shape = tuple(data[0].shape)
                if self.on_call is not None:
                    self.on_call(node, data[0])
        if node.op in ARITHMETIC and data and args:
            node.first_input_first = args[0] is data[0]
        out = func(*args, **kwargs)
        outputs = list(tensors(out))
        if outputs:
            self._add(node, outputs)
        return out

    def _leaf_pre(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self._opaque == 0:
            inputs, data, constants = self._split((args, kwargs))
            name = self._names[id(module)]
            node = Node(
                len(self.nodes),
                type(module).__name__,
                "module",
                tuple(inputs),
                tuple(constants),
                bool(inputs),
                module=name,
                call=self._count(name, ""),
                function=module.forward,
                input_shape=tuple(data[0].shape) if data else (),
            )
            self._pending.append(node)
            if data and self.on_call is not None:
                self.on_call(node, data[0])
        self._opaque += 1

    def _leaf_post(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> None:
        self._opaque -= 1
        if self._opaque == 0:
            self._add(self._pending.pop(), list(tensors(output)))


def is_weight_layer(module: nn.Module | None) -> bool:
    """A leaf whose ``weight`` parameter has two or more dimensions (linear, convolution,
    Hugging Face ``Conv1D``, ...): it maps its data input linearly, and its weight-gradient
    norm is a layer's."""
    weight = getattr(module, "weight", None)
    return (
        isinstance(weight, nn.Parameter)
        and weight.dim() >= 2
        and not isinstance(module, nn.Embedding)
    )


def size_of(module: nn.Module) -> tuple[int, int, int] | None:
    """``(in, out, groups)`` of a linear or convolution layer, else ``None``."""
    if isinstance(module, nn.Linear):
        return module.in_features, module.out_features, 1
    if isinstance(module, nn.modules.conv._ConvNd):
        return module.in_channels, module.out_channels, module.groups
    return None


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape) if shape else 1
