"""Images: the tutorial's ``tile_raster_images`` and ``scale_to_unit_interval``, filter sheets, :func:`frame_ink`.
Numpy and pillow only, not PyTensor: ``utils.py`` re-exports the tutorial's two without configuring the engine.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from .files import atomic_write_bytes


def scale_to_unit_interval(ndar, eps=1e-8):
    """Scale all values of ``ndar`` to lie in [0, 1] (the tutorial's helper)."""
    ndar = np.array(ndar, dtype=float, copy=True)
    ndar -= ndar.min()
    ndar *= 1.0 / (ndar.max() + eps)
    return ndar


#: How the 28x28 datasets framed their images (:func:`frame_ink`): the side the ink's box was scaled to (its longer
#: side) and whether its centre of mass (else the box's centre) was put at the square's centre. MNIST: 20 and the
#: centre of mass (LeCun et al. 1998); Fashion-MNIST: trimmed, longest edge resized to 28, centred (Xiao et al. 2017).
FRAMINGS = {"mnist": (20, True), "fashion-mnist": (28, False)}
INK = 0.1  # a pixel darker than this (in [0, 1], ink light on black) is background: the ink's box leaves it out


def frame_ink(pixels, box_side=20, by_mass=True, side=28):
    """``pixels`` (2-D, light ink on black, in [0, 1], any size) framed as MNIST's digits were: the box around the
    ink (pixels above :data:`INK`) scaled, antialiased, until its longer side is ``box_side`` (the aspect ratio
    kept), in a black ``side`` x ``side`` square, moved by whole pixels to put its centre of mass at
    ``(side / 2, side / 2)`` (``by_mass``; else the box is centred); ink moved past an edge is cut, as MNIST's
    was. Returns ``(the square, the box's (width, height) before and after)``, or None when no pixel is ink."""
    pixels = np.asarray(pixels, dtype=np.float32)
    rows, cols = np.nonzero(pixels > INK)
    if rows.size == 0:
        return None
    box = pixels[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]
    scale = box_side / max(box.shape)
    size = (max(1, round(box.shape[1] * scale)), max(1, round(box.shape[0] * scale)))
    small = np.clip(np.asarray(Image.fromarray(box).resize(size, Image.LANCZOS), dtype=np.float64), 0, 1)
    top, left = ((int(np.round(side / 2 - (a * small).sum() / small.sum())) for a in np.indices(small.shape)) if by_mass
                 else ((side - n) // 2 for n in small.shape))
    framed = np.zeros((side + 2 * box_side,) * 2)  # a margin the shift cannot leave: what lies in it is cut
    framed[box_side + top: box_side + top + small.shape[0], box_side + left: box_side + left + small.shape[1]] = small
    return framed[box_side: box_side + side, box_side: box_side + side], (box.shape[::-1], size)


def tile_raster_images(X, img_shape, tile_shape, tile_spacing=(0, 0), scale_rows_to_unit_interval=True,
                       output_pixel_vals=True):
    """Tile the rows of ``X`` (each a flattened image) into one big image: the tutorial's function.

    Parameters
    ----------
    X : ndarray of shape (n_images, h * w), or a 4-tuple of such arrays or None
        One row per image. A 4-tuple gives the R, G, B and alpha channels; a None channel is filled
        with zeros, or, for alpha, made fully opaque.
    img_shape : (h, w)
    tile_shape : (rows, cols)
        Number of images down and across; missing images leave the tile blank.
    tile_spacing : (h, w)
        Pixels between tiles.
    scale_rows_to_unit_interval : bool
        Scale each row to [0, 1] before tiling.
    output_pixel_vals : bool
        True: uint8 in 0-255 (ready for an image file). False: X's float values.

    Returns
    -------
    ndarray, 2-D (one channel) or 3-D with 4 channels last.

    Examples
    --------
    >>> X = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    >>> tile_raster_images(X, img_shape=(2, 2), tile_shape=(1, 2), tile_spacing=(0, 1),
    ...                    scale_rows_to_unit_interval=False)
    array([[  0, 255,   0, 255, 255],
           [255,   0,   0,   0,   0]], dtype=uint8)
    """
    if len(img_shape) != 2 or len(tile_shape) != 2 or len(tile_spacing) != 2:
        raise ValueError("img_shape, tile_shape and tile_spacing must each have 2 entries")
    out_shape = [(ishp + tsp) * tshp - tsp for ishp, tshp, tsp in zip(img_shape, tile_shape, tile_spacing)]
    if isinstance(X, tuple):
        if len(X) != 4:
            raise ValueError(f"a tuple of channels must have 4 entries (RGBA), got {len(X)}")
        dt = "uint8" if output_pixel_vals else next((x.dtype for x in X if x is not None), np.float64)
        out_array = np.zeros((out_shape[0], out_shape[1], 4), dtype=dt)
        channel_defaults = [0, 0, 0, 255] if output_pixel_vals else [0.0, 0.0, 0.0, 1.0]
        for i, channel in enumerate(X):
            out_array[:, :, i] = channel_defaults[i] if channel is None else tile_raster_images(
                channel, img_shape, tile_shape, tile_spacing, scale_rows_to_unit_interval, output_pixel_vals)
        return out_array

    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != img_shape[0] * img_shape[1]:
        raise ValueError(f"X must be 2-D with {img_shape[0] * img_shape[1]} columns for images of shape "
                         f"{tuple(img_shape)}, got shape {X.shape}")
    (H, W), (Hs, Ws) = img_shape, tile_spacing
    dt = "uint8" if output_pixel_vals else X.dtype
    out_array = np.zeros(out_shape, dtype=dt)
    for idx in range(min(X.shape[0], tile_shape[0] * tile_shape[1])):
        tile_row, tile_col = divmod(idx, tile_shape[1])
        this_img = X[idx].reshape(img_shape)
        if scale_rows_to_unit_interval:
            this_img = scale_to_unit_interval(this_img)
        top, left = tile_row * (H + Hs), tile_col * (W + Ws)
        out_array[top: top + H, left: left + W] = this_img * (255 if output_pixel_vals else 1)
    return out_array


def _write_png(tiles, path) -> Path:
    buf = io.BytesIO()
    Image.fromarray(tiles).save(buf, format="PNG")
    atomic_write_bytes(Path(path), buf.getvalue())
    return Path(path)


def save_filters_image(W, img_shape, path, n_filters=100, tile_spacing=(1, 1)) -> Path:
    """Write the first ``n_filters`` columns of ``W`` as a square grid of tiles (PNG)."""
    n = min(n_filters, W.shape[1])
    side = max(1, math.ceil(math.sqrt(n)))
    return _write_png(tile_raster_images(X=np.asarray(W)[:, :n].T, img_shape=img_shape, tile_shape=(side, side),
                                         tile_spacing=tile_spacing), path)


def save_rows_image(rows, img_shape, path, tile_spacing=(1, 1)) -> Path:
    """Write equal-length sequences of images (one per row of the sheet) as one grid (PNG), pixels clipped to [0, 1]
    (not rescaled per image: a corrupted input and its reconstruction share one scale)."""
    rows = [np.clip(np.asarray(r, dtype=float), 0, 1) for r in rows]
    return _write_png(tile_raster_images(X=np.concatenate(rows), img_shape=img_shape,
                                         tile_shape=(len(rows), rows[0].shape[0]), tile_spacing=tile_spacing,
                                         scale_rows_to_unit_interval=False), path)
