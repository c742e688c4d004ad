"""ST-LPIPS: a shift-tolerant learned perceptual distance, re-implemented from its description.

ST-LPIPS (Ghildyal & Liu, "Shift-tolerant Perceptual Similarity Metric", ECCV 2022)
is LPIPS with an anti-aliased trunk: every downsampling is a stride-1 max-pool
followed by a blur-and-subsample (BlurPool), so a one-pixel shift of the input
barely changes the distance. The shift-tolerant AlexNet and VGG16 trunks were
trained **from scratch** on BAPPS 2AFC together with the linear heads; they are
not ImageNet features.

Why it is here: the usual perceptual metric of SR papers is LPIPS on ImageNet
AlexNet/VGG, whose weights cannot be obtained offline. The `stlpips-pytorch`
wheel ships its trained weights (BSD-2-Clause) as plain state dicts, so this
module loads those files as data and re-implements the network. The package's
own code is never imported (it needs torchvision) and none of it is copied: the
implementation follows the written description in shared/perceptual/README.md
(section 1) and is checked against distances computed with the original code.

Distances are not comparable to ImageNet-LPIPS numbers in papers; report them
as "ST-LPIPS (alex|vgg)".
"""
from __future__ import annotations

import importlib.util
from collections import OrderedDict
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import ReproduceError

NETS = ("alex", "vgg")
TAP_CHANNELS = {"alex": (64, 192, 384, 256, 256), "vgg": (64, 128, 256, 512, 512)}
# Below these sides a reflection pad in a later BlurPool is not smaller than its map.
MIN_SIDE = {"alex": 21, "vgg": 18}
_EPS = 1e-10

# Explicit map from the weight file's module prefixes to this module's. The file
# names modules by the package's flat layer index (net.slice<k>.<index>); the
# leaf names (weight/bias/filt/shift/scale) are the same on both sides.
_COMMON_KEYS = {"scaling_layer": "scaling", **{f"lin{k}.model.1": f"heads.{k}" for k in range(5)}}
_FILE_KEYS = {
    "alex": {
        "net.slice1.0": "trunk.0.conv1", "net.slice1.1": "trunk.0.blur",
        "net.slice2.4": "trunk.1.blur", "net.slice2.5": "trunk.1.conv2",
        "net.slice3.8": "trunk.2.blur", "net.slice3.9": "trunk.2.conv3",
        "net.slice4.11": "trunk.3.conv4",
        "net.slice5.13": "trunk.4.conv5",
    },
    "vgg": {
        "net.slice1.0": "trunk.0.conv1_1", "net.slice1.2": "trunk.0.conv1_2",
        "net.slice2.5": "trunk.1.blur", "net.slice2.6": "trunk.1.conv2_1", "net.slice2.8": "trunk.1.conv2_2",
        "net.slice3.11": "trunk.2.blur", "net.slice3.12": "trunk.2.conv3_1",
        "net.slice3.14": "trunk.2.conv3_2", "net.slice3.16": "trunk.2.conv3_3",
        "net.slice4.19": "trunk.3.blur", "net.slice4.20": "trunk.3.conv4_1",
        "net.slice4.22": "trunk.3.conv4_2", "net.slice4.24": "trunk.3.conv4_3",
        "net.slice5.27": "trunk.4.blur", "net.slice5.28": "trunk.4.conv5_1",
        "net.slice5.30": "trunk.4.conv5_2", "net.slice5.32": "trunk.4.conv5_3",
    },
}


class ScalingLayer(nn.Module):
    """Per-channel affine (x - shift) / scale on [-1, 1] RGB input.

    The loader overwrites the buffers with the file's float32 values; the
    reference float64 distances use those float32-rounded constants, upcast.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))

    def forward(self, x):
        return (x - self.shift) / self.scale


def binomial_filter(channels: int) -> torch.Tensor:
    """The (channels, 1, 3, 3) depthwise filter outer([1,2,1], [1,2,1]) / 16 (sums to 1)."""
    a = torch.tensor([1.0, 2.0, 1.0])
    return (torch.outer(a, a) / 16).expand(channels, 1, 3, 3).contiguous()


class BlurPool(nn.Module):
    """Anti-aliased 2x downsampling per channel: n -> floor((n+1)/2) + 1.

    Reflect-pad 2 on every side (mirror without repeating the edge), then
    cross-correlate with the 3x3 binomial filter at stride 2. The pad of 2 (not
    the usual 1) and the reflect mode are what the weights were trained with.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.register_buffer("filt", binomial_filter(channels))  # persistent: the file stores it

    def forward(self, x):
        x = F.pad(x, (2, 2, 2, 2), mode="reflect")
        return F.conv2d(x, self.filt, stride=2, groups=x.shape[1])


