"""COCO loader on a tiny COCO-format dataset written here (polygons, compressed and uncompressed RLE)."""
import json

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.coco import load_coco_samples

H1, W1 = 12, 16
H2, W2 = 20, 24


def _rect(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def _compressed_rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": rle["size"], "counts": rle["counts"].decode("ascii")}


def _uncompressed_rle(mask):
    flat = mask.astype(np.uint8).ravel(order="F")  # column-major, runs start with zeros
    counts, current, run = [], 0, 0
    for v in flat:
        if v == current:
            run += 1
        else:
            counts.append(run)
            current, run = v, 1
    counts.append(run)
    return {"size": list(mask.shape), "counts": counts}


@pytest.fixture()
def dataset(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    img1 = rng.integers(0, 255, (H1, W1, 3), dtype=np.uint8)
    Image.fromarray(img1).save(images / "one.png")
    Image.fromarray(np.full((H2, W2, 3), 128, np.uint8)).save(images / "two.jpg", quality=95)

    dog1 = _rect(H1, W1, 1, 6, 12, 15)  # 15 px
    crowd = _rect(H1, W1, 9, 12, 0, 16)
    dog2 = _rect(H2, W2, 10, 18, 4, 20)  # 128 px
    anns = [
        # polygon covering rows 3..8, cols 2..11 (60 px)
        {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 60.0,
         "segmentation": [[2, 3, 12, 3, 12, 9, 2, 9]], "bbox": [2, 3, 10, 6]},
        {"id": 2, "image_id": 1, "category_id": 2, "iscrowd": 0, "area": 15.0,
         "segmentation": _compressed_rle(dog1), "bbox": [12, 1, 3, 5]},
        {"id": 3, "image_id": 1, "category_id": 3, "iscrowd": 1, "area": 48.0,
         "segmentation": _uncompressed_rle(crowd), "bbox": [0, 9, 16, 3]},
        {"id": 4, "image_id": 2, "category_id": 1, "iscrowd": 0, "area": 4.0,
         "segmentation": [[0, 0, 2, 0, 2, 2, 0, 2]], "bbox": [0, 0, 2, 2]},
        {"id": 5, "image_id": 2, "category_id": 2, "iscrowd": 0, "area": 128.0,
         "segmentation": _uncompressed_rle(dog2), "bbox": [4, 10, 16, 8]},
    ]
    coco = {
        "images": [
            {"id": 1, "file_name": "one.png", "height": H1, "width": W1},
            {"id": 2, "file_name": "two.jpg", "height": H2, "width": W2},
        ],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "person"}],
        "annotations": anns,
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(coco))
    return path, images, img1, {"dog1": dog1, "crowd": crowd, "dog2": dog2}


def test_one_sample_per_non_crowd_annotation_with_correct_masks(dataset):
    path, images, img1, masks = dataset
    samples = list(load_coco_samples(path, images))
    assert len(samples) == 4  # annotation 3 is a crowd region
    cat1, dog1, cat2, dog2 = samples
    np.testing.assert_array_equal(cat1.image, img1)  # PNG: lossless
    assert cat2.image.shape == (H2, W2, 3) and cat2.image.dtype == np.uint8
    np.testing.assert_array_equal(cat1.target, _rect(H1, W1, 3, 9, 2, 12))  # polygon
    np.testing.assert_array_equal(dog1.target, masks["dog1"])  # compressed RLE
    np.testing.assert_array_equal(dog2.target, masks["dog2"])  # uncompressed RLE
    assert cat1.target.dtype == np.bool_
    # others: the other non-crowd annotations of the same image
    assert len(cat1.others) == 1 and np.array_equal(cat1.others[0], masks["dog1"])
    assert len(dog1.others) == 1 and np.array_equal(dog1.others[0], cat1.target)
    assert len(dog2.others) == 1 and np.array_equal(dog2.others[0], _rect(H2, W2, 0, 2, 0, 2))


def test_category_area_and_count_filters(dataset):
    path, images, _, masks = dataset
    cats = list(load_coco_samples(path, images, categories=["cat"]))
    assert [int(s.target.sum()) for s in cats] == [60, 4]
    assert len(cats[1].others) == 1  # others ignore the category filter
    big = list(load_coco_samples(path, images, min_area=16))
    assert [int(s.target.sum()) for s in big] == [60, 128]
    assert list(load_coco_samples(path, images, categories=["person"])) == []  # only a crowd
    assert len(list(load_coco_samples(path, images, max_samples=3))) == 3
    assert list(load_coco_samples(path, images, max_samples=0)) == []


def test_errors_name_what_is_wrong(dataset, tmp_path):
    path, images, _, _ = dataset
    with pytest.raises(InputError, match="unicorn"):
        load_coco_samples(path, images, categories=["cat", "unicorn"])
    with pytest.raises(InputError, match="missing.json"):
        load_coco_samples(tmp_path / "missing.json", images)
    with pytest.raises(InputError, match="nowhere"):
        load_coco_samples(path, tmp_path / "nowhere")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="JSON"):
        load_coco_samples(bad, images)
    (images / "two.jpg").unlink()
    with pytest.raises(InputError, match="two.jpg"):
        list(load_coco_samples(path, images))


def test_image_size_mismatch(dataset):
    path, images, _, _ = dataset
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(images / "one.png")
    with pytest.raises(InputError, match="annotations say"):
        next(iter(load_coco_samples(path, images)))
