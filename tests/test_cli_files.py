"""The command line on real-world files: wrong-but-silent cases, batch upscaling, early errors.

Every case here was a silent wrong answer, a lost file or a traceback before
(issue 14); each test fails on that code.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import liif_spec
from reproduce.cli import dotted_overrides, main
from reproduce.data import read_image
from reproduce.errors import ReproduceError
from reproduce.models import make, save_checkpoint
from reproduce.upscale_files import MAX_OUTPUT_MEGAPIXELS, check_budget, output_size


@pytest.fixture
def files(tmp_path, smooth_image):
    Image.fromarray(smooth_image).save(tmp_path / "in.png")
    spec = liif_spec()
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "model.pt", make(spec), spec)
    srcnn = {"name": "srcnn", "args": {"n1": 8, "n2": 4}}
    save_checkpoint(tmp_path / "srcnn.pt", make(srcnn), srcnn)
    return tmp_path


def run(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, needle: str) -> bool:
    lines = err.strip().splitlines()
    return len(lines) == 1 and needle in lines[0] and "Traceback" not in err


def upscale(capsys, files, *args, output="o.png", inputs=("in.png",), checkpoint="model.pt"):
    return run(capsys, "upscale", *(files / i for i in inputs), *args, "--checkpoint",
               checkpoint if checkpoint == "bicubic" else files / checkpoint, "-o", files / output)


# --- silently wrong before -------------------------------------------------------------------

@pytest.mark.parametrize("size", ["1,1", "8,10", "40,10", "10,56"])
def test_size_smaller_than_input_is_refused(files, capsys, size):
    code, _, err = upscale(capsys, files, "--size", size)
    assert code == 2 and one_error_line(err, "smaller than the input (40x56)")
    assert not (files / "o.png").exists()


def test_size_equal_to_input_is_allowed(files, capsys):
    code, _, err = upscale(capsys, files, "--size", "40,56")
    assert code == 0, err
    assert Image.open(files / "o.png").size == (56, 40)


def _with_orientation(img: np.ndarray, orientation: int) -> Image.Image:
    im = Image.fromarray(img)
    exif = im.getexif()
    exif[0x0112] = orientation
    im.info["exif"] = exif.tobytes()
    return im


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_exif_orientation_is_applied_on_read(tmp_path, smooth_image, suffix):
    # Orientation 6: the stored pixels must be rotated 90 degrees clockwise to display upright.
    path = tmp_path / f"phone{suffix}"
    im = _with_orientation(smooth_image, 6)
    im.save(path, exif=im.info["exif"], **({"quality": 100} if suffix == ".jpg" else {"lossless": True} if suffix == ".webp" else {}))
    upright = read_image(path)
    assert upright.shape == (56, 40, 3)  # (H, W) swapped
    expected = np.rot90(smooth_image, k=-1)  # clockwise
    tol = 12 if suffix == ".jpg" else 0
    assert np.abs(upright.astype(int) - expected.astype(int)).mean() <= tol


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_image_size_from_the_header_matches_the_decoded_image(tmp_path, smooth_image, orientation):
    from reproduce.data.images import image_size

    path = tmp_path / f"o{orientation}.png"
    im = _with_orientation(smooth_image, orientation)
    im.save(path, exif=im.info["exif"])
    assert image_size(path) == read_image(path).shape[:2]  # 6 and 8 transpose: (56, 40) instead of (40, 56)
    with pytest.raises(ReproduceError, match="cannot read"):
        (tmp_path / "not.png").write_bytes(b"text")
        image_size(tmp_path / "not.png")


def test_upscale_output_of_a_rotated_photo_is_upright(tmp_path, capsys, smooth_image, files):
    im = _with_orientation(smooth_image, 6)
    im.save(files / "phone.png", exif=im.info["exif"])
    code, _, err = upscale(capsys, files, "--scale", "2", inputs=("phone.png",))
    assert code == 0, err
    assert Image.open(files / "o.png").size == (80, 112)  # W, H of the upright image x2
    assert "EXIF orientation applied" in err


def test_output_folder_for_one_input_is_named_a_folder(files, capsys):
    (files / "outdir").mkdir()
    code, _, err = upscale(capsys, files, "--scale", "2", output="outdir", checkpoint="bicubic")
    assert code == 2 and one_error_line(err, "is a folder; give an output file name")


def test_sixteen_bit_input_is_said(files, capsys, smooth_image):
    wide = (smooth_image[..., 0].astype(np.uint16) * 257)
    Image.fromarray(wide).save(files / "deep.png")  # a 16-bit grayscale PNG (mode I;16)
    code, _, err = upscale(capsys, files, "--scale", "2", inputs=("deep.png",), checkpoint="bicubic")
    assert code == 0, err
    assert "reduced to 8 bits" in err
    code, _, err = upscale(capsys, files, "--scale", "2", "--overwrite", checkpoint="bicubic")
    assert code == 0 and "8 bits" not in err  # an 8-bit input has nothing to say


# --- no silent loss ----------------------------------------------------------------------------

def test_existing_output_needs_overwrite(files, capsys):
    (files / "o.png").write_bytes(b"precious")
    code, _, err = upscale(capsys, files, "--scale", "2")
    assert code == 2 and one_error_line(err, "already exists") and "--overwrite" in err
    assert (files / "o.png").read_bytes() == b"precious"
    code, _, err = upscale(capsys, files, "--scale", "2", "--overwrite")
    assert code == 0, err
    assert Image.open(files / "o.png").size == (112, 80)


def test_output_equal_to_input_is_refused(files, capsys):
    before = (files / "in.png").read_bytes()
    code, _, err = upscale(capsys, files, "--scale", "2", "--overwrite", output="in.png")
    assert code == 2 and one_error_line(err, "is the input file")
    assert (files / "in.png").read_bytes() == before


def test_rgba_input_says_alpha_is_dropped(files, capsys, smooth_image):
    rgba = np.dstack([smooth_image, np.full(smooth_image.shape[:2], 100, np.uint8)])
    Image.fromarray(rgba).save(files / "rgba.png")
    code, _, err = upscale(capsys, files, "--scale", "2", inputs=("rgba.png",))
    assert code == 0, err
    assert "alpha" in err and "dropped" in err
    assert Image.open(files / "o.png").mode == "RGB"


def test_animated_gif_says_first_frame(files, capsys, smooth_image):
    frames = [Image.fromarray(smooth_image), Image.fromarray(255 - smooth_image)]
    frames[0].save(files / "anim.gif", save_all=True, append_images=frames[1:])
    code, _, err = upscale(capsys, files, "--scale", "2", inputs=("anim.gif",))
    assert code == 0, err
    assert "first of 2 frames" in err


def test_grayscale_in_grayscale_out(files, capsys, smooth_image):
    Image.fromarray(smooth_image[..., 1]).save(files / "gray.png")
    code, _, err = upscale(capsys, files, "--scale", "2", inputs=("gray.png",))
    assert code == 0, err
    out = Image.open(files / "o.png")
    assert out.mode == "L" and out.size == (112, 80)


@pytest.mark.parametrize("checkpoint", ["srcnn.pt", "bicubic"])
def test_upscale_accepts_what_eval_accepts(files, capsys, checkpoint):
    code, _, err = upscale(capsys, files, "--scale", "3", checkpoint=checkpoint)
    assert code == 0, err
    assert Image.open(files / "o.png").size == (168, 120)


def test_discriminator_is_not_an_upscaler(files, capsys):
    spec = {"name": "srgan-discriminator", "args": {"patch": 32, "n_feats": 4}}
    save_checkpoint(files / "d.pt", make(spec), spec)
    code, _, err = upscale(capsys, files, "--scale", "2", checkpoint="d.pt")
    assert code == 2 and one_error_line(err, "not a super-resolution model")


# --- one error line, exit 2, early -----------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    (["--scale", "1000"], f"limit of {MAX_OUTPUT_MEGAPIXELS} megapixels"),
    (["--scale", "2", "--chunk", "0"], "--chunk"),
    (["--scale", "2", "--chunk", "-5"], "--chunk"),
    (["--scale", "2", "--device", "gpu"], "unknown device 'gpu'"),
])
def test_upscale_bad_options(files, capsys, args, needle):
    code, _, err = upscale(capsys, files, *args)
    assert code == 2 and one_error_line(err, needle)
    assert not (files / "o.png").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda(files, capsys):
    code, _, err = upscale(capsys, files, "--scale", "2", "--device", "cuda")
    assert code == 2 and one_error_line(err, "CUDA is not available")


def test_budget_checks_memory_and_size():
    assert output_size((40, 56), scale=2.5) == (100, 140)
    with pytest.raises(ReproduceError, match="needs about"):
        check_budget((1000, 1000), "image", available=100 * 2**20)  # 600 MB needed, 100 MB free
    check_budget((1000, 1000), "implicit", available=100 * 2**20)  # 8 MB: fine
    with pytest.raises(ReproduceError, match="over the limit"):
        check_budget((20001, 20001), "implicit", available=2**50)
    with pytest.raises(ReproduceError, match=r"about 10\^400x"):  # no float overflow on an absurd size
        check_budget((10**400, 3), "implicit", available=2**50)
    for absurd in (1e6, 1e300, 1e308):  # 8 * 1e308 is inf in floats: still the one clear error
        with pytest.raises(ReproduceError, match="over the limit of"):
            output_size((8, 8), scale=absurd)


def test_absurd_scale_is_one_clear_error(files, capsys):
    code, _, err = upscale(capsys, files, "--scale", "1e300")
    assert code == 2 and one_error_line(err, "over the limit")


def test_unwritable_output_folder_is_found_before_computing(files, capsys):
    # /proc refuses new files even for root, where a chmod would not.
    code, out, err = upscale(capsys, files, "--scale", "2", output="../../../../../../../../proc/o.png")
    assert code == 2 and one_error_line(err, "cannot write into the output folder")


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_eval_limit_must_be_positive(capsys, limit):
    code, _, err = run(capsys, "eval", "bicubic", "--sets", "sample", "--limit", limit)
    assert code == 2 and one_error_line(err, "--limit")


def test_eval_checks_every_set_name_before_scoring(capsys):
    code, out, err = run(capsys, "eval", "bicubic", "--sets", "sample,Sett14", "--scales", "2", "--limit", "1")
    assert code == 2 and one_error_line(err, "unknown dataset 'Sett14'")
    assert "sample" not in out  # nothing was scored first


def test_eval_unwritable_csv_folder_before_scoring(capsys):
    code, out, err = run(capsys, "eval", "bicubic", "--sets", "sample", "--scales", "2", "--csv", "/proc/t.csv")
    assert code == 2 and one_error_line(err, "cannot write into the output folder")
    assert "sample" not in out


def test_eval_prints_its_table_once(capsys):
    code, out, err = run(capsys, "eval", "bicubic", "--sets", "sample", "--scales", "2,3", "--limit", "1")
    assert code == 0, err
    rows = [line for line in (out + err).splitlines() if line.startswith("sample")]
    assert len(rows) == 2
    assert (out + err).count("psnr") == 1


def test_eval_a_folder_with_a_preset(files, capsys, smooth_image):
    folder = files / "mine"
    folder.mkdir()
    Image.fromarray(smooth_image).save(folder / "a.png")
    code, out, err = run(capsys, "eval", "bicubic", "--sets", folder, "--scales", "2", "--preset", "div2k-rgb")
    assert code == 0, err
    code_y, out_y, _ = run(capsys, "eval", "bicubic", "--sets", folder, "--scales", "2")
    assert code_y == 0
    assert out.splitlines()[-1] != out_y.splitlines()[-1]  # RGB and shave+6 vs Y: other numbers


def test_run_help_example_names_a_real_parameter(capsys):
    from reproduce.runner import list_notebooks

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    names = re.findall(r"-p ([a-z_]+)=", out)
    assert names
    declared = "\n".join(nb.read_text() for nb in list_notebooks())
    for name in names:
        assert re.search(rf"^{name} = ", declared, re.M), name


def test_malformed_parameter_is_one_line(capsys):
    code, _, err = run(capsys, "run", "01", "--profile", "smoke", "-p", "limit=[1,")
    assert code == 2 and one_error_line(err, "cannot parse the value of 'limit'")


def test_train_overrides_are_dotted_yaml():
    assert dotted_overrides(["train.steps=20", "train.lr=1e-3", "run.out_dir=runs/x"]) == {
        "train": {"steps": 20, "lr": 1e-3}, "run": {"out_dir": "runs/x"}}
    with pytest.raises(ReproduceError, match="not key=value"):
        dotted_overrides(["train.steps"])


def test_train_override_reaches_the_config(files, capsys, monkeypatch):
    seen = {}

    def fake_train(cfg, resume=False, log=print):
        seen.update(cfg)
        return files / "last.pt"

    monkeypatch.setattr("reproduce.engine.train", fake_train)
    config = files / "c.yaml"
    config.write_text("model: {name: srcnn, args: {}}\n")
    code, out, err = run(capsys, "train", config, "-p", "train.steps=7", "--out-dir", files / "run")
    assert code == 0, err
    assert seen["train"]["steps"] == 7 and seen["run"]["out_dir"] == str(files / "run")


# --- batch upscaling ---------------------------------------------------------------------------

@pytest.fixture
def folder(files, smooth_image):
    src = files / "photos"
    src.mkdir()
    for name, img in (("a", smooth_image), ("b", smooth_image[:, ::-1]), ("c", smooth_image[::-1])):
        Image.fromarray(np.ascontiguousarray(img)).save(src / f"{name}.png")
    (src / "broken.png").write_text("not an image")
    return src


def test_batch_folder_reports_failures_and_goes_on(files, folder, capsys):
    code, out, err = run(capsys, "upscale", folder, "--scale", "2", "--checkpoint", files / "model.pt", "-o", files / "out")
    assert code == 2  # one file failed
    assert sorted(p.name for p in (files / "out").iterdir()) == ["a.png", "b.png", "c.png"]  # no partial, no temp
    assert "broken.png" in err and "upscaled 3 of 4" in err
    assert "Traceback" not in err
    assert out.count("->") == 3


def test_batch_glob_and_skip_existing(files, folder, capsys):
    (folder / "broken.png").unlink()
    pattern = str(folder / "[ab].png")
    code, out, err = run(capsys, "upscale", pattern, "--scale", "1.5", "--checkpoint", "bicubic", "-o", files / "out")
    assert code == 0, err
    assert sorted(p.name for p in (files / "out").iterdir()) == ["a.png", "b.png"]
    stamp = (files / "out" / "a.png").stat().st_mtime_ns
    code, out, err = run(capsys, "upscale", folder, "--scale", "1.5", "--checkpoint", "bicubic", "-o", files / "out")
    assert code == 2 and "already exists and 1 more" in err  # refused as a whole, nothing computed
    code, out, err = run(capsys, "upscale", folder, "--scale", "1.5", "--checkpoint", "bicubic", "-o", files / "out",
                         "--skip-existing", "--format", "png")
    assert code == 0, err
    assert (files / "out" / "a.png").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in (files / "out").iterdir()) == ["a.png", "b.png", "c.png"]


def test_batch_refuses_two_inputs_with_one_output_name(files, folder, capsys, smooth_image):
    Image.fromarray(smooth_image).save(folder / "a.jpg")
    code, _, err = run(capsys, "upscale", folder, "--scale", "2", "--checkpoint", "bicubic", "-o", files / "out")
    assert code == 2 and one_error_line(err, "would both be written to")


def test_batch_model_loaded_once(files, folder, capsys, monkeypatch):
    import reproduce.models as models

    calls = []
    real = models.load
    monkeypatch.setattr(models, "load", lambda *a, **k: calls.append(a) or real(*a, **k))
    (folder / "broken.png").unlink()
    code, _, err = run(capsys, "upscale", folder, "--scale", "2", "--checkpoint", files / "model.pt", "-o", files / "out")
    assert code == 0, err
    assert len(calls) == 1


# --- found in review -------------------------------------------------------------------------

def test_webp_side_limit_is_checked_before_computing(files, capsys):
    code, _, err = upscale(capsys, files, "--size", "17000,60", output="o.webp")
    assert code == 2 and one_error_line(err, "WEBP stores at most 16383 pixels a side")


def test_any_failure_of_one_file_is_reported_not_raised(files, folder, capsys, monkeypatch):
    def boom(method, chunk=30000, bf16=False):
        def run(lr, size):
            raise RuntimeError("out of memory\nsecond line")
        return run

    monkeypatch.setattr("reproduce.upscale_files.make_upscaler", boom)
    (folder / "broken.png").unlink()
    code, _, err = run(capsys, "upscale", folder, "--scale", "2", "--checkpoint", "bicubic", "-o", files / "out")
    assert code == 2 and "Traceback" not in err
    assert err.count("RuntimeError: out of memory") == 3 and "second line" not in err
    assert list((files / "out").iterdir()) == []


@pytest.mark.parametrize("value,needle", [("train.steps=abc", "train.steps must be a whole number"),
                                          ("train=foo", "must be a mapping"),
                                          ("train.bf16=maybe", "train.bf16 must be true or false")])
def test_train_bad_override_is_one_line(files, capsys, value, needle):
    config = files / "c.yaml"
    config.write_text("model: {name: srcnn, args: {}}\n")
    code, _, err = run(capsys, "train", config, "-p", value)
    assert code == 2 and one_error_line(err, needle)


def test_train_whole_float_override_becomes_an_int():
    from reproduce.config import load_config

    cfg = load_config(None, {"model": {"name": "srcnn", "args": {}}, "train": {"steps": 1e3, "lr": 1}})
    assert cfg["train"]["steps"] == 1000 and isinstance(cfg["train"]["steps"], int) and cfg["train"]["lr"] == 1.0


def test_batch_output_folder_that_cannot_be_created(files, folder, capsys):
    code, _, err = run(capsys, "upscale", folder, "--scale", "2", "--checkpoint", "bicubic", "-o", "/proc/new-folder")
    assert code == 2 and one_error_line(err, "cannot create the output folder")


def test_eval_refuses_a_model_that_does_not_upscale_and_a_csv_folder(files, capsys):
    spec = {"name": "srgan-discriminator", "args": {"patch": 32, "n_feats": 4}}
    save_checkpoint(files / "d.pt", make(spec), spec)
    code, out, err = run(capsys, "eval", files / "d.pt", "--sets", "sample", "--scales", "2", "--limit", "1")
    assert code == 2 and one_error_line(err, "not a super-resolution model")
    code, out, err = run(capsys, "eval", "bicubic", "--sets", "sample", "--scales", "2", "--csv", files)
    assert code == 2 and one_error_line(err, "is a folder") and "sample" not in out


def test_glob_skips_sidecars_and_hidden_files(files, folder, capsys):
    (folder / "broken.png").unlink()
    (folder / "a.xmp").write_text("<x/>")
    (folder / "._a.png").write_bytes(b"\x00\x05")
    code, _, err = run(capsys, "upscale", str(folder / "*"), "--scale", "2", "--checkpoint", "bicubic", "-o", files / "out")
    assert code == 0, err
    assert sorted(p.name for p in (files / "out").iterdir()) == ["a.png", "b.png", "c.png"]


@pytest.mark.parametrize("text", ["50,70", "50x70", "50X70", "50×70"])
def test_size_spellings(files, capsys, text):
    code, _, err = upscale(capsys, files, "--size", text, "--overwrite")
    assert code == 0, err
    assert Image.open(files / "o.png").size == (70, 50)
