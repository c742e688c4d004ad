"""01_data's tables (reproduce.data.survey) on the embedded sample images."""
import numpy as np
from PIL import Image

from reproduce.data import ImageSet, dataset_files, make_lr
from reproduce.data.survey import bicubic_agreement, bicubic_pair, dataset_table


def test_dataset_table_counts_images_and_pixels():
    table = dataset_table({"test": ["sample"]})
    sizes = [Image.open(f).size for f in dataset_files("sample")]  # (w, h), read independently of ImageSet
    row = table.iloc[0]
    assert (row["role"], row["set"], row["images"]) == ("test", "sample", len(sizes))
    assert row["megapixels"] == sum(w * h for w, h in sizes) / 1e6
    assert row["widths"] == f"{min(w for w, _ in sizes)}-{max(w for w, _ in sizes)}"


def test_bicubic_pair_is_the_protocols_lr_for_each_resizer():
    hr = ImageSet("sample")[1]
    matlab, pil = bicubic_pair(hr, 3)
    assert matlab.shape == pil.shape == (hr.shape[0] // 3, hr.shape[1] // 3, 3)
    assert np.array_equal(matlab, make_lr(hr, 3)[0])  # the protocol's LR up to x4 is MATLAB bicubic
    assert np.array_equal(bicubic_pair(hr, 6)[1], make_lr(hr, 6)[0])  # and PIL bicubic above x4
    assert not np.array_equal(matlab, pil)


def test_bicubic_agreement_is_high_but_finite():
    table = bicubic_agreement(["sample"], scales=(2,))
    value, lowest = table.iloc[0]["PSNR MATLAB vs PIL (dB)"], table.iloc[0]["lowest (dB)"]
    assert 30 < lowest <= value < 80  # nearly the same images, not identical ones
