"""`reproduce data fetch` / `data check` against a local HTTP server (no internet).

The server serves zip and tar.gz archives and single files built here from a
few small generated images, honours ``Range`` (unless told not to) and records
every request, so the tests can tell what was downloaded and how.
"""
from __future__ import annotations

import hashlib
import io
import re
import socket
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reproduce.data import fetch as F
from reproduce.errors import ReproduceError

COLUMNS = "\t".join(F.MANIFEST_COLUMNS)


# --------------------------------------------------------------------------
# A small HTTP server with Range support
# --------------------------------------------------------------------------

class FileServer:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1 and records (path, Range header) per GET."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.honour_range = True
        self.range_from_zero = False  # a broken server: 206 replies that start at byte 0
        self.cut_after: int | None = None  # drop the connection after this many body bytes
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def gets(self, path: str) -> list[str | None]:
        """The Range headers of the GETs of ``path`` (None: no Range)."""
        return [rng for p, rng in self.requests if p == path]

    def close(self):
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                match = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
                if match and server.honour_range:
                    start = 0 if server.range_from_zero else int(match.group(1))
                    end = int(match.group(2)) if match.group(2) else len(body) - 1
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    chunk = body[start:end + 1]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{start + len(chunk) - 1}/{len(body)}")
                else:
                    chunk = body
                    self.send_response(200)
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                if server.cut_after is not None:
                    chunk = chunk[:server.cut_after]
                    self.close_connection = True
                self.wfile.write(chunk)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def server():
    srv = FileServer()
    yield srv
    srv.close()


# --------------------------------------------------------------------------
# Test data: images, archives, manifest, source table
# --------------------------------------------------------------------------

