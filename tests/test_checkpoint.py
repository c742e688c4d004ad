"""Checkpoints: round trip, atomic writes, the official release format."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import liif_spec
from reproduce.coords import make_cell
from reproduce.errors import ReproduceError
from reproduce.models import load, load_checkpoint, make, save_checkpoint, save_weights


def test_round_trip(tmp_path, tiny_spec):
    model = make(tiny_spec)
    save_checkpoint(tmp_path / "m.pt", model, tiny_spec, step=7, provenance={"commit": "abc"})
    again = load(tmp_path / "m.pt")
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k
    ckpt = load_checkpoint(tmp_path / "m.pt")
    assert ckpt["step"] == 7 and ckpt["model"] == tiny_spec
    save_weights(tmp_path / "w.pt", {**ckpt, "optimizer": {"x": 1}})
    assert "optimizer" not in torch.load(tmp_path / "w.pt", weights_only=True)


def test_atomic_write_keeps_the_old_file(tmp_path, tiny_spec, monkeypatch):
    model = make(tiny_spec)
    save_checkpoint(tmp_path / "m.pt", model, tiny_spec, step=1)
    before = (tmp_path / "m.pt").read_bytes()

    from pathlib import Path

    def broken_write(self, data):  # the disk fills up halfway through the file
        with open(self, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", broken_write)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path / "m.pt", model, tiny_spec, step=2)
    assert (tmp_path / "m.pt").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary left behind


def test_bad_checkpoints(tmp_path, tiny_spec):
    with pytest.raises(ReproduceError, match="not found"):
        load(tmp_path / "nope.pt")
    save_checkpoint(tmp_path / "m.pt", make(tiny_spec), tiny_spec)
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ReproduceError, match="truncated"):
        load(tmp_path / "cut.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(ReproduceError, match="not a model checkpoint"):
        load(tmp_path / "foreign.pt")
    torch.save({"format": "reproduce.checkpoint", "version": 1, "model": liif_spec(n_feats=4), "state_dict": make(tiny_spec).state_dict()}, tmp_path / "mismatch.pt")
    with pytest.raises(ReproduceError, match="do not match"):
        load(tmp_path / "mismatch.pt")


@pytest.mark.parametrize("payload, said", [
    (b"hello\n", "not a PyTorch file"),  # the unpickler raises KeyError on this text
    ({"format": "reproduce.checkpoint", "version": 1, "model": "x", "state_dict": {}}, "model spec"),
    ({"format": "reproduce.checkpoint", "version": 1, "model": {"name": "liif", "args": {}}, "state_dict": {"w": 1}}, "tensors"),
    ({"model": {"name": "liif", "args": {}, "sd": 5}}, "tensors"),
    ({"model": {"name": "liif", "args": 3, "sd": {}}}, "model spec"),
    ({"format": "reproduce.checkpoint", "version": 1, "model": {"name": "metasr", "args": {"encoder_spec": 3}},
      "state_dict": {}}, "cannot build"),
    ({"format": "reproduce.checkpoint", "version": 1, "model": {"name": "nope", "args": {}}, "state_dict": {}},
     "unknown model 'nope'"),
])
def test_malformed_checkpoints_are_one_clear_error(tmp_path, payload, said):
    path = tmp_path / "bad.pt"
    if isinstance(payload, bytes):
        path.write_bytes(payload)
    else:
        torch.save(payload, path)
    with pytest.raises(ReproduceError, match=said) as err:
        load(path)
    assert '"' not in str(err.value)  # a KeyError's text, not its repr


class NotTensors:
    pass


def test_arbitrary_objects_are_refused(tmp_path):
    torch.save({"model": NotTensors()}, tmp_path / "evil.pt")
    with pytest.raises(ReproduceError, match="refusing"):
        load(tmp_path / "evil.pt")


def official_checkpoint(path, n_feats=8, n_resblocks=2, hidden=(16, 16)):
    """A checkpoint laid out like the official release (yinboc/liif train_liif.py)."""
    spec = {"name": "liif", "args": {
        "encoder_spec": {"name": "edsr-baseline", "args": {"no_upsampling": True, "n_feats": n_feats, "n_resblocks": n_resblocks}},
        "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": list(hidden)}}}}
    gen = torch.Generator().manual_seed(0)
    sd = {"encoder.sub_mean.weight": torch.eye(3).view(3, 3, 1, 1), "encoder.sub_mean.bias": -torch.tensor([0.4488, 0.4371, 0.4040]),
          "encoder.add_mean.weight": torch.eye(3).view(3, 3, 1, 1), "encoder.add_mean.bias": torch.tensor([0.4488, 0.4371, 0.4040]),
          "encoder.head.0.weight": torch.randn(n_feats, 3, 3, 3, generator=gen) * 0.2, "encoder.head.0.bias": torch.randn(n_feats, generator=gen) * 0.1}
    for i in range(n_resblocks):
        for j in (0, 2):
            sd[f"encoder.body.{i}.body.{j}.weight"] = torch.randn(n_feats, n_feats, 3, 3, generator=gen) * 0.1
            sd[f"encoder.body.{i}.body.{j}.bias"] = torch.randn(n_feats, generator=gen) * 0.1
    sd[f"encoder.body.{n_resblocks}.weight"] = torch.randn(n_feats, n_feats, 3, 3, generator=gen) * 0.1
    sd[f"encoder.body.{n_resblocks}.bias"] = torch.randn(n_feats, generator=gen) * 0.1
    widths = [n_feats * 9 + 4, *hidden, 3]
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        sd[f"imnet.layers.{2 * i}.weight"] = torch.randn(b, a, generator=gen) / a ** 0.5
        sd[f"imnet.layers.{2 * i}.bias"] = torch.randn(b, generator=gen) * 0.1
    spec["sd"] = sd
    torch.save({"model": spec, "optimizer": {"name": "adam", "args": {"lr": 1e-4}, "sd": {"state": {}, "param_groups": []}}, "epoch": 1000}, path)
    return sd


def reference_encoder(sd, inp, n_resblocks):
    """EDSR-baseline written out from the official state-dict names."""
    conv = lambda x, name: F.conv2d(x, sd[name + ".weight"], sd[name + ".bias"], padding=1)
    x = conv(inp, "encoder.head.0")
    res = x
    for i in range(n_resblocks):
        res = res + conv(F.relu(conv(res, f"encoder.body.{i}.body.0")), f"encoder.body.{i}.body.2")
    return x + conv(res, f"encoder.body.{n_resblocks}")


def reference_liif(sd, feat, coord, cell):
    """LIIF's query written per query in float64 NumPy from the paper/protocol text."""
    feat = feat[0].double().numpy()
    c, h, w = feat.shape
    padded = np.pad(feat, ((0, 0), (1, 1), (1, 1)))
    layers = sorted({int(k.split(".")[2]) for k in sd if k.startswith("imnet")})
    out = []
    for (qy, qx), (cy, cx) in zip(coord[0].double().numpy(), cell[0].double().numpy()):
        preds, areas = [], []
        for sy in (-1, 1):
            for sx in (-1, 1):
                y = np.clip(qy + sy / h + 1e-6, -1 + 1e-6, 1 - 1e-6)
                x = np.clip(qx + sx / w + 1e-6, -1 + 1e-6, 1 - 1e-6)
                i, j = int(np.floor((y + 1) / 2 * h)), int(np.floor((x + 1) / 2 * w))   # the LR cell holding (y, x)
                code = padded[:, i:i + 3, j:j + 3].reshape(c * 9)                     # channel-major 3x3 unfold
                rel = np.array([(qy - (-1 + (2 * i + 1) / h)) * h, (qx - (-1 + (2 * j + 1) / w)) * w])
                v = np.concatenate([code, rel, [cy * h, cx * w]])
                for n, layer in enumerate(layers):
                    v = sd[f"imnet.layers.{layer}.weight"].double().numpy() @ v + sd[f"imnet.layers.{layer}.bias"].double().numpy()
                    if n < len(layers) - 1:
                        v = np.maximum(v, 0)
                preds.append(v)
                areas.append(abs(rel[0] * rel[1]) + 1e-9)
        total = sum(areas)
        out.append(sum(p * a / total for p, a in zip(preds, areas[::-1])))
    return np.stack(out)


