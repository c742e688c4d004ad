"""Baselines: MetaSR (fast vs official formulation, official-format loading), SRCNN, SRResNet, SRGAN's discriminator."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reproduce.coords import make_cell, make_coord
from reproduce.data import ImageCrops
from reproduce.engine import upscale
from reproduce.evaluate import evaluate
from reproduce.models import load, make

TINY_ENCODER = {"name": "edsr-baseline", "args": {"no_upsampling": True, "n_resblocks": 1, "n_feats": 8}}
METASR = {"name": "metasr", "args": {"encoder_spec": TINY_ENCODER}}


def official_metasr_query(feat, imnet, coord, cell):
    """The official release's MetaSR query, transcribed step by step as the oracle (grid_sample lookups)."""
    b, c, h, w = feat.shape
    feat = F.unfold(feat, 3, padding=1).view(b, c * 9, h, w)
    ys = -1 + (2 * torch.arange(h) + 1) / h
    xs = -1 + (2 * torch.arange(w) + 1) / w
    feat_coord = torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1)
    feat_coord[:, :, 0] -= (2 / h) / 2
    feat_coord[:, :, 1] -= (2 / w) / 2
    feat_coord = feat_coord.permute(2, 0, 1).unsqueeze(0).expand(b, 2, h, w)
    coord_ = coord.clone()
    coord_[:, :, 0] -= cell[:, :, 0] / 2
    coord_[:, :, 1] -= cell[:, :, 1] / 2
    coord_q = (coord_ + 1e-6).clamp(-1 + 1e-6, 1 - 1e-6)
    q_feat = F.grid_sample(feat, coord_q.flip(-1).unsqueeze(1), mode="nearest", align_corners=False)[:, :, 0, :].permute(0, 2, 1)
    q_coord = F.grid_sample(feat_coord, coord_q.flip(-1).unsqueeze(1), mode="nearest", align_corners=False)[:, :, 0, :].permute(0, 2, 1)
    rel_coord = coord_ - q_coord
    rel_coord[:, :, 0] *= h / 2
    rel_coord[:, :, 1] *= w / 2
    r_rev = cell[:, :, 0] * (h / 2)
    inp = torch.cat([rel_coord, r_rev.unsqueeze(-1)], dim=-1)
    bq = b * coord.shape[1]
    pred = imnet(inp.view(bq, -1)).view(bq, c * 9, 3)
    return torch.bmm(q_feat.contiguous().view(bq, 1, -1), pred).view(b, -1, 3)


def grid_queries(b, size):
    coord = make_coord(size).unsqueeze(0).expand(b, -1, -1).contiguous()
    return coord, make_cell(coord, size)


@pytest.mark.parametrize("table_factor", [0, 4, 10 ** 6])  # grouped queries / the default / always the pixel table
@pytest.mark.parametrize("size", [(44, 52), (33, 39), (25, 31), (11, 13), (130, 150), (88, 104)])
def test_metasr_fast_and_plain_match_the_official_query(size, table_factor, monkeypatch):
    from reproduce.models import metasr

    monkeypatch.setattr(metasr, "TABLE_MAX_FACTOR", table_factor)
    torch.manual_seed(0)
    model = make(METASR).eval()
    inp = torch.rand(2, 3, 11, 13) * 2 - 1
    coord, cell = grid_queries(2, size)
    with torch.no_grad():
        ref = official_metasr_query(model.encode(inp), model.imnet, coord, cell)
        model.fast = False
        plain = model(inp, coord, cell)
        model.fast = True
        fast = model(inp, coord, cell)
    assert (plain - ref).abs().max() <= 1e-5
    assert (fast - ref).abs().max() <= 1e-5


def test_metasr_fast_path_in_training_mode_matches_with_gradients():
    torch.manual_seed(1)
    model = make(METASR).train()
    inp = torch.rand(2, 3, 12, 12) * 2 - 1
    coord = torch.rand(2, 300, 2) * 2 - 1
    cell = torch.rand(2, 300, 2) * 0.3 + 0.01
    ref = official_metasr_query(model.encode(inp), model.imnet, coord, cell)
    out = model(inp, coord, cell)
    assert (out - ref).abs().max() <= 1e-5
    out.sum().backward()
    assert all(p.grad is not None for p in model.imnet.parameters())


def test_metasr_official_release_format_loads_with_official_outputs(tmp_path):
    torch.manual_seed(2)
    model = make(METASR).eval()
    sd = dict(model.state_dict())
    # The official EDSR keeps two unused mean-shift layers in its state dict.
    sd["encoder.sub_mean.weight"] = torch.eye(3).view(3, 3, 1, 1)
    sd["encoder.sub_mean.bias"] = torch.zeros(3)
    sd["encoder.add_mean.weight"] = torch.eye(3).view(3, 3, 1, 1)
    sd["encoder.add_mean.bias"] = torch.zeros(3)
    path = tmp_path / "metasr-official.pth"
    torch.save({"model": {"name": "metasr", "args": {"encoder_spec": TINY_ENCODER}, "sd": sd}, "epoch": 1000}, path)
    loaded = load(path)
    inp = torch.rand(1, 3, 9, 10) * 2 - 1
    coord, cell = grid_queries(1, (31, 37))
    with torch.no_grad():
        ref = official_metasr_query(model.encode(inp), model.imnet, coord, cell)
        assert (loaded(inp, coord, cell) - ref).abs().max() <= 1e-5


