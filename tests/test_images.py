"""images: the tutorial's tile_raster_images and scale_to_unit_interval, filter sheets."""

import numpy as np
import pytest
from PIL import Image

from autoencoders_tutorial import images


def test_scale_to_unit_interval():
    out = images.scale_to_unit_interval(np.array([[2.0, 4.0], [6.0, 10.0]]))
    np.testing.assert_allclose(out, [[0, 0.25], [0.5, 1.0]], atol=1e-7)


def test_tile_raster_images_exact_values_and_spacing():
    X = np.array([[0.0, 1.0, 0.5, 0.25], [1.0, 1.0, 1.0, 1.0], [0.0, 0.2, 0.4, 0.8]])
    out = images.tile_raster_images(X, (2, 2), (2, 2), tile_spacing=(1, 1), scale_rows_to_unit_interval=False,
                                   output_pixel_vals=True)
    assert out.shape == (5, 5) and out.dtype == np.uint8
    want = np.zeros((5, 5), dtype=np.uint8)
    want[0:2, 0:2] = (np.array([[0, 1], [0.5, 0.25]]) * 255).astype(np.uint8)
    want[0:2, 3:5] = 255
    want[3:5, 0:2] = (np.array([[0, 0.2], [0.4, 0.8]]) * 255).astype(np.uint8)
    np.testing.assert_array_equal(out, want)


def test_tile_raster_images_scaling_and_floats():
    X = np.array([[2.0, 4.0, 6.0, 10.0]])
    out = images.tile_raster_images(X, (2, 2), (1, 1), output_pixel_vals=False)
    assert out.dtype == X.dtype
    np.testing.assert_allclose(out, [[0, 0.25], [0.5, 1.0]], atol=1e-7)


def test_tile_raster_images_channels_and_alpha():
    X = np.array([[0.0, 1.0, 1.0, 0.0]])
    out = images.tile_raster_images((X, None, X, None), (2, 2), (1, 1), scale_rows_to_unit_interval=False)
    assert out.shape == (2, 2, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:, :, 0], [[0, 255], [255, 0]])
    np.testing.assert_array_equal(out[:, :, 1], 0)
    np.testing.assert_array_equal(out[:, :, 3], 255)
    f = images.tile_raster_images((X, None, None, None), (2, 2), (1, 1), scale_rows_to_unit_interval=False,
                                 output_pixel_vals=False)
    np.testing.assert_array_equal(f[:, :, 3], 1.0)
    with pytest.raises(ValueError, match="4 entries"):
        images.tile_raster_images((X, X), (2, 2), (1, 1))
    with pytest.raises(ValueError, match="4 columns"):
        images.tile_raster_images(np.zeros((2, 5)), (2, 2), (1, 1))


def test_save_filters_image_square_grid(tmp_path):
    W = np.random.default_rng(0).random((16, 5))
    path = images.save_filters_image(W, (4, 4), tmp_path / "f.png")
    img = Image.open(path)
    assert img.size == (3 * 4 + 2, 3 * 4 + 2)  # 5 filters -> a 3x3 grid of 4x4 tiles, 1-pixel spacing
    arr = np.asarray(img)
    np.testing.assert_array_equal(arr[:4, :4], images.tile_raster_images(W[:, :1].T, (4, 4), (1, 1)))
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]