def test_official_checkpoint_gives_the_official_outputs(tmp_path):
    sd = official_checkpoint(tmp_path / "official.pth")
    model = load(tmp_path / "official.pth")
    torch.manual_seed(1)
    inp = torch.rand(1, 3, 7, 10) * 2 - 1
    coord = torch.rand(1, 64, 2) * 2 - 1
    cell = make_cell(coord, (21, 30))
    with torch.no_grad():
        feat = model.encode(inp)
        assert torch.allclose(feat, reference_encoder(sd, inp, 2), atol=1e-5)
        out = model(inp, coord, cell)
    assert np.allclose(out[0].double().numpy(), reference_liif(sd, feat, coord, cell), atol=1e-5)


# Constructor arguments of the official modules (yinboc/liif models/liif.py, edsr.py, mlp.py);
# MLP's in_dim is filled in by LIIF.
OFFICIAL_ARGS = {"liif": {"encoder_spec", "imnet_spec", "local_ensemble", "feat_unfold", "cell_decode"},
                 "edsr-baseline": {"n_resblocks", "n_feats", "res_scale", "scale", "no_upsampling", "rgb_range"},
                 "mlp": {"out_dim", "hidden_list"}}


def official_keys(n_resblocks, n_hidden):
    """The state-dict names the official LIIF(EDSR-baseline, MLP) holds: strict load_state_dict needs exactly these."""
    encoder = ["sub_mean", "add_mean", "head.0", *(f"body.{i}.body.{j}" for i in range(n_resblocks) for j in (0, 2)),
               f"body.{n_resblocks}"]
    layers = [f"imnet.layers.{2 * i}" for i in range(n_hidden + 1)]  # Linear, ReLU, Linear, ..., Linear
    return {f"{name}.{p}" for name in [f"encoder.{e}" for e in encoder] + layers for p in ("weight", "bias")}