def test_metasr_needs_the_cell():
    model = make(METASR).eval()
    with pytest.raises(ValueError, match="cell"):
        model(torch.zeros(1, 3, 8, 8), torch.zeros(1, 4, 2), None)


def test_image_networks_shapes_and_upscale_to_any_size():
    torch.manual_seed(0)
    srcnn = make({"name": "srcnn", "args": {"n1": 8, "n2": 4}}).eval()
    srresnet = make({"name": "srresnet", "args": {"n_blocks": 2, "n_feats": 8}}).eval()
    lr = torch.rand(3, 10, 12)
    with torch.no_grad():
        assert srcnn(torch.zeros(2, 3, 20, 24)).shape == (2, 3, 20, 24)
        assert srresnet(torch.zeros(2, 3, 10, 12)).shape == (2, 3, 40, 48)
        for net in (srcnn, srresnet):
            for size in [(40, 48), (30, 36), (37, 41)]:
                out = upscale(net, lr, size)
                assert out.shape == (3, *size) and 0 <= out.min() and out.max() <= 1
            assert upscale(net, lr, (40, 48), out_dtype=torch.uint8).dtype == torch.uint8


def test_discriminator_gives_one_logit_per_patch_and_rejects_other_sizes():
    disc = make({"name": "srgan-discriminator", "args": {"patch": 32, "n_feats": 4}})
    assert disc(torch.zeros(3, 3, 32, 32)).shape == (3,)
    with pytest.raises(ValueError, match="32x32"):
        disc(torch.zeros(1, 3, 48, 48))
    # 8 convolutions, stride 2 at the 2nd, 4th, 6th and 8th: 32 -> 2.
    convs = [m for m in disc.features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 8 and [c.stride[0] for c in convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert [c.out_channels for c in convs] == [4, 4, 8, 8, 16, 16, 32, 32]


def _images(n=3, size=64):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (size, size + 5, 3), dtype=np.uint8) for _ in range(n)]


def test_image_crops_fixed_scale_and_mixed_scale_items():
    fixed = ImageCrops(_images(), patch=32, scale_min=4, scale_max=4, seed=3)
    item = fixed[(1, 7)]
    assert item["inp"].shape == (3, 8, 8) and item["gt"].shape == (3, 32, 32)
    assert torch.equal(item["gt"], fixed[(1, 7)]["gt"])  # deterministic in (seed, k)
    mixed = ImageCrops(_images(), patch=32, scale_min=1, scale_max=4, upsample_input=True, seed=3)
    for k in range(5):
        item = mixed[(0, k)]
        assert item["inp"].shape == item["gt"].shape == (3, 32, 32)
        assert 1 <= float(item["scale"]) <= 4.5


def test_image_crops_leave_out_images_smaller_than_the_patch():
    images = _images(2, 64) + _images(1, 20)
    crops = ImageCrops(images, patch=32, scale_min=4, scale_max=4)
    assert len(crops) == 2 and crops.skipped == 1
    from reproduce.errors import ReproduceError
    with pytest.raises(ReproduceError, match="smaller"):
        ImageCrops(_images(1, 20), patch=32, scale_min=4, scale_max=4)


def test_image_crops_reject_a_scale_a_fixed_network_cannot_take():
    from reproduce.errors import ReproduceError
    with pytest.raises(ReproduceError, match="integer scale"):
        ImageCrops(_images(), patch=32, scale_min=2, scale_max=4)
    with pytest.raises(ReproduceError, match="integer scale"):
        ImageCrops(_images(), patch=30, scale_min=4, scale_max=4)


@pytest.mark.parametrize("spec,extra", [
    ({"name": "srcnn", "args": {"n1": 8, "n2": 4}}, {"upsample_input": True, "scale_min": 1.0, "scale_max": 4.0}),
    ({"name": "srresnet", "args": {"n_blocks": 1, "n_feats": 8}}, {"scale_min": 4.0, "scale_max": 4.0}),
    (METASR, {}),
])
def test_baselines_train_a_few_steps_and_evaluate(tmp_path, spec, extra):
    from reproduce.config import load_config
    from reproduce.engine import train

    task = {"task": "implicit"} if spec["name"] == "metasr" else {"task": "image", "patch": 32, "loss": "mse"}
    cfg = load_config(None, {
        "model": spec,
        "train": {"datasets": ["sample"], "limit": 2, "repeat": 1, "inp_size": 16, "sample_q": 64, "batch_size": 2,
                  "steps": 3, "lr": 1e-3, **task, **extra},
        "valid": {"dataset": "sample", "limit": 1, "crop": 64, "every": 3},
        "run": {"out_dir": str(tmp_path / "run"), "log_every": 1, "checkpoint_every": 3},
    })
    path = train(cfg, log=lambda m: None)
    model = load(path)
    rows = evaluate(model, ["sample"], [2, 3.5], limit=1)
    assert [r["scale"] for r in rows] == [2, 3.5]
    assert all(np.isfinite(r["psnr"]) and 0 < r["ssim"] <= 1 and r["images"] == 1 for r in rows)


