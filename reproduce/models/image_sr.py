"""Image-to-image baselines: SRCNN and SRResNet (the SRGAN generator), plus SRGAN's discriminator.

Unlike the implicit models these map an image to an image. All of them
share one convention with the rest of the package: images enter and leave
normalised to [-1, 1] (``reproduce.normalize``). For evaluation at any
output size each network has ``upscale_to(lr, size)``:

* SRCNN refines a bicubic upsample: ``lr`` is first resized to ``size`` with
  MATLAB bicubic (the bicubic baseline's resize), then refined. Trained on
  mixed scales, one model serves every scale.
* SRResNet is a x4 network: at other scales its x4 output is resized to
  ``size`` with MATLAB bicubic (stated wherever its numbers appear).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..imresize import imresize
from .interface import ImageToImageSR
from .registry import register


@register("srcnn")
class SRCNN(ImageToImageSR):
    """SRCNN (Dong et al., 2014/2016): three convolutions on the bicubic-upsampled image.

    9x9 conv to ``n1`` channels, ReLU, f2 x f2 to ``n2``, ReLU, 5x5 to 3. The
    9-5-5 variant (``f2 = 5``) is the paper's best. Deviation from the paper:
    'same' zero padding so the output keeps the input size (the paper trains
    on valid convolutions and loses a 12-pixel border), and RGB rather than
    the Y channel only.

    forward: (B, 3, H, W) bicubic-upsampled image in [-1, 1] -> (B, 3, H, W).
    """

    def __init__(self, f2: int = 5, n1: int = 64, n2: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, n1, 9, padding=4), nn.ReLU(inplace=True),
            nn.Conv2d(n1, n2, f2, padding=f2 // 2), nn.ReLU(inplace=True),
            nn.Conv2d(n2, 3, 5, padding=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def upscale_to(self, lr: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(B, 3, h, w) in [-1, 1] -> (B, 3, H, W): bicubic to ``size``, then refine."""
        # Clamped like the training inputs (ImageCrops): bicubic overshoot never reaches the network.
        return self(imresize(lr.float(), size=tuple(size)).clamp_(-1, 1).to(lr.dtype))


class _SRResBlock(nn.Module):
    """conv, BN, PReLU, conv, BN, plus the identity."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c), nn.PReLU(c),
                                  nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.body(x)


@register("srresnet")
class SRResNet(ImageToImageSR):
    """SRResNet, the SRGAN generator (Ledig et al., CVPR 2017), x4.

    9x9 conv + PReLU; ``n_blocks`` residual blocks; conv + BN and a skip from
    the first layer; two x2 pixel-shuffle stages (conv to 4C, shuffle,
    PReLU); 9x9 conv to RGB. Output is linear (no tanh), in the [-1, 1]
    convention of this package.

    forward: (B, 3, h, w) in [-1, 1] -> (B, 3, 4h, 4w).
    """

    def __init__(self, n_blocks: int = 16, n_feats: int = 64):
        super().__init__()
        c = n_feats
        self.head = nn.Sequential(nn.Conv2d(3, c, 9, padding=4), nn.PReLU(c))
        self.body = nn.Sequential(*[_SRResBlock(c) for _ in range(n_blocks)],
                                  nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c))
        self.upsample = nn.Sequential(*[nn.Sequential(nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(c))
                                        for _ in range(2)])
        self.tail = nn.Conv2d(c, 3, 9, padding=4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(x)
        x = x + self.body(x)
        return self.tail(self.upsample(x))

    def upscale_to(self, lr: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(B, 3, h, w) -> (B, 3, H, W): the x4 output, resized by MATLAB bicubic when (H, W) != (4h, 4w)."""
        out = self(lr)
        if tuple(out.shape[-2:]) != tuple(size):
            out = imresize(out.float(), size=tuple(size)).to(out.dtype)
        return out


@register("srgan-discriminator")
class SRGANDiscriminator(nn.Module):
    """SRGAN's discriminator: 8 convs (64 -> 512, stride 2 whenever the width stays), LeakyReLU 0.2, BN, dense 1024, dense 1.

    forward: (B, 3, P, P) in [-1, 1] with P = ``patch`` -> (B,) logits (real > 0).
    """

    def __init__(self, patch: int = 96, n_feats: int = 64):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, n_feats, 3, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        c_in, side = n_feats, patch
        for i, c in enumerate([n_feats, 2 * n_feats, 2 * n_feats, 4 * n_feats, 4 * n_feats, 8 * n_feats, 8 * n_feats]):
            stride = 2 if i % 2 == 0 else 1
            layers += [nn.Conv2d(c_in, c, 3, stride=stride, padding=1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, inplace=True)]
            c_in, side = c, (side + 1) // stride if stride == 2 else side
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c_in * side * side, 1024),
                                        nn.LeakyReLU(0.2, inplace=True), nn.Linear(1024, 1))
        self.patch = patch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.patch, self.patch):
            raise ValueError(f"the discriminator takes {self.patch}x{self.patch} patches, got {tuple(x.shape[-2:])}")
        return self.classifier(self.features(x)).squeeze(1)


@register("edsr-baseline-fixed")
class EDSRFixedScale(ImageToImageSR):
    """EDSR-baseline as a fixed-scale network (Lim et al., 2017): LIIF's encoder plus a pixel-shuffle upsampler.

    The encoder is exactly LIIF's (``edsr.EDSREncoder``: head, residual
    blocks, body conv, global skip), so the two differ only in the decoder:
    here the official upsampler (x2 and x4: one or two stages of conv to 4C +
    PixelShuffle(2); x3: conv to 9C + PixelShuffle(3); no activation in the
    baseline) and a 3x3 conv to RGB. These are the single-scale references
    of the LIIF paper's Table 1, each trained on its own scale only.

    forward: (B, 3, h, w) in [-1, 1] -> (B, 3, s*h, s*w). At other output
    sizes :meth:`upscale_to` resizes the x``scale`` output with MATLAB
    bicubic, as for SRResNet.
    """

    def __init__(self, scale: int = 2, n_resblocks: int = 16, n_feats: int = 64):
        super().__init__()
        from .edsr import EDSREncoder

        if scale not in (2, 3, 4):
            raise ValueError(f"the EDSR upsampler is built for x2, x3 or x4, not x{scale}")
        scale = int(scale)
        c = n_feats
        self.scale = scale
        self.encoder = EDSREncoder(n_resblocks, c)
        stages = [(9, 3)] if scale == 3 else [(4, 2)] * (scale // 2)
        self.upsample = nn.Sequential(*[nn.Sequential(nn.Conv2d(c, k * c, 3, padding=1), nn.PixelShuffle(r)) for k, r in stages])
        self.tail = nn.Conv2d(c, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.upsample(self.encoder(x)))

    def upscale_to(self, lr: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(B, 3, h, w) -> (B, 3, H, W): the x``scale`` output, resized by MATLAB bicubic when (H, W) differs."""
        out = self(lr)
        if tuple(out.shape[-2:]) != tuple(size):
            out = imresize(out.float(), size=tuple(size)).to(out.dtype)
        return out
