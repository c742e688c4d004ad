"""Image reading, dataset location, and the train/eval data protocols."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from reproduce.data import EvalPairs, ImageSet, StepBatchSampler, TrainSamples, dataset_files, make_lr, read_image
from reproduce.errors import ReproduceError
from reproduce.imresize import resize_pil_bicubic
from test_imresize import ref_imresize


def test_mode_conversions(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    assert np.array_equal(read_image(tmp_path / "gray.png"), np.repeat(gray[..., None], 3, axis=2))

    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[..., 3] = [[255, 0], [128, 255]]
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    out = read_image(tmp_path / "rgba.png")
    assert out[0, 0].tolist() == [200, 0, 0]          # opaque: its colour
    assert out[0, 1].tolist() == [255, 255, 255]      # transparent: white background
    assert out[1, 0].tolist() == [round(200 * 128 / 255 + 255 * 127 / 255), 127, 127]

    Image.fromarray(np.full((2, 3), 65535, np.uint16)).save(tmp_path / "deep.png")  # 16-bit grayscale
    assert (read_image(tmp_path / "deep.png") == 255).all()

    pal = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), "P")
    pal.putpalette([10, 20, 30, 40, 50, 60] + [0] * 762)
    pal.save(tmp_path / "pal.png")
    assert read_image(tmp_path / "pal.png")[0, 1].tolist() == [40, 50, 60]


def test_read_image_errors(tmp_path):
    with pytest.raises(ReproduceError, match="not found"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_text("not an image")
    with pytest.raises(ReproduceError, match="cannot read"):
        read_image(tmp_path / "junk.png")


def test_missing_dataset_names_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv("REPRODUCE_DATA", str(tmp_path))
    with pytest.raises(ReproduceError) as err:
        dataset_files("Set5")
    assert str(tmp_path / "benchmark" / "Set5") in str(err.value) and "README" in str(err.value)
    (tmp_path / "benchmark" / "Set5").mkdir(parents=True)
    with pytest.raises(ReproduceError, match="empty"):
        dataset_files("set5")


def test_public_layouts(monkeypatch, tmp_path, smooth_image):
    monkeypatch.setenv("REPRODUCE_DATA", str(tmp_path))
    for rel in ("benchmark/Set14/HR", "DIV2K_train_HR", "train/T91"):
        (tmp_path / rel).mkdir(parents=True)
        Image.fromarray(smooth_image).save(tmp_path / rel / "0001.png")
    assert dataset_files("Set14")[0].parent.name == "HR"
    assert len(dataset_files("DIV2K-train")) == 1 and len(dataset_files("t91")) == 1


def test_sample_set_is_embedded():
    images = ImageSet("sample")
    assert len(images) >= 5
    assert all(img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 for img in images)


def _samples(smooth_image, **kw):
    return TrainSamples([smooth_image, smooth_image[::-1].copy()], inp_size=8, scale_min=1, scale_max=4, sample_q=50, seed=3, **kw)


def test_train_sample_shapes_and_cells(smooth_image):
    ds = _samples(smooth_image)
    for k in range(20):
        item = ds[(k % 2, k)]
        size_hr = round(float(item["scale"]) * 8)
        assert item["inp"].shape == (3, 8, 8) and item["coord"].shape == (50, 2) and item["gt"].shape == (50, 3)
        assert torch.allclose(item["cell"], torch.full((50, 2), 2 / size_hr))
        assert 1 <= item["scale"] <= 5          # the image is 40 pixels high: scale <= 40 / 8
        assert item["coord"].abs().max() < 1 and 0 <= item["gt"].min() and item["gt"].max() <= 1


def test_train_sample_targets_match_the_lr(smooth_image):
    # Without augmentation and with all pixels sampled, the targets are the HR
    # crop and the input is its PIL-bicubic reduction.
    ds = TrainSamples([smooth_image], inp_size=8, scale_min=2, scale_max=2, augment=False, sample_q=None, seed=0)
    item = ds[(0, 5)]
    hr = (item["gt"].reshape(16, 16, 3) * 255).round().byte().numpy()
    assert np.array_equal((item["inp"].permute(1, 2, 0) * 255).round().byte().numpy(), resize_pil_bicubic(hr, (8, 8)))


def test_train_samples_are_deterministic(smooth_image):
    a, b = _samples(smooth_image), _samples(smooth_image)
    for key in [(0, 0), (1, 7), (0, 123)]:
        x, y = a[key], b[key]
        assert all(torch.equal(x[n], y[n]) for n in x)
    assert not torch.equal(a[(0, 0)]["gt"], a[(0, 1)]["gt"])


def test_batches_do_not_depend_on_workers(smooth_image):
    ds = _samples(smooth_image)
    def batches(workers):
        loader = DataLoader(ds, batch_sampler=StepBatchSampler(len(ds), 4, 3, seed=3, repeat=2), num_workers=workers)
        return [b["gt"] for b in loader]
    for x, y in zip(batches(0), batches(2)):
        assert torch.equal(x, y)


def test_sampler_resume_and_ranks():
    full = StepBatchSampler(5, 4, 10, seed=1, repeat=3)
    resumed = StepBatchSampler(5, 4, 10, seed=1, repeat=3, start_step=6)
    assert list(full)[6:] == list(resumed)
    ranks = [StepBatchSampler(5, 4, 10, seed=1, repeat=3, rank=r, world_size=2) for r in range(2)]
    for step, batch in enumerate(full):
        assert batch == ranks[0].batch_keys(step) + ranks[1].batch_keys(step)
    # An epoch visits every image `repeat` times.
    epoch = [i for step in range(15 // 4 + 1) for i, k in full.batch_keys(step) if k < 15]
    assert sorted(epoch) == sorted(list(range(5)) * 3)


def _matlab_bicubic_uint8(img, scale, out_size):
    """MATLAB imresize of a uint8 (H, W, 3) image with the loop reference of test_imresize, round half away from zero."""
    chans = [ref_imresize(img[..., c].astype(np.float64), (1 / scale, 1 / scale), out_size) for c in range(3)]
    return np.clip(np.floor(np.stack(chans, axis=-1) + 0.5), 0, 255).astype(np.uint8)


def _pil_bicubic(img, h, w):
    return np.asarray(Image.fromarray(img).resize((w, h), Image.BICUBIC))


def test_eval_protocol_crops_top_left_to_a_multiple_of_the_scale(smooth_image):
    for scale, lr_shape in [(2, (20, 28)), (3, (13, 18)), (4, (10, 14)), (6, (6, 9)), (3.7, (10, 15))]:
        lr, hr = make_lr(smooth_image, scale)
        assert lr.shape == (*lr_shape, 3) and lr.dtype == hr.dtype == np.uint8, scale
        crop = (round(lr_shape[0] * scale), round(lr_shape[1] * scale))  # 3.7: (37, 55.5 -> 56)
        assert np.array_equal(hr, smooth_image[:crop[0], :crop[1]]), scale  # the original's top-left block
    const = np.full((40, 56, 3), 123, dtype=np.uint8)
    for scale in (2, 3, 3.7, 4, 6):
        lr, hr = make_lr(const, scale)
        assert (lr == 123).all() and (hr == 123).all(), scale
    pairs = EvalPairs([smooth_image], 2)
    assert pairs[0][0].shape == (20, 28, 3) and pairs[0][0] is pairs[0][0]
    with pytest.raises(ReproduceError):
        make_lr(smooth_image, 0.5)


def test_eval_protocol_degrades_like_matlab_up_to_x4_and_pil_above():
    img = np.random.default_rng(4).integers(0, 256, size=(12, 17, 3), dtype=np.uint8)
    for scale, lr_shape in [(2, (6, 8)), (3, (4, 5)), (4, (3, 4))]:
        lr, hr = make_lr(img, scale)
        assert lr.shape == (*lr_shape, 3)
        assert np.array_equal(lr, _matlab_bicubic_uint8(hr, scale, lr_shape)), scale
        assert not np.array_equal(lr, _pil_bicubic(hr, *lr_shape)), scale  # PIL would be another LR
    big = np.random.default_rng(5).integers(0, 256, size=(40, 56, 3), dtype=np.uint8)
    for scale, lr_shape in [(4.5, (8, 12)), (6, (6, 9))]:
        lr, hr = make_lr(big, scale)
        assert hr.shape[:2] == (round(lr_shape[0] * scale), round(lr_shape[1] * scale))
        assert np.array_equal(lr, _pil_bicubic(hr, *lr_shape)), scale