def test_export_to_official_format_round_trip(tmp_path):
    from reproduce.models import export_official

    spec = liif_spec(n_feats=64, n_resblocks=16, hidden=(256, 256, 256, 256), fast=True)  # the paper's EDSR-baseline-LIIF
    torch.manual_seed(0)
    model = make(spec).eval()
    save_checkpoint(tmp_path / "ours.pt", model, spec, step=3)
    export_official(load_checkpoint(tmp_path / "ours.pt"), tmp_path / "official.pth")

    # Read independently of the package: plain torch.load, checked against the official layout.
    raw = torch.load(tmp_path / "official.pth", weights_only=True)
    assert "model" in raw and set(raw) <= {"model", "optimizer", "epoch"}
    assert set(raw["model"]) == {"name", "args", "sd"}
    name, args, sd = raw["model"]["name"], raw["model"]["args"], raw["model"]["sd"]
    assert name == "liif" and set(args) <= OFFICIAL_ARGS["liif"]  # our "fast" flag is not passed on
    encoder, imnet = args["encoder_spec"], args["imnet_spec"]
    assert encoder["name"] == "edsr-baseline" and set(encoder["args"]) <= OFFICIAL_ARGS["edsr-baseline"]
    assert encoder["args"]["no_upsampling"] is True
    assert imnet["name"] == "mlp" and set(imnet["args"]) <= OFFICIAL_ARGS["mlp"]
    assert imnet["args"]["hidden_list"] == [256, 256, 256, 256] and imnet["args"]["out_dim"] == 3
    assert set(sd) == official_keys(16, 4) and len(sd) == 82
    assert all(v.dtype == torch.float32 for v in sd.values())
    assert sd["encoder.head.0.weight"].shape == (64, 3, 3, 3)
    assert sd["imnet.layers.0.weight"].shape == (256, 64 * 9 + 2 + 2) == (256, 580)  # unfolded code, rel. coord, cell
    assert sd["imnet.layers.8.weight"].shape == (3, 256)
    # EDSR's MeanShift layers (rgb_range 1, std 1): an identity 1x1 conv and -/+ the DIV2K mean as bias.
    mean = torch.tensor([0.4488, 0.4371, 0.4040])
    for layer, sign in (("sub_mean", -1), ("add_mean", 1)):
        assert torch.equal(sd[f"encoder.{layer}.weight"], torch.eye(3).view(3, 3, 1, 1)), layer
        assert torch.allclose(sd[f"encoder.{layer}.bias"], sign * mean), layer

    # The file's raw tensors, run through the reference implementation, give our model's outputs.
    torch.manual_seed(1)
    inp = torch.rand(1, 3, 6, 8) * 2 - 1
    coord = torch.rand(1, 12, 2) * 2 - 1
    cell = make_cell(coord, (18, 24))
    with torch.no_grad():
        feat = reference_encoder(sd, inp, 16)
        out = model(inp, coord, cell)
    ref = reference_liif(sd, feat, coord, cell)
    assert np.abs(ref).max() > 1e-2  # not a trivially small output
    np.testing.assert_allclose(out[0].double().numpy(), ref, rtol=0, atol=1e-6)  # outputs ~0.05, float32 encoder
    again = load(tmp_path / "official.pth")  # and our own loader reads it back
    for key, value in model.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key