def _image(seed: int, size=(20, 14), mode="RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels)
    return image.convert(mode) if mode != "RGB" else image


def _encode(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def _hash(image: Image.Image) -> str:
    return hashlib.sha256(np.asarray(image.convert("RGB")).tobytes()).hexdigest()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class World:
    """Four sets served by ``server``: SetA and SetD share a zip, SetB is a tar.gz, SetC single files.

    Attributes:
        images: manifest path -> the true image.
        manifest: path of the manifest TSV written for these images.
        sources: the source table for these sets.
    """

    def __init__(self, server: FileServer, tmp_path: Path, differing: str | None = None):
        self.server = server
        a = {"a1.png": _image(1), "a2.png": _image(2, (9, 17)), "gray.png": _image(3, mode="L")}
        d = {"d1.png": _image(4)}
        b = {"b7.bmp": _image(5), "b8.bmp": _image(6, (11, 5))}
        c = {"c1.png": _image(7), "c2.png": _image(8, mode="P")}
        rows = []
        self.images: dict[str, Image.Image] = {}
        for folder, images in (("benchmark/SetA", a), ("benchmark/SetD", d), ("train/SetB", b), ("valid/SetC", c)):
            for source_name, image in images.items():
                path = f"{folder}/{Path(source_name).stem}.webp"
                self.images[path] = image
                rows.append(f"{path}\t{source_name}\t{image.width}\t{image.height}\t{image.mode}\t{_hash(image)}\t0\t0")
        self.manifest = tmp_path / "manifest.tsv"
        self.manifest.write_text(COLUMNS + "\n" + "\n".join(rows) + "\n")

        def served(name: str, image: Image.Image, fmt: str) -> bytes:
            # ``differing`` names one source image whose served pixels are changed.
            if name == differing:
                image = image.copy()
                image.putpixel((0, 0), tuple(255 - v for v in image.convert("RGB").getpixel((0, 0))))
            return _encode(image, fmt)

        zip_members = {f"repo-1234/SetA/{n}": served(n, im, "PNG") for n, im in a.items()}
        zip_members |= {f"repo-1234/SetD/{n}": served(n, im, "PNG") for n, im in d.items()}
        zip_members["repo-1234/README.md"] = b"not an image"
        server.files["/a.zip"] = _zip(zip_members)
        # SetB's archive names images img_<n>_HR.bmp (the manifest says b<n>.bmp) beside LR decoys.
        tar_members = {f"pack/imgs/img_{n[1]}_HR.bmp": served(n, im, "BMP") for n, im in b.items()}
        tar_members |= {f"pack/imgs/img_{n[1]}_LR.bmp": _encode(_image(99), "BMP") for n in b}
        server.files["/b.tar.gz"] = _tar_gz(tar_members)
        for n, im in c.items():
            server.files[f"/files/{n}"] = served(n, im, "PNG")
        self.sources = {
            "SetA": (F.Source(f"{server.url}/a.zip", "zip", "*/SetA/*.png"),),
            "SetB": (F.Source(f"{server.url}/b.tar.gz", "tar.gz", "*/imgs/img_*_HR.bmp",
                              F.regex_rename(r"img_(\d+)_HR\.bmp", r"b\1.bmp")),),
            "SetC": (F.Source(f"{server.url}/files/{{source_name}}", "file"),),
            "SetD": (F.Source(f"{server.url}/a.zip", "zip", "*/SetD/*.png"),),
        }

    def fetch(self, root: Path, sets=(), **kwargs) -> F.FetchResult:
        kwargs = {"sources": self.sources, "manifest": self.manifest, "log": lambda line: None} | kwargs
        return F.fetch(sets, root, **kwargs)

    def check(self, root: Path, sets=()) -> F.CheckResult:
        return F.check(root, sets, manifest=self.manifest, log=lambda line: None)


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


# --------------------------------------------------------------------------
# fetch
# --------------------------------------------------------------------------

def test_fresh_fetch_gets_every_image_and_check_agrees(server, tmp_path):
    world, root, lines = World(server, tmp_path), tmp_path / "data", []
    result = world.fetch(root, log=lines.append)

    assert result.ok
    assert {n: (r.ok, r.fetched, r.failed, r.missing) for n, r in result.sets.items()} == {
        "SetA": (3, 3, [], []), "SetB": (2, 2, [], []), "SetC": (2, 2, [], []), "SetD": (1, 1, [], [])}
    for path, image in world.images.items():
        with Image.open(root / path) as written:
            assert written.format == "WEBP"
        assert np.array_equal(_pixels(root / path), np.asarray(image.convert("RGB"))), path
    # SetA and SetD share one archive: downloaded once, and removed after the run.
    assert server.gets("/a.zip") == [None]
    assert not (root / F.DOWNLOAD_DIR).exists()
    assert any(line.startswith("SetB: 2 ok") for line in lines)

    checked = world.check(root)
    assert checked.ok
    assert checked.counts() == {"ok": 8, "missing": 0, "differing": 0, "extra": 0}


def test_second_fetch_skips_verified_images(server, tmp_path):
    world, root = World(server, tmp_path), tmp_path / "data"
    world.fetch(root)
    before = len(server.requests)
    stamps = {p: (root / p).stat().st_mtime_ns for p in world.images}

    result = world.fetch(root)

    assert result.ok
    assert len(server.requests) == before  # nothing downloaded again
    assert all(r.fetched == 0 for r in result.sets.values())
    assert sum(r.ok for r in result.sets.values()) == len(world.images)
    assert {p: (root / p).stat().st_mtime_ns for p in world.images} == stamps


def test_fetch_replaces_a_wrong_file_and_fetches_only_that_set(server, tmp_path):
    world, root = World(server, tmp_path), tmp_path / "data"
    world.fetch(root)
    wrong = root / "train/SetB/b7.webp"
    _image(42).save(wrong, "WEBP", lossless=True)
    server.requests.clear()

    result = world.fetch(root, ["setb"])  # names are case-insensitive

    assert list(result.sets) == ["SetB"] and result.sets["SetB"].fetched == 1 and result.ok
    assert [p for p, _ in server.requests] == ["/b.tar.gz"]
    assert np.array_equal(_pixels(wrong), np.asarray(world.images["train/SetB/b7.webp"].convert("RGB")))


def test_interrupted_download_resumes_with_range(server, tmp_path):
    world, root = World(server, tmp_path), tmp_path / "data"
    url = world.sources["SetA"][0].url
    body = server.files["/a.zip"]
    part = F.download_path(root, url).with_name(F.download_path(root, url).name + ".part")
    part.parent.mkdir(parents=True)
    half = len(body) // 2
    part.write_bytes(body[:half])

    result = world.fetch(root, ["SetA"])

    assert server.gets("/a.zip") == [f"bytes={half}-"]
    assert result.ok and result.sets["SetA"].fetched == 3
    assert not part.exists()


def test_resume_falls_back_to_a_whole_download_when_range_is_ignored(server, tmp_path):
    world, root = World(server, tmp_path), tmp_path / "data"
    server.honour_range = False
    url = world.sources["SetB"][0].url
    part = F.download_path(root, url).with_name(F.download_path(root, url).name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(server.files["/b.tar.gz"][:100])

    result = world.fetch(root, ["SetB"])

    # Appending the whole body to the partial file would give a broken tar.gz.
    assert server.gets("/b.tar.gz") == ["bytes=100-"]
    assert result.ok and result.sets["SetB"].fetched == 2


def test_dropped_connection_raises_then_the_next_run_resumes(server, tmp_path):
    world, root = World(server, tmp_path), tmp_path / "data"
    body = server.files["/b.tar.gz"]
    server.cut_after = len(body) // 3

    with pytest.raises(ReproduceError, match="run again to resume"):
        world.fetch(root, ["SetB"])

    part = F.download_path(root, world.sources["SetB"][0].url)
    part = part.with_name(part.name + ".part")
    assert part.read_bytes() == body[:len(body) // 3]
    assert not (root / "train/SetB").exists()
    server.cut_after = None
    result = world.fetch(root, ["SetB"])
    assert server.gets("/b.tar.gz") == [None, f"bytes={len(body) // 3}-"]
    assert result.ok and result.sets["SetB"].fetched == 2


def test_a_reply_that_does_not_continue_the_part_file_restarts(server, tmp_path):
    world, root = World(server, tmp_path), tmp_path / "data"
    server.range_from_zero = True
    url = world.sources["SetB"][0].url
    part = F.download_path(root, url).with_name(F.download_path(root, url).name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(server.files["/b.tar.gz"][:100])

    result = world.fetch(root, ["SetB"])

    assert server.gets("/b.tar.gz") == ["bytes=100-", None]
    assert result.ok and result.sets["SetB"].fetched == 2


def test_a_damaged_archive_is_deleted_and_downloaded_again(server, tmp_path):
    world, root = World(server, tmp_path), tmp_path / "data"
    kept = F.download_path(root, world.sources["SetA"][0].url)  # a complete download of an earlier run
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"PK\x03\x04 not really a zip")

    with pytest.raises(ReproduceError, match="damaged"):
        world.fetch(root, ["SetA"])
    assert server.requests == [] and not kept.exists()
    assert world.fetch(root, ["SetA"]).ok


@pytest.mark.parametrize("name, path", [("a2.png", "benchmark/SetA/a2.webp"), ("b8.bmp", "train/SetB/b8.webp"),
                                        ("c2.png", "valid/SetC/c2.webp")])
def test_differing_image_is_reported_and_not_written(server, tmp_path, name, path):
    world, root = World(server, tmp_path, differing=name), tmp_path / "data"
    lines = []

    result = world.fetch(root, log=lines.append)

    set_name = Path(path).parent.name
    assert not result.ok
    assert result.sets[set_name].failed == [path] and result.sets[set_name].missing == []
    assert result.sets[set_name].ok == len([p for p in world.images if f"/{set_name}/" in p]) - 1
    assert not (root / path).exists()
    assert not [p for p in (root / Path(path).parent).iterdir() if p.name.startswith(".")]  # no temp left
    assert any(path in line and "differ" in line for line in lines)
    assert world.check(root).sets[set_name].missing == [path]


def test_image_absent_from_the_source_is_missing(server, tmp_path):
    world, root = World(server, tmp_path), tmp_path / "data"
    del server.files["/files/c1.png"]

    result = world.fetch(root, ["SetC"])

    assert result.sets["SetC"].missing == ["valid/SetC/c1.webp"] and result.sets["SetC"].ok == 1
    assert not result.ok


def test_fallback_source_provides_what_the_first_lacks(server, tmp_path):
    world, root = World(server, tmp_path, differing="a1.png"), tmp_path / "data"
    # The second source serves correct copies of SetA's images as single files.
    for name in ("a1.png", "a2.png", "gray.png"):
        server.files[f"/mirror/{name}"] = _encode(world.images[f"benchmark/SetA/{Path(name).stem}.webp"], "PNG")
    sources = dict(world.sources)
    sources["SetA"] = (F.Source(f"{server.url}/gone.zip", "zip", "*"),  # 404: skipped
                       world.sources["SetA"][0],  # a1 differs here
                       F.Source(f"{server.url}/mirror/{{source_name}}", "file"))

    result = world.fetch(root, ["SetA"], sources=sources)

    assert result.ok and result.sets["SetA"].fetched == 3
    assert [p for p, _ in server.requests if p.startswith("/mirror/")] == ["/mirror/a1.png"]


def test_unknown_set_raises_before_any_request(server, tmp_path):
    world, root = World(server, tmp_path), tmp_path / "data"

    with pytest.raises(ReproduceError, match="Nope"):
        world.fetch(root, ["SetA", "Nope"])

    assert server.requests == []
    assert not root.exists()
    with pytest.raises(ReproduceError, match="Nope"):
        world.check(tmp_path, ["Nope"])


def test_unreachable_server_raises(server, tmp_path):
    world, root = World(server, tmp_path), tmp_path / "data"
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sources = {"SetA": (F.Source(f"http://127.0.0.1:{port}/a.zip", "zip", "*/SetA/*.png"),)}

    with pytest.raises(ReproduceError, match=f"127.0.0.1:{port}/a.zip"):
        world.fetch(root, ["SetA"], sources=sources)


def test_bad_data_root_raises(server, tmp_path):
    world = World(server, tmp_path)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")

    with pytest.raises(ReproduceError, match="not a folder"):
        world.fetch(not_a_folder)
    with pytest.raises(ReproduceError, match="not a folder"):
        world.check(not_a_folder)
    with pytest.raises(ReproduceError, match="not a folder"):
        world.check(tmp_path / "absent")
    assert server.requests == []


# --------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------

def test_check_reports_missing_extra_and_differing(server, tmp_path):
    world, root = World(server, tmp_path), tmp_path / "data"
    world.fetch(root)
    (root / "benchmark/SetA/a1.webp").unlink()
    _image(50, (20, 14)).save(root / "benchmark/SetA/a2.webp", "WEBP", lossless=True)
    (root / "train/SetB/b7.webp").write_bytes(b"not an image")
    (root / "train/SetB/extra.png").write_bytes(_encode(_image(51), "PNG"))
    (root / "valid/SetC/sub").mkdir()
    (root / "valid/SetC/sub/notes.txt").write_text("x")
    (root / "valid/SetC/.c1.webp.tmp.webp").write_bytes(b"half")  # hidden temp: ignored
    (root / "normals/DiLiGenT/ball").mkdir(parents=True)  # outside the sets: ignored
    (root / "normals/DiLiGenT/ball/normal_map.png").write_bytes(b"x")

    result = world.check(root)

    assert not result.ok
    assert result.counts() == {"ok": 5, "missing": 1, "differing": 2, "extra": 2}
    assert result.sets["SetA"].missing == ["benchmark/SetA/a1.webp"]
    assert result.sets["SetA"].differing == ["benchmark/SetA/a2.webp"]
    assert result.sets["SetB"].differing == ["train/SetB/b7.webp"]
    assert result.sets["SetB"].extra == ["train/SetB/extra.png"]
    assert result.sets["SetC"].extra == ["valid/SetC/sub/notes.txt"]
    assert world.check(root, ["SetD"]).ok


def test_check_of_an_empty_root_reports_everything_missing(server, tmp_path):
    world = World(server, tmp_path)
    (tmp_path / "data").mkdir()
    result = world.check(tmp_path / "data")
    assert result.counts() == {"ok": 0, "missing": len(world.images), "differing": 0, "extra": 0}


# --------------------------------------------------------------------------
# The shipped manifest and source table
# --------------------------------------------------------------------------

# One archive member (or file name) per real source, named as in the source
# repositories' listings, and the manifest source_name it must map to.
REAL_EXAMPLES = {
    "Set5": [("dcscn-super-resolution-27d8/data/set5/img_005.png", "woman.png"),
             ("SelfExSR-18e0/data/Set5/image_SRF_4/img_001_SRF_4_HR.png", "baby.png")],
    "Set14": [("dcscn-super-resolution-27d8/data/set14/img_013.png", "ppt3.png"),
              ("denoising_datasets-d363/CSet14/comic.png", "comic.png")],
    "B100": [("SelfExSR-18e0/data/BSD100/image_SRF_3/img_004_SRF_3_HR.png", "img_004_SRF_3_HR.png")],
    "Urban100": [("SelfExSR-18e0/data/Urban100/image_SRF_4/img_100_SRF_4_HR.png", "img_100.png")],
    "SunHays80": [("SelfExSR-18e0/data/Sun-Hays80/image_SRF_8/img_080_SRF_8_HR.png", "img_080_SRF_8_HR.png")],
    "T91": [("dcscn-super-resolution-27d8/data/yang91/tt27.bmp", "tt27.bmp")],
    "BSD200": [("dcscn-super-resolution-27d8/data/bsd200/100075.png", "100075.png")],
    "Kodak24": [("kodim01.png", "kodim01.png"), ("kodim24.png", "kodim24.png")],
}


def test_shipped_manifest_parses():
    rows = F.load_manifest()
    header = (Path(F.__file__).with_name("manifest.tsv").read_text().splitlines()[0]).split("\t")

    assert len(rows) == 614
    assert tuple(header) == F.MANIFEST_COLUMNS
    assert len({r.path for r in rows}) == 614
    assert all(re.fullmatch(r"[0-9a-f]{64}", r.rgb_sha256) for r in rows)
    counts = {name: len(group) for name, group in F.rows_by_set(rows).items()}
    assert counts == {"B100": 100, "Set14": 14, "Set5": 5, "Urban100": 100, "BSD200": 200, "SunHays80": 80,
                      "T91": 91, "Kodak24": 24}


def test_real_source_table_maps_to_manifest_rows():
    groups = F.rows_by_set(F.load_manifest())
    assert set(F.SOURCES) == set(groups) == set(REAL_EXAMPLES)
    for name, sources in F.SOURCES.items():
        names = {r.source_name for r in groups[name]}
        assert len(names) == len(groups[name]), f"{name}: source names must be unique within a set"
        assert len(sources) == len(REAL_EXAMPLES[name])
        for source in sources:
            assert source.kind in ("zip", "tar.gz", "file") and source.url.startswith("http")
            if source.kind == "file":
                assert "{source_name}" in source.url
                for _, expected in REAL_EXAMPLES[name]:
                    assert expected in names
                continue
            member, expected = REAL_EXAMPLES[name][sources.index(source)]
            assert source.matches(member), (name, member)
            assert source.source_name(member) == expected and expected in names, (name, member)
        # The x-scale LR files beside the HR ones are never taken for HR images.
        for source in sources:
            if "_HR.png" in source.pattern:
                assert not source.matches(source.pattern.replace("*/", "top/", 1).replace("_HR", "_LR").replace("*", "001"))


def test_source_records_are_validated():
    with pytest.raises(ReproduceError, match="rar"):
        F.Source("http://example.org/a.rar", "rar")
    with pytest.raises(ReproduceError, match="source_name"):
        F.Source("http://example.org/files/", "file")


def test_numbered_names_cover_the_classic_sets():
    groups = F.rows_by_set(F.load_manifest())
    assert set(F.SET5_NAMES) == {r.source_name for r in groups["Set5"]}
    assert set(F.SET14_NAMES) == {r.source_name for r in groups["Set14"]}
    assert F.numbered_rename(F.SET5_NAMES)("img_006.png") is None


def test_default_root_is_the_configured_data_root(server, tmp_path, monkeypatch):
    world = World(server, tmp_path)
    monkeypatch.setenv("REPRODUCE_DATA", str(tmp_path / "env-root"))

    assert world.fetch(None, ["SetD"]).ok
    assert (tmp_path / "env-root/benchmark/SetD/d1.webp").is_file()
    assert world.check(None, ["SetD"]).ok
    shipped = F.check(None, log=lambda line: None)  # the shipped manifest against this root
    assert shipped.counts()["missing"] == 614 and not shipped.ok


def test_unwritable_data_root_is_one_error():
    from reproduce.data.fetch import fetch
    from reproduce.errors import ReproduceError

    with pytest.raises(ReproduceError, match="data root"):
        fetch(["Set5"], "/proc/no-data-here", log=lambda m: None)
