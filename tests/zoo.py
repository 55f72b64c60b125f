"""A zoo of real architectures, small, with random weights, never downloaded.

The patterns that break naive activation tools, rebuilt in plain torch after the published
timm / torchvision code (timm imports torchvision, whose published wheel for torch 2.13 does
not import beside the pinned CPU torch), plus tiny Hugging Face models built from
``transformers`` config objects, ``nn.TransformerEncoderLayer`` / ``DecoderLayer`` and
small Keras CNNs:

=====================  =====================================================================
name                   what it exercises
=====================  =====================================================================
resnet                 torchvision ``BasicBlock``: one ``nn.ReLU`` module called twice per
                       forward; the last BN of every block zero-initialised (timm's default,
                       torchvision's ``zero_init_residual=True``); a downsample shortcut
mobilenet_v2           inverted residuals with linear bottlenecks (1x1 projection, BN, no
                       activation) and ``ReLU6(inplace=True)``
mobilenet_v3           Hardswish, squeeze-excite with a ``Hardsigmoid`` gate; torchvision's
                       ``SqueezeExcitation`` registers ``fc1, fc2, activation,
                       scale_activation`` (so registration order names the wrong feeder)
efficientnet           timm's ``BatchNormAct2d`` (the activation inside the norm module),
                       a foreign ``Swish`` class, SE with a sigmoid gate, linear bottlenecks
convnext               timm's ConvNeXt block: depthwise 7x7, LayerNorm, a foreign ``GELU``
                       class, layer scale, residual; ``LayerNorm2d`` downsampling
functional             activations called functionally in ``forward`` (``F.relu``,
                       ``F.gelu(approximate="tanh")``, ``F.leaky_relu``, ``x.sigmoid()``), a
                       mobilevitv2-style ``F.relu(v) * context`` and ``F.softmax``, a user's
                       own ``Swish`` and QuickGELU classes, an unknown elementwise one, and a
                       final output ``nn.Sigmoid`` (multi-label)
transformer            ``nn.TransformerEncoderLayer`` (``activation="relu"``: a function held
                       as an attribute, and a fused fast path in eval mode) and
                       ``nn.TransformerDecoderLayer`` (``activation=nn.GELU()``)
bert                   Hugging Face ``BertModel`` (``GELUActivation``; the pooler's ``Tanh``
                       whose output is a model output)
bert_classifier        ``BertForSequenceClassification`` returning logits (the pooler's
                       ``Tanh`` now feeds the classifier: a hidden layer)
llama                  ``LlamaForSequenceClassification``: SwiGLU feed-forward,
                       ``silu(gate_proj(x)) * up_proj(x)``
=====================  =====================================================================

Each entry has a factory (fresh random weights under the caller's seed), a batch maker,
a loss, and the facts tests assert: every activation *site* (a module call, or a functional
call inside some module's ``forward``) with what it computes (a catalog spec, ``"unknown
elementwise"`` or ``"not elementwise"``) and its role (``hidden``, ``gate``: multiplies
another branch with a bounded squash, ``output``: the model's final squash).

Site names: a module called once is named by its qualified name (``layer1.0.relu``); the
calls of a module called several times per forward are ``name#0``, ``name#1``, ...; a
functional call is ``<enclosing module>.<function>()`` (``blocks.0.relu()``, or
``relu()`` in the root's ``forward``), with ``#k`` when that module makes several calls of
the function; a function held as an attribute and called (``TransformerEncoderLayer``'s
``activation``) is named by the attribute (``encoder.layers.0.activation``).

:data:`KERAS` holds Keras 3 models (torch backend) the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

HIDDEN, GATE, OUTPUT = "hidden", "gate", "output"
UNKNOWN, NOT_ELEMENTWISE = "unknown elementwise", "not elementwise"


@dataclass(frozen=True)
class Site:
    """What a site computes (catalog spec, :data:`UNKNOWN` or :data:`NOT_ELEMENTWISE`), its
    role, and the weight layer feeding it (``None``: not asserted)."""

    spec: str
    role: str = HIDDEN
    feeder: str | None = None


@dataclass(frozen=True)
class Entry:
    """One zoo model: ``build()`` a fresh model, ``batch(n, generator)`` its forward
    arguments and targets, ``loss(output, targets)``, and the expected ``sites``.

    ``linear_pairs``: pairs of weight layers with nothing non-linear between them that *are*
    a collapse (empty for every healthy model). ``dtypes``: the floating dtypes the model
    runs in on CPU (for the float16 / bfloat16 / autocast tests)."""

    name: str
    build: Callable[[], nn.Module]
    batch: Callable[[int, torch.Generator], tuple[tuple[Any, ...], torch.Tensor]]
    loss: Callable[[Any, torch.Tensor], torch.Tensor]
    sites: dict[str, Site]
    task: str = "classification"
    classes: int = 10
    input_shape: tuple[int, ...] = ()
    linear_pairs: tuple[tuple[str, str], ...] = ()
    lr: float = 1e-3
    notes: str = ""
    needs: tuple[str, ...] = field(default=())


def image_like(n: int, shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    """Images that differ as photographs do, not only pixel by pixel: a smooth random
    field (4x4 noise upsampled), a per-image brightness and colour cast, and a little pixel
    noise. (Pixel-wise noise alone averages out under global pooling, so every image would
    look alike to a squeeze-excite block.)"""
    c, h, w = shape
    smooth = F.interpolate(
        torch.randn(n, c, 4, 4, generator=gen), size=(h, w), mode="bilinear", align_corners=False
    )
    cast = torch.randn(n, c, 1, 1, generator=gen) * 0.5 + torch.randn(n, 1, 1, 1, generator=gen)
    return smooth + cast + 0.3 * torch.randn(n, c, h, w, generator=gen)


def _images(shape: tuple[int, ...], classes: int) -> Callable[..., Any]:
    def batch(n: int, gen: torch.Generator) -> tuple[tuple[torch.Tensor], torch.Tensor]:
        x = image_like(n, shape, gen)
        # a learnable target: the class is the argmax of a fixed random projection
        proj = torch.randn(math.prod(shape), classes, generator=torch.Generator().manual_seed(7))
        return (x,), (x.flatten(1) @ proj).argmax(1)

    return batch


def _tokens(vocab: int, length: int, classes: int) -> Callable[..., Any]:
    def batch(n: int, gen: torch.Generator) -> tuple[tuple[torch.Tensor], torch.Tensor]:
        ids = torch.randint(1, vocab, (n, length), generator=gen)
        return (ids,), (ids[:, 0] % classes)

    return batch


def _cross_entropy(out: Any, y: torch.Tensor) -> torch.Tensor:
    logits = out.logits if hasattr(out, "logits") else out
    return F.cross_entropy(logits.float(), y)


# ---- foreign activation classes (as timm, Hugging Face or a user writes them) ---------------
class GELU(nn.Module):
    """timm.layers.activations.GELU: a module of another library wrapping ``F.gelu``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return F.gelu(input)