def test_evaluate_takes_a_callable_and_extra_metrics():
    from reproduce.evaluate import bicubic_upscale
    seen = []
    rows = evaluate(lambda lr, size: bicubic_upscale(lr, size), ["sample"], [2], limit=2,
                    extra_metrics={"mae": lambda sr, hr: seen.append(sr.shape) or float((sr - hr).abs().mean())})
    ref = evaluate("bicubic", ["sample"], [2], limit=2)
    assert rows[0]["psnr"] == pytest.approx(ref[0]["psnr"]) and rows[0]["images"] == 2
    assert len(seen) == 2 and 0 < rows[0]["mae"] < 0.2
    with pytest.raises(TypeError):
        evaluate(42, ["sample"], [2])


def test_srgan_training_starts_from_the_generator_checkpoint_and_resumes_identically(tmp_path):
    from reproduce.config import load_config
    from reproduce.engine import train
    from reproduce.models import load_checkpoint

    def cfg(out, steps_=4, init=None):
        return load_config(None, {
            "model": {"name": "srresnet", "args": {"n_blocks": 1, "n_feats": 8}},
            "train": {"datasets": ["sample"], "limit": 2, "repeat": 1, "batch_size": 2, "steps": steps_, "lr": 1e-4,
                      "task": "image", "patch": 32, "scale_min": 4.0, "scale_max": 4.0, "loss": "mse"},
            "gan": {"discriminator": {"name": "srgan-discriminator", "args": {"patch": 32, "n_feats": 4}}, "init": init},
            "valid": {"every": 0},
            "run": {"out_dir": str(tmp_path / out), "log_every": 1, "checkpoint_every": 100},
        })

    pre = cfg("pre", 2)
    pre["gan"]["discriminator"] = None
    generator = train(pre, log=lambda m: None)
    full = train(cfg("full", init=str(generator)), log=lambda m: None)
    part = cfg("part", init=str(generator))
    train(part, log=lambda m: None, stop_at=2)
    resumed = train(part, resume=True, log=lambda m: None)
    a, b = load_checkpoint(full), load_checkpoint(resumed)
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert all(torch.equal(a["gan"]["disc"][k], b["gan"]["disc"][k]) for k in a["gan"]["disc"])
    from reproduce.engine import read_log
    last = read_log(tmp_path / "full")[-1]
    assert {"d_loss", "content", "adversarial"} <= set(last) and np.isfinite(last["content"])


def test_discriminator_and_generator_losses_on_tiny_inputs():
    from reproduce.engine.adversarial import AdversarialStep
    torch.manual_seed(0)
    gen = make({"name": "srresnet", "args": {"n_blocks": 1, "n_feats": 8}})
    step = AdversarialStep({"discriminator": {"name": "srgan-discriminator", "args": {"patch": 32, "n_feats": 4}},
                            "content": "vgg", "adv_weight": 1e-3, "pixel_weight": 0.0}, torch.device("cpu"), 1e-4)
    opt = torch.optim.Adam(gen.parameters(), 1e-4)
    batch = {"inp": torch.rand(2, 3, 8, 8), "gt": torch.rand(2, 3, 32, 32)}
    before = [p.clone() for p in step.disc.parameters()]
    loss = step(gen, opt, batch, torch.device("cpu"), bf16=False)
    # At initialisation D is near chance: BCE of both terms ~ 2 log 2, -log D(G) ~ log 2.
    assert 0.5 < step.last["d_loss"] < 3 and 0.2 < step.last["adversarial"] < 2
    assert loss == pytest.approx(step.last["content"] + 1e-3 * step.last["adversarial"], rel=1e-5)
    assert any(not torch.equal(a, b) for a, b in zip(before, step.disc.parameters()))


def test_resuming_a_run_folder_with_another_config_is_refused(tmp_path):
    from reproduce.config import load_config
    from reproduce.engine import train
    from reproduce.errors import ReproduceError

    def cfg(lr):
        return load_config(None, {
            "model": {"name": "srcnn", "args": {"n1": 4, "n2": 4}},
            "train": {"datasets": ["sample"], "limit": 2, "repeat": 1, "batch_size": 2, "steps": 2, "lr": lr,
                      "task": "image", "patch": 32, "upsample_input": True, "loss": "mse"},
            "valid": {"every": 0},
            "run": {"out_dir": str(tmp_path / "run"), "log_every": 1, "checkpoint_every": 1},
        })

    train(cfg(1e-3), log=lambda m: None, stop_at=1)
    with pytest.raises(ReproduceError, match="different configuration"):
        train(cfg(2e-3), resume=True, log=lambda m: None)
    train(cfg(1e-3), resume=True, log=lambda m: None)  # its own config resumes
