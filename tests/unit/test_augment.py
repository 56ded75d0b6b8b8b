"""Augmentation keeps image and masks aligned; photometric changes touch the image only."""
import numpy as np
import pytest
from scipy import ndimage

from mobilekit.core.errors import InputError
from mobilekit.families.segmentation.augment import Augmentation, augment, resize_sample
from mobilekit.families.segmentation.samples import SegSample

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)
NO_PHOTO = dict(exposure=(1.0, 1.0), gamma=(1.0, 1.0))


def _colour_coded(h=64, w=80):
    """Image whose colour encodes the masks: red = target, blue = other object, green = background."""
    yy, xx = np.mgrid[:h, :w]
    target = (yy - 30) ** 2 + ((xx - 30) / 1.5) ** 2 <= 14**2
    other = np.zeros((h, w), bool)
    other[8:20, 50:74] = True
    image = np.empty((h, w, 3), np.uint8)
    image[:] = GREEN
    image[target] = RED
    image[other] = BLUE
    return SegSample(image=image, target=target, others=[other])


def _pure(image, colour):
    ref = np.array(colour)
    return (np.abs(image.astype(int) - ref) <= 40).all(axis=-1)


def test_image_and_masks_stay_aligned():
    sample = _colour_coded()
    aug = Augmentation(max_rotation_deg=25.0, **NO_PHOTO)
    for seed in range(12):
        out = augment(sample, np.random.default_rng(seed), aug, (48, 56))
        img = out.image
        assert img.shape == (48, 56, 3) and img.dtype == np.uint8
        assert out.target.shape == (48, 56) and out.target.dtype == np.bool_
        assert out.target.any()
        # mask interior -> matching colour
        assert _pure(img, RED)[ndimage.binary_erosion(out.target, iterations=2)].all()
        for o in out.others:
            assert _pure(img, BLUE)[ndimage.binary_erosion(o, iterations=2)].all()
        # strongly coloured pixel -> matching mask (nearest neighbour picks the dominant source pixel)
        assert out.target[_pure(img, RED)].all()
        assert not out.target[_pure(img, GREEN) | _pure(img, BLUE)].any()
        if out.others:
            assert out.others[0][_pure(img, BLUE)].all()


def test_alignment_when_shrinking_a_lot():
    big = _colour_coded()
    sample = resize_sample(big, (256, 320))
    out = augment(sample, np.random.default_rng(3), Augmentation(**NO_PHOTO), (32, 40))
    assert _pure(out.image, RED)[ndimage.binary_erosion(out.target, iterations=2)].all()
    assert not out.target[_pure(out.image, GREEN)].any()


def test_flip_only_is_exact():
    sample = _colour_coded()
    aug = Augmentation(crop_scale=(1.0, 1.0), max_rotation_deg=0.0, **NO_PHOTO)
    seen = set()
    for seed in range(8):
        out = augment(sample, np.random.default_rng(seed), aug, sample.size)
        flipped = np.array_equal(out.image, sample.image[:, ::-1])
        assert flipped or np.array_equal(out.image, sample.image)
        ref = sample.target[:, ::-1] if flipped else sample.target
        np.testing.assert_array_equal(out.target, ref)
        seen.add(flipped)
    assert seen == {True, False}


def test_exposure_touches_the_image_only():
    sample = SegSample(image=np.full((16, 16, 3), 100, np.uint8), target=np.ones((16, 16), bool))
    aug = Augmentation(crop_scale=(1.0, 1.0), flip=False, max_rotation_deg=0.0, exposure=(2.0, 2.0), gamma=(1.0, 1.0))
    out = augment(sample, np.random.default_rng(0), aug, (16, 16))
    assert (out.image == 200).all() and out.target.all()
    bright = Augmentation(crop_scale=(1.0, 1.0), flip=False, max_rotation_deg=0.0, exposure=(3.0, 3.0))
    assert (augment(sample, np.random.default_rng(0), bright, (16, 16)).image == 255).all()  # clipped


def test_small_target_is_kept_and_deterministic():
    image = np.zeros((60, 60, 3), np.uint8)
    target = np.zeros((60, 60), bool)
    target[0:3, 0:3] = True  # in a corner: most crops lose it
    sample = SegSample(image=image, target=target)
    aug = Augmentation(crop_scale=(0.5, 0.6))
    for seed in range(10):
        assert augment(sample, np.random.default_rng(seed), aug, (30, 30)).target.any()
    a = augment(_colour_coded(), np.random.default_rng(5), Augmentation(), (32, 32))
    b = augment(_colour_coded(), np.random.default_rng(5), Augmentation(), (32, 32))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.target, b.target)


def test_resize_sample():
    target = np.array([[1, 0], [0, 1]], bool)
    sample = SegSample(image=np.zeros((2, 2, 3), np.uint8), target=target, others=[~target])
    out = resize_sample(sample, (4, 4))
    np.testing.assert_array_equal(out.target, np.kron(target, np.ones((2, 2), int)).astype(bool))
    np.testing.assert_array_equal(out.others[0], ~out.target)
    assert out.image.shape == (4, 4, 3)


def test_bad_parameters():
    with pytest.raises(InputError):
        Augmentation(crop_scale=(0.0, 1.0))
    with pytest.raises(InputError):
        Augmentation(exposure=(1.2, 1.0))
    with pytest.raises(InputError, match="out_size"):
        augment(_colour_coded(), np.random.default_rng(0), Augmentation(), (0, 10))
    with pytest.raises(InputError):
        SegSample(image=np.zeros((4, 4, 3), np.uint8), target=np.zeros((4, 5), bool))
