"""Adversarial training steps: SRGAN (Ledig et al., CVPR 2017) and IPF's losses, with an offline perceptual loss.

Each step alternates, on the same batch:

1. discriminator: binary cross-entropy, real HR crops -> 1, every generated
   image -> 0 (averaged over the generator's outputs);
2. generator: for each supervised output (``training_outputs`` of the model:
   one image for SRGAN or a GAN-fine-tuned LIIF, I^f and I^d for IPF),
   perceptual + ``adv_weight`` x (-log D(output)) + ``pixel_weight`` x pixel
   loss (MSE or L1); the outputs' losses are summed (IPF's
   total = loss(I^f) + loss(I^d)).

The perceptual ("content") loss is the deviation we cannot avoid: SRGAN uses
the MSE of ImageNet-VGG19 features (phi_5,4), whose weights cannot be
obtained offline. We use the ST-LPIPS VGG distance instead
(``reproduce.perceptual``: shift-tolerant VGG16 trunk trained on BAPPS,
unit-normalised taps, learned per-channel weights). Its scale differs from
the paper's rescaled VGG MSE, so the weights are not calibrated to it; the
training log records every term of every output.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..device import autocast_context
from ..models import make
from ..models.interface import unwrap
from ..normalize import to_model
from ..perceptual import load_stlpips

PIXEL_LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss}


class AdversarialStep:
    """Holds the discriminator, its optimizer and the content network; called once per step.

    Args:
        cfg: the config's ``gan`` section (discriminator spec, content net,
            adv_weight, pixel_weight, pixel_loss).
        device: where the networks live.
        lr: the discriminator's initial learning rate (it follows the
            generator's schedule; the loop sets it each step).
    """

    def __init__(self, cfg: dict, device: torch.device, lr: float):
        pixel_loss = cfg.get("pixel_loss", "mse")
        if pixel_loss not in PIXEL_LOSSES:
            raise ValueError(f"unknown gan.pixel_loss {pixel_loss!r}: {' or '.join(PIXEL_LOSSES)}")
        self.disc = make(cfg["discriminator"]).to(device)
        self.d_optimizer = torch.optim.Adam(self.disc.parameters(), lr=lr)
        self.content = load_stlpips(cfg["content"], device)
        self.adv_weight, self.pixel_weight = cfg["adv_weight"], cfg["pixel_weight"]
        self.pixel_loss = PIXEL_LOSSES[pixel_loss]
        self.last: dict[str, float] = {}

    def set_lr(self, lr: float) -> None:
        for group in self.d_optimizer.param_groups:
            group["lr"] = lr

    def __call__(self, generator, optimizer, batch: dict, device: torch.device, bf16: bool) -> float:
        """One discriminator and one generator update; returns the generator's loss."""
        inp = to_model(batch["inp"].to(device)).contiguous(memory_format=torch.channels_last)
        gt = to_model(batch["gt"].to(device))
        with autocast_context(device, bf16):
            outputs = unwrap(generator).training_outputs(inp, tuple(gt.shape[-2:]))
            real = self.disc(gt)
            fakes = [self.disc(out.detach()) for out in outputs.values()]
        d_fake = sum(F.binary_cross_entropy_with_logits(f.float(), torch.zeros_like(f, dtype=torch.float32)) for f in fakes)
        d_loss = (F.binary_cross_entropy_with_logits(real.float(), torch.ones_like(real, dtype=torch.float32))
                  + d_fake / len(fakes))
        self.d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_optimizer.step()

        self.disc.requires_grad_(False)  # the generator's loss must not fill D's gradients
        g_loss, terms = 0.0, {}
        for name, out in outputs.items():
            with autocast_context(device, bf16):
                judged = self.disc(out)
                content = self.content(out.float(), gt, signed=True).float().mean()
            adversarial = F.binary_cross_entropy_with_logits(judged.float(), torch.ones_like(judged, dtype=torch.float32))
            pixel = self.pixel_loss(out.float(), gt)
            g_loss = g_loss + content + self.adv_weight * adversarial
            if self.pixel_weight:
                g_loss = g_loss + self.pixel_weight * pixel
            # The plain output of an image network or LIIF ("out"): plain names in the log, as SRGAN's always
            # were; a named output (IPF's "flow", "dual"): prefixed, so IPF arms with one or two outputs align.
            prefix = "" if name == "out" else f"{name}_"
            terms.update({f"{prefix}content": content.item(), f"{prefix}adversarial": adversarial.item(),
                          f"{prefix}pixel": pixel.item()})
        optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        optimizer.step()
        self.disc.requires_grad_(True)
        self.last = {"d_loss": d_loss.item(), **terms, "d_real": torch.sigmoid(real.float()).mean().item(),
                     "d_fake": torch.sigmoid(torch.cat([f.float() for f in fakes])).mean().item()}
        return g_loss.item()

    def state_dict(self) -> dict:
        return {"disc": self.disc.state_dict(), "d_optimizer": self.d_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.disc.load_state_dict(state["disc"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