def test_storing_the_same_weights_again_leaves_the_file_and_its_digest(tmp_path, tiny_spec):
    import hashlib

    model = make(tiny_spec)
    save_checkpoint(tmp_path / "m.pt", model, tiny_spec, step=7, provenance={"commit": "abc", "hours": 1.5})
    ckpt = load_checkpoint(tmp_path / "m.pt")
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert save_weights(tmp_path / "w.pt", ckpt) is True
    first = digest(tmp_path / "w.pt")
    # the bytes are a function of the content: another file of the same weights has the same digest
    assert save_weights(tmp_path / "other.pt", ckpt) is True and digest(tmp_path / "other.pt") == first
    assert save_weights(tmp_path / "w.pt", load_checkpoint(tmp_path / "m.pt")) is False  # same content: kept
    import zipfile

    committed_style = tmp_path / "old.pt"  # as files were saved before: records named after a random temporary
    torch.save({k: ckpt[k] for k in ("format", "version", "model", "state_dict", "step", "provenance")},
               tmp_path / ".old.pt.x1y2z3.tmp.pt")
    (tmp_path / ".old.pt.x1y2z3.tmp.pt").rename(committed_style)
    assert zipfile.ZipFile(committed_style).namelist()[0].startswith(".old.pt.x1y2z3")
    old_digest = digest(committed_style)
    assert save_weights(committed_style, ckpt) is False and digest(committed_style) == old_digest  # kept as it is
    assert digest(tmp_path / "w.pt") == first
    changed = {**ckpt, "state_dict": {k: v + 1 if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}}
    assert save_weights(tmp_path / "w.pt", changed) is True and digest(tmp_path / "w.pt") != first
    assert save_weights(tmp_path / "w.pt", {**changed, "step": 8}) is True  # another step: rewritten
    (tmp_path / "w.pt").write_bytes(b"torn")  # unreadable: replaced
    assert save_weights(tmp_path / "w.pt", ckpt) is True and load_checkpoint(tmp_path / "w.pt")["step"] == 7