class Swish(nn.Module):
    """timm's / a user's own swish: ``x * sigmoid(x)`` written out (= silu)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


class QuickGELU(nn.Module):
    """CLIP's / Hugging Face's quick GELU, ``x * sigmoid(1.702 x)`` (= silu(beta=1.702))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class Snake(nn.Module):
    """``x + sin(x)``: elementwise, in no catalog (the catalog's snake is x + sin(a x)^2 / a)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.sin(x)


class HardSigmoid(nn.Module):
    """timm's hard sigmoid written out: ``relu6(x + 3) / 6``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(x + 3.0) / 6.0


class BatchNormAct2d(nn.BatchNorm2d):
    """timm.layers.norm_act.BatchNormAct2d: batch norm, then the activation, in one module
    (``apply_act=False`` makes it a plain batch norm)."""

    def __init__(
        self,
        num_features: int,
        apply_act: bool = True,
        act_layer: type[nn.Module] = nn.ReLU,
        inplace: bool = True,
    ) -> None:
        super().__init__(num_features)
        self.drop = nn.Identity()
        self.act = act_layer(inplace=inplace) if apply_act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training,
            self.momentum or 0.0,
            self.eps,
        )
        return self.act(self.drop(x))


# ---- ResNet (torchvision BasicBlock) --------------------------------------------------------
class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock: ``self.relu`` is called twice."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        nn.init.zeros_(self.bn2.weight)  # zero_init_residual / timm's zero_init_last
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 8))
        self.layer2 = nn.Sequential(BasicBlock(8, 16, stride=2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _resnet_sites() -> dict[str, Site]:
    sites = {"relu": Site("relu", feeder="conv1")}
    for block in ("layer1.0", "layer1.1", "layer2.0"):
        sites[f"{block}.relu#0"] = Site("relu", feeder=f"{block}.conv1")
        sites[f"{block}.relu#1"] = Site("relu", feeder=None)  # after the residual add
    return sites


# ---- MobileNetV2 / V3 (torchvision) ---------------------------------------------------------
def conv_norm_act(
    cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, act: type | None = None
) -> nn.Sequential:
    """torchvision.ops.Conv2dNormActivation: conv, BN, activation (none when ``act`` is
    None)."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act is not None:
        layers.append(act(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidualV2(nn.Module):
    """torchvision.models.mobilenetv2.InvertedResidual: expand, depthwise, and a linear
    1x1 projection (no activation: the linear bottleneck)."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            conv_norm_act(cin, hidden, 1, act=nn.ReLU6),
            conv_norm_act(hidden, hidden, 3, stride, groups=hidden, act=nn.ReLU6),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_norm_act(3, 8, 3, 2, act=nn.ReLU6),
            InvertedResidualV2(8, 8, 1, 2),
            InvertedResidualV2(8, 12, 2, 4),
            InvertedResidualV2(12, 12, 1, 4),
            conv_norm_act(12, 32, 1, act=nn.ReLU6),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(32, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


def _mobilenet_v2_sites() -> dict[str, Site]:
    sites = {"features.0.2": Site("relu6", feeder="features.0.0")}
    for b in (1, 2, 3):
        sites[f"features.{b}.conv.0.2"] = Site("relu6", feeder=f"features.{b}.conv.0.0")
        sites[f"features.{b}.conv.1.2"] = Site("relu6", feeder=f"features.{b}.conv.1.0")
    sites["features.4.2"] = Site("relu6", feeder="features.4.0")
    return sites


class SqueezeExcitation(nn.Module):
    """torchvision.ops.SqueezeExcitation, registration order included."""

    def __init__(self, channels: int, squeeze: int, scale_activation: type = nn.Sigmoid) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = scale_activation()

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(self.activation(self.fc1(self.avgpool(input))))
        return self.scale_activation(scale) * input


class InvertedResidualV3(nn.Module):
    """torchvision.models.mobilenetv3.InvertedResidual with SE and Hardswish."""

    def __init__(self, cin: int, hidden: int, cout: int, stride: int, se: bool) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = [
            conv_norm_act(cin, hidden, 1, act=nn.Hardswish),
            conv_norm_act(hidden, hidden, 3, stride, groups=hidden, act=nn.Hardswish),
        ]
        if se:
            layers.append(SqueezeExcitation(hidden, max(hidden // 4, 8), nn.Hardsigmoid))
        layers.append(conv_norm_act(hidden, cout, 1, act=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return out + x if self.use_res_connect else out


class MobileNetV3(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            conv_norm_act(3, 8, 3, 2, act=nn.Hardswish),
            InvertedResidualV3(8, 16, 8, 1, se=True),
            InvertedResidualV3(8, 32, 12, 2, se=True),
            conv_norm_act(12, 48, 1, act=nn.Hardswish),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(48, 64), nn.Hardswish(inplace=True), nn.Dropout(0.2), nn.Linear(64, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _mobilenet_v3_sites() -> dict[str, Site]:
    sites = {"features.0.2": Site("hard_swish", feeder="features.0.0")}
    for b in (1, 2):
        sites[f"features.{b}.block.0.2"] = Site("hard_swish", feeder=f"features.{b}.block.0.0")
        sites[f"features.{b}.block.1.2"] = Site("hard_swish", feeder=f"features.{b}.block.1.0")
        se = f"features.{b}.block.2"
        sites[f"{se}.activation"] = Site("relu", feeder=f"{se}.fc1")
        sites[f"{se}.scale_activation"] = Site("hard_sigmoid", GATE, feeder=f"{se}.fc2")
    sites["features.3.2"] = Site("hard_swish", feeder="features.3.0")
    sites["classifier.1"] = Site("hard_swish", feeder="classifier.0")
    return sites


# ---- EfficientNet (timm: BatchNormAct2d, SqueezeExcite, foreign Swish) ---------------------
class SqueezeExcite(nn.Module):
    """timm.models._efficientnet_blocks.SqueezeExcite."""

    def __init__(self, channels: int, rd: int) -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, rd, 1)
        self.act1 = Swish(inplace=True)
        self.conv_expand = nn.Conv2d(rd, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_se = self.conv_expand(self.act1(self.conv_reduce(x.mean((2, 3), keepdim=True))))
        return x * self.gate(x_se)


class MBConv(nn.Module):
    """timm.models._efficientnet_blocks.InvertedResidual (``bn3`` has no activation)."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_skip = stride == 1 and cin == cout
        self.conv_pw = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = BatchNormAct2d(mid, act_layer=Swish)
        self.conv_dw = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = BatchNormAct2d(mid, act_layer=Swish)
        self.se = SqueezeExcite(mid, max(cin // 4, 2))
        self.conv_pwl = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = BatchNormAct2d(cout, apply_act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.bn2(self.conv_dw(self.bn1(self.conv_pw(x))))
        x = self.bn3(self.conv_pwl(self.se(x)))
        return x + shortcut if self.has_skip else x


class EfficientNet(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.conv_stem = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.bn1 = BatchNormAct2d(8, act_layer=Swish)
        self.blocks = nn.Sequential(MBConv(8, 8, 1, 1), MBConv(8, 12, 2, 4), MBConv(12, 12, 1, 4))
        self.conv_head = nn.Conv2d(12, 32, 1, bias=False)
        self.bn2 = BatchNormAct2d(32, act_layer=Swish)
        self.classifier = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn2(self.conv_head(self.blocks(self.bn1(self.conv_stem(x)))))
        return self.classifier(x.mean((2, 3)))


def _efficientnet_sites() -> dict[str, Site]:
    sites = {"bn1.act": Site("silu", feeder="conv_stem")}
    for b in (0, 1, 2):
        blk = f"blocks.{b}"
        sites[f"{blk}.bn1.act"] = Site("silu", feeder=f"{blk}.conv_pw")
        sites[f"{blk}.bn2.act"] = Site("silu", feeder=f"{blk}.conv_dw")
        sites[f"{blk}.se.act1"] = Site("silu", feeder=f"{blk}.se.conv_reduce")
        sites[f"{blk}.se.gate"] = Site("sigmoid", GATE, feeder=f"{blk}.se.conv_expand")
    sites["bn2.act"] = Site("silu", feeder="conv_head")
    return sites


# ---- ConvNeXt (timm) ------------------------------------------------------------------------
class LayerNorm2d(nn.LayerNorm):
    """timm.layers.LayerNorm2d: LayerNorm over the channels of an NCHW tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Mlp(nn.Module):
    """timm.layers.Mlp: fc1, act, drop, norm (identity), fc2, drop."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = GELU()
        self.drop1 = nn.Dropout(0.0)
        self.norm = nn.Identity()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop2 = nn.Dropout(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.norm(self.drop1(self.act(self.fc1(x))))))


class ConvNeXtBlock(nn.Module):
    """timm.models.convnext.ConvNeXtBlock (``conv_mlp=False``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.conv_dw(x).permute(0, 2, 3, 1)
        x = self.mlp(self.norm(x))
        x = x.mul(self.gamma).permute(0, 3, 1, 2)
        return x + shortcut


class ConvNeXt(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 4, 4), LayerNorm2d(8, eps=1e-6))
        self.stages = nn.Sequential(
            nn.Sequential(ConvNeXtBlock(8)),
            nn.Sequential(LayerNorm2d(8, eps=1e-6), nn.Conv2d(8, 16, 2, 2), ConvNeXtBlock(16)),
        )
        self.norm = nn.LayerNorm(16, eps=1e-6)
        self.head = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x)).mean((2, 3))
        return self.head(self.norm(x))


def _convnext_sites() -> dict[str, Site]:
    return {
        "stages.0.0.mlp.act": Site("gelu", feeder="stages.0.0.mlp.fc1"),
        "stages.1.2.mlp.act": Site("gelu", feeder="stages.1.2.mlp.fc1"),
    }


# ---- functional activations, user classes, output sigmoid ----------------------------------
class LinearAttention(nn.Module):
    """timm MobileViTv2's LinearSelfAttention, reduced: ``F.relu(value) * context``, after
    the block's pre-norm (``GroupNorm(1, dim)``, as timm's ``GroupNorm1``)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(1, dim)
        self.qkv = nn.Conv2d(dim, 1 + 2 * dim, 1)
        self.out = nn.Conv2d(dim, dim, 1)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        query, key, value = self.qkv(self.norm(x)).split([1, self.dim, self.dim], dim=1)
        scores = F.softmax(query.flatten(2), dim=-1).view_as(query)
        context = (key * scores).sum(dim=(2, 3), keepdim=True)
        return self.out(F.relu(value) * context.expand_as(value))


class FunctionalNet(nn.Module):
    """Activations called functionally, users' own classes, and a final ``nn.Sigmoid``."""

    def __init__(self, classes: int = 5) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.attn = LinearAttention(8)
        self.fc1 = nn.Linear(8, 32)
        self.swish = Swish()
        self.fc2 = nn.Linear(32, 32)
        self.quick = QuickGELU()
        self.fc3 = nn.Linear(32, 32)
        self.snake = Snake()
        self.fc4 = nn.Linear(32, 32)
        self.head = nn.Linear(32, classes)
        self.out = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.gelu(self.conv2(x), approximate="tanh")
        x = x + self.attn(x)
        x = x.mean((2, 3))
        x = self.swish(self.fc1(x))
        x = self.quick(self.fc2(x))
        x = self.snake(self.fc3(x))
        x = F.leaky_relu(self.fc4(x), 0.2)
        return self.out(self.head(x))


def _functional_batch(n: int, gen: torch.Generator) -> tuple[tuple[torch.Tensor], torch.Tensor]:
    x = image_like(n, (3, 8, 8), gen)
    proj = torch.randn(3 * 8 * 8, 5, generator=torch.Generator().manual_seed(7))
    return (x,), ((x.flatten(1) @ proj) > 0).float()


def _bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy(out.float().clamp(1e-6, 1 - 1e-6), y)


def _functional_sites() -> dict[str, Site]:
    return {
        "relu()": Site("relu", feeder="conv1"),
        "gelu()": Site("gelu_tanh", feeder="conv2"),
        "attn.softmax()": Site(NOT_ELEMENTWISE, GATE, feeder="attn.qkv"),  # attention weights
        "attn.relu()": Site("relu", feeder="attn.qkv"),  # unbounded: a gated hidden layer
        "swish": Site("silu", feeder="fc1"),
        "quick": Site("silu(beta=1.702)", feeder="fc2"),
        "snake": Site(UNKNOWN, feeder="fc3"),
        "leaky_relu()": Site("leaky_relu(alpha=0.2)", feeder="fc4"),
        "out": Site("sigmoid", OUTPUT, feeder="head"),
    }


# ---- nn.Transformer layers ------------------------------------------------------------------
class TinyTransformer(nn.Module):
    """An ``nn.TransformerEncoder`` of two ``activation="relu"`` layers (the activation is
    ``F.relu`` held as an attribute, and eval-mode ``no_grad`` takes the fused fast path),
    then one ``nn.TransformerDecoderLayer`` with an ``nn.GELU()`` module over the encoding."""

    def __init__(self, vocab: int = 50, classes: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 16)
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoderLayer(
            16, 2, 32, dropout=0.0, activation=nn.GELU(), batch_first=True
        )
        self.head = nn.Linear(16, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        memory = self.encoder(x)
        return self.head(self.decoder(x, memory).mean(1))


def _transformer_sites() -> dict[str, Site]:
    return {
        "encoder.layers.0.activation": Site("relu", feeder="encoder.layers.0.linear1"),
        "encoder.layers.1.activation": Site("relu", feeder="encoder.layers.1.linear1"),
        "decoder.activation": Site("gelu", feeder="decoder.linear1"),
    }


# ---- Hugging Face transformers --------------------------------------------------------------
def _bert_config(**extra: Any) -> Any:
    from transformers import BertConfig

    return BertConfig(
        vocab_size=64,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        **extra,
    )


def bert() -> nn.Module:
    from transformers import BertModel

    return BertModel(_bert_config())


class Logits(nn.Module):
    """A Hugging Face model returning its ``.logits`` tensor (what ``compare`` trains)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model(ids).logits


def bert_classifier() -> nn.Module:
    from transformers import BertForSequenceClassification

    return Logits(BertForSequenceClassification(_bert_config(num_labels=4)))


def _bert_loss(out: Any, y: torch.Tensor) -> torch.Tensor:
    return out.pooler_output.float().square().mean() + out.last_hidden_state.float().var()


def _bert_sites(prefix: str, pooler_role: str) -> dict[str, Site]:
    sites = {
        f"{prefix}encoder.layer.{i}.intermediate.intermediate_act_fn": Site(
            "gelu", feeder=f"{prefix}encoder.layer.{i}.intermediate.dense"
        )
        for i in range(2)
    }
    sites[f"{prefix}pooler.activation"] = Site("tanh", pooler_role, f"{prefix}pooler.dense")
    return sites


def llama() -> nn.Module:
    from transformers import LlamaConfig, LlamaForSequenceClassification

    config = LlamaConfig(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=16,
        num_labels=4,
        pad_token_id=0,
    )
    return Logits(LlamaForSequenceClassification(config))


def _llama_sites() -> dict[str, Site]:
    # SwiGLU: silu(gate_proj(x)) * up_proj(x); silu is unbounded, so the product is a gated
    # hidden layer (the activation GLU variants compare), not a gate.
    return {
        f"model.model.layers.{i}.mlp.act_fn": Site(
            "silu", feeder=f"model.model.layers.{i}.mlp.gate_proj"
        )
        for i in range(2)
    }


ZOO: dict[str, Entry] = {
    e.name: e
    for e in [
        Entry("resnet", ResNet, _images((3, 16, 16), 10), _cross_entropy, _resnet_sites(),
              input_shape=(3, 16, 16)),
        Entry("mobilenet_v2", MobileNetV2, _images((3, 16, 16), 10), _cross_entropy,
              _mobilenet_v2_sites(), input_shape=(3, 16, 16)),
        Entry("mobilenet_v3", MobileNetV3, _images((3, 16, 16), 10), _cross_entropy,
              _mobilenet_v3_sites(), input_shape=(3, 16, 16)),
        Entry("efficientnet", EfficientNet, _images((3, 16, 16), 10), _cross_entropy,
              _efficientnet_sites(), input_shape=(3, 16, 16)),
        Entry("convnext", ConvNeXt, _images((3, 16, 16), 10), _cross_entropy,
              _convnext_sites(), input_shape=(3, 16, 16)),
        Entry("functional", FunctionalNet, _functional_batch, _bce, _functional_sites(),
              task="multilabel", classes=5, input_shape=(3, 8, 8)),
        Entry("transformer", TinyTransformer, _tokens(50, 8, 4), _cross_entropy,
              _transformer_sites(), classes=4, input_shape=(8,)),
        Entry("bert", bert, _tokens(64, 8, 4), _bert_loss, _bert_sites("", OUTPUT),
              task="embedding", classes=0, input_shape=(8,), needs=("transformers",)),
        Entry("bert_classifier", bert_classifier, _tokens(64, 8, 4), _cross_entropy,
              _bert_sites("model.bert.", HIDDEN), classes=4, input_shape=(8,),
              needs=("transformers",)),
        Entry("llama", llama, _tokens(64, 8, 4), _cross_entropy, _llama_sites(), classes=4,
              input_shape=(8,), needs=("transformers",)),
    ]
}  # fmt: skip
"""Every PyTorch zoo model by name."""


def build(name: str, seed: int = 0) -> nn.Module:
    """A fresh zoo model with random weights drawn under ``seed``."""
    torch.manual_seed(seed)
    return ZOO[name].build()


def batch(name: str, n: int = 8, seed: int = 0) -> tuple[tuple[Any, ...], torch.Tensor]:
    """``(forward arguments, targets)``: a batch of ``n`` for zoo model ``name``."""
    return ZOO[name].batch(n, torch.Generator().manual_seed(seed))


def train(
    name: str,
    model: nn.Module,
    steps: int,
    *,
    n: int = 16,
    autocast: torch.dtype | None = None,
    sgd: bool = False,
    on_step: Callable[[int], None] | None = None,
) -> list[float]:
    """``steps`` Adam steps (``sgd``: plain SGD, lr 0.01, which float16 weights survive:
    Adam's eps of 1e-8 is 0 in float16) of ``model`` (a zoo model ``name``) on fresh seeded
    batches; returns the losses. ``autocast`` runs the forward pass under CPU autocast in
    that dtype."""
    entry = ZOO[name]
    opt = (
        torch.optim.SGD(model.parameters(), lr=0.01)
        if sgd
        else torch.optim.Adam(model.parameters(), lr=entry.lr)
    )
    model.train()
    losses = []
    dtype = next(model.parameters()).dtype
    for step in range(steps):
        args, y = batch(name, n, seed=step)
        args = tuple(a.to(dtype) if a.is_floating_point() else a for a in args)
        opt.zero_grad()
        with torch.autocast("cpu", dtype=autocast or torch.bfloat16, enabled=autocast is not None):
            loss = entry.loss(model(*args), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if on_step is not None:
            on_step(step)
    return losses


# ---- Keras 3 (torch backend) ---------------------------------------------------------------
@dataclass(frozen=True)
class KerasEntry:
    """A Keras model factory, its input shape and classes, and every activation it has
    (layer name -> what it computes, its role and feeding layer)."""

    name: str
    build: Callable[[], Any]
    input_shape: tuple[int, ...]
    classes: int
    sites: dict[str, Site]


def _keras_cnn() -> Any:
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
            layers.Conv2D(8, 3, padding="same", name="conv2"),
            layers.BatchNormalization(name="bn"),
            layers.ReLU(name="relu"),
            layers.Conv2D(8, 3, padding="same", name="conv3"),
            layers.Activation("tanh", name="tanh"),
            layers.LeakyReLU(negative_slope=0.1, name="leaky"),
            layers.MaxPooling2D(name="pool"),
            layers.Flatten(name="flat"),
            layers.Dense(16, activation="gelu", name="dense"),
            layers.ELU(name="elu"),
            layers.Dense(4, name="logits"),
            layers.Softmax(name="softmax"),
        ]
    )


def _keras_single_dense() -> Any:
    import keras

    return keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(3, activation="softmax", name="dense")]
    )


def _keras_conv1d() -> Any:
    import keras
    from keras import layers

    inputs = keras.Input((12, 2))
    x = layers.Conv1D(6, 3, activation="elu", name="c1")(inputs)
    x = layers.PReLU(name="prelu")(layers.Conv1D(6, 3, name="c2")(x))
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(3, activation="softmax", name="out")(x)
    return keras.Model(inputs, outputs)


KERAS: dict[str, KerasEntry] = {
    e.name: e
    for e in [
        KerasEntry(
            "cnn",
            _keras_cnn,
            (8, 8, 1),
            4,
            {
                "conv1": Site("relu", feeder="conv1"),  # Conv2D(activation="relu")
                "relu": Site("relu", feeder="conv2"),  # after batch norm
                "tanh": Site("tanh", feeder="conv3"),
                "leaky": Site("leaky_relu(alpha=0.1)"),  # after another activation
                "dense": Site("gelu", feeder="dense"),  # Keras' gelu is the exact one
                "elu": Site("elu", feeder="dense"),
                "softmax": Site(NOT_ELEMENTWISE, OUTPUT),
            },
        ),
        KerasEntry(
            "single_dense", _keras_single_dense, (6,), 3, {"dense": Site(NOT_ELEMENTWISE, OUTPUT)}
        ),
        KerasEntry(
            "conv1d",
            _keras_conv1d,
            (12, 2),
            3,
            {
                "c1": Site("elu", feeder="c1"),
                "prelu": Site("prelu(alpha=0)", feeder="c2"),  # Keras' PReLU starts at 0
                "out": Site(NOT_ELEMENTWISE, OUTPUT),
            },
        ),
    ]
}
"""Every Keras zoo model by name."""
