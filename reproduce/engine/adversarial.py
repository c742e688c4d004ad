"""SRGAN's adversarial training step (Ledig et al., CVPR 2017), with an offline content loss.

Each step alternates, on the same batch:

1. discriminator: binary cross-entropy, real HR crops -> 1, generated -> 0;
2. generator: content loss + ``adv_weight`` x (-log D(G(lr))) (+ an optional
   pixel MSE term, 0 in SRGAN).

The content loss is the paper's deviation we cannot avoid: SRGAN uses the
MSE of ImageNet-VGG19 features (phi_5,4), whose weights cannot be obtained
offline. We use the ST-LPIPS VGG distance instead (``reproduce.perceptual``:
shift-tolerant VGG16 trunk trained on BAPPS, unit-normalised taps, learned
per-channel weights). Its scale differs from the paper's rescaled VGG MSE, so
the paper's 1e-3 adversarial weight is kept as the default but is not
calibrated to it; the training log records both terms.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..models import make
from ..normalize import to_model
from ..perceptual import load_stlpips
from ..device import autocast_context


class AdversarialStep:
    """Holds the discriminator, its optimizer and the content network; called once per step.

    Args:
        cfg: the config's ``gan`` section (discriminator spec, content net,
            adv_weight, pixel_weight).
        device: where the networks live.
        lr: the discriminator's initial learning rate (it follows the
            generator's schedule; the loop sets it each step).
    """

    def __init__(self, cfg: dict, device: torch.device, lr: float):
        self.disc = make(cfg["discriminator"]).to(device)
        self.d_optimizer = torch.optim.Adam(self.disc.parameters(), lr=lr)
        self.content = load_stlpips(cfg["content"], device)
        self.adv_weight, self.pixel_weight = cfg["adv_weight"], cfg["pixel_weight"]
        self.last: dict[str, float] = {}

    def set_lr(self, lr: float) -> None:
        for group in self.d_optimizer.param_groups:
            group["lr"] = lr

    def __call__(self, generator, optimizer, batch: dict, device: torch.device, bf16: bool) -> float:
        """One discriminator and one generator update; returns the generator's loss."""
        inp = to_model(batch["inp"].to(device)).contiguous(memory_format=torch.channels_last)
        gt = to_model(batch["gt"].to(device))
        with autocast_context(device, bf16):
            sr = generator(inp)
            real, fake = self.disc(gt), self.disc(sr.detach())
        d_loss = (F.binary_cross_entropy_with_logits(real.float(), torch.ones_like(real, dtype=torch.float32))
                  + F.binary_cross_entropy_with_logits(fake.float(), torch.zeros_like(fake, dtype=torch.float32)))
        self.d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_optimizer.step()

        self.disc.requires_grad_(False)  # the generator's loss must not fill D's gradients
        with autocast_context(device, bf16):
            judged = self.disc(sr)
            content = self.content(sr.float(), gt, signed=True).float().mean()
        adversarial = F.binary_cross_entropy_with_logits(judged.float(), torch.ones_like(judged, dtype=torch.float32))
        g_loss = content + self.adv_weight * adversarial
        if self.pixel_weight:
            g_loss = g_loss + self.pixel_weight * F.mse_loss(sr.float(), gt)
        optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        optimizer.step()
        self.disc.requires_grad_(True)
        self.last = {"d_loss": d_loss.item(), "content": content.item(), "adversarial": adversarial.item(),
                     "d_real": torch.sigmoid(real.float()).mean().item(), "d_fake": torch.sigmoid(fake.float()).mean().item()}
        return g_loss.item()

    def state_dict(self) -> dict:
        return {"disc": self.disc.state_dict(), "d_optimizer": self.d_optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.disc.load_state_dict(state["disc"])
        self.d_optimizer.load_state_dict(state["d_optimizer"])