def _alex_trunk() -> nn.ModuleList:
    # conv1 has stride 1 (not AlexNet's 4); in stage 0 the blur comes before the ReLU.
    return nn.ModuleList([
        nn.Sequential(OrderedDict(conv1=nn.Conv2d(3, 64, 11, padding=2), blur=BlurPool(64), relu=nn.ReLU())),
        nn.Sequential(OrderedDict(pool=nn.MaxPool2d(3, stride=1), blur=BlurPool(64),
                                  conv2=nn.Conv2d(64, 192, 5, padding=2), relu=nn.ReLU())),
        nn.Sequential(OrderedDict(pool=nn.MaxPool2d(3, stride=1), blur=BlurPool(192),
                                  conv3=nn.Conv2d(192, 384, 3, padding=1), relu=nn.ReLU())),
        nn.Sequential(OrderedDict(conv4=nn.Conv2d(384, 256, 3, padding=1), relu=nn.ReLU())),
        nn.Sequential(OrderedDict(conv5=nn.Conv2d(256, 256, 3, padding=1), relu=nn.ReLU())),
    ])


def _vgg_trunk() -> nn.ModuleList:
    # VGG16 "D" without batch norm; each max-pool is MaxPool(2, stride 1) + BlurPool,
    # placed at the start of the next stage so that taps are taken before pooling.
    widths = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]
    stages, c_in = [], 3
    for s, (c, n_convs) in enumerate(widths, start=1):
        layers = OrderedDict()
        if s > 1:
            layers["pool"] = nn.MaxPool2d(2, stride=1)
            layers["blur"] = BlurPool(c_in)
        for i in range(1, n_convs + 1):
            layers[f"conv{s}_{i}"] = nn.Conv2d(c_in, c, 3, padding=1)
            layers[f"relu{s}_{i}"] = nn.ReLU()
            c_in = c
        stages.append(nn.Sequential(layers))
    return nn.ModuleList(stages)


class STLPIPS(nn.Module):
    """Shift-tolerant LPIPS distance; build it with `load_stlpips` to get the trained weights.

    Inputs are RGB images of shape (N, 3, H, W), float, **in [0, 1]** unless
    `signed=True` says they are already in [-1, 1]. H, W >= MIN_SIDE[net]; there
    is no resizing, the metric runs at native resolution. The two images of a
    pair must have the same shape. Output: one distance per image, shape (N,),
    >= 0, exactly 0 for identical images, exactly symmetric.

    There is no dropout or batch norm, so train()/eval() do not change the output.
    Gradients flow to the inputs (use it as a loss); the eps in the unit
    normalisation sits outside the sqrt as in the original, so an all-zero
    feature vector at some pixel would give a NaN gradient (not seen in practice).
    """

    def __init__(self, net: str = "alex"):
        super().__init__()
        if net not in NETS:
            raise ValueError(f"unknown ST-LPIPS net {net!r}; valid: {NETS}")
        self.net = net
        self.scaling = ScalingLayer()
        self.trunk = _alex_trunk() if net == "alex" else _vgg_trunk()
        # The original head is Dropout(0.5) + 1x1 conv; the dropout is left out on
        # purpose so that a parent's .train() cannot make the distance random.
        self.heads = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in TAP_CHANNELS[net])

    def _signed(self, x: torch.Tensor, signed: bool) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected (N, 3, H, W) RGB images, got shape {tuple(x.shape)}")
        if min(x.shape[-2:]) < MIN_SIDE[self.net]:
            raise ValueError(f"ST-LPIPS {self.net} needs H, W >= {MIN_SIDE[self.net]}, got {tuple(x.shape[-2:])}")
        return x if signed else x * 2 - 1

    def features(self, x: torch.Tensor, *, signed: bool = False) -> list[torch.Tensor]:
        """The 5 raw (post-ReLU) trunk taps of x (N, 3, H, W), for a feature loss.

        Returns 5 tensors (N, C_k, H_k, W_k), C_k = TAP_CHANNELS[net]; each
        BlurPool maps n -> (n + 1) // 2 + 1, so a 64x64 input gives sides
        30, 15, 8, 8, 8 (alex) or 64, 33, 17, 9, 5 (vgg). Warning: these trunks were
        trained from scratch on BAPPS, so the raw scales differ greatly from
        ImageNet VGG (vgg tap4 reaches ~775 on a 64x64 patch, tap0 ~2); an L1/L2
        loss on raw features would be dominated by the deep taps unless each
        tap is normalised or weighted. The distance itself unit-normalises.
        """
        h = self.scaling(self._signed(x, signed))
        taps = []
        for stage in self.trunk:
            h = stage(h)
            taps.append(h)
        return taps

    def compare_features(self, f0: list[torch.Tensor], f1: list[torch.Tensor]) -> torch.Tensor:
        """Per-tap distance terms (N, 5) from two `features` lists; `.sum(1)` is the distance.

        Lets a caller compute the features of a fixed reference image once and
        compare many images against it.
        """
        terms = []
        for a, b, head in zip(f0, f1, self.heads):
            # eps added to the norm (outside the sqrt), as the weights expect
            a = a / (a.square().sum(1, keepdim=True).sqrt() + _EPS)
            b = b / (b.square().sum(1, keepdim=True).sqrt() + _EPS)
            terms.append(head((a - b).square()).mean(dim=(2, 3)))  # (N, 1)
        return torch.cat(terms, dim=1)

    def layer_distances(self, x0: torch.Tensor, x1: torch.Tensor, *, signed: bool = False) -> torch.Tensor:
        """Per-tap terms (N, 5) of the distance between x0 and x1 (see `forward`)."""
        if x0.shape != x1.shape:
            raise ValueError(f"shape mismatch: {tuple(x0.shape)} vs {tuple(x1.shape)}")
        return self.compare_features(self.features(x0, signed=signed), self.features(x1, signed=signed))

    def forward(self, x0: torch.Tensor, x1: torch.Tensor, *, signed: bool = False) -> torch.Tensor:
        """Distance (N,) between images x0, x1 of shape (N, 3, H, W) in [0, 1] ([-1, 1] if signed)."""
        return self.layer_distances(x0, x1, signed=signed).sum(dim=1)


def weights_dir() -> Path:
    """Folder of the stlpips-pytorch weight files, found without importing the package."""
    spec = importlib.util.find_spec("stlpips_pytorch")  # locates only; runs no package code
    if spec is None or not spec.submodule_search_locations:
        raise ReproduceError("ST-LPIPS weights not found: the package stlpips-pytorch is not installed; "
                             "run `pip install stlpips-pytorch==0.0.2` (weights only, no torchvision needed)")
    return Path(spec.submodule_search_locations[0]) / "weights" / "vST0.0"


def _map_keys(file_sd: dict, net: str) -> dict:
    table = {**_COMMON_KEYS, **_FILE_KEYS[net]}
    out = {}
    for key, value in file_sd.items():
        prefix, leaf = key.rsplit(".", 1)
        if prefix not in table:
            raise ReproduceError(f"unexpected key {key!r} in the ST-LPIPS {net} weight file")
        out[f"{table[prefix]}.{leaf}"] = value
    return out


def load_stlpips(net: str = "alex", device="cpu", dtype: torch.dtype = torch.float32) -> STLPIPS:
    """ST-LPIPS with the trained shift-tolerant weights, frozen and in eval mode."""
    if net not in NETS:
        raise ValueError(f"unknown ST-LPIPS net {net!r}; valid: {NETS}")
    path = weights_dir() / f"{net}_shift_tolerant.pth"
    if not path.is_file():
        raise ReproduceError(f"ST-LPIPS weight file missing: {path}; reinstall with "
                             "`pip install --force-reinstall stlpips-pytorch==0.0.2`")
    file_sd = _map_keys(torch.load(path, map_location="cpu", weights_only=True), net)
    model = STLPIPS(net)
    # The blur filters are fixed, not learned: check the file agrees with the construction.
    for name, buf in model.named_buffers():
        if name.endswith(".filt") and name in file_sd and not torch.equal(file_sd[name], buf):
            raise ReproduceError(f"blur filter {name} in {path} is not the 3x3 binomial filter")
    model.load_state_dict(file_sd, strict=True)  # every key on both sides, shapes checked
    model.requires_grad_(False)
    return model.to(device=device, dtype=dtype).eval()
