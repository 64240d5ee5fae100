"""The tutorial's own small ``utils.py``: ``tile_raster_images`` and ``scale_to_unit_interval``.

Kept for readers' scripts (``from utils import tile_raster_images`` works in a clone, as
in the tutorial). The library itself never imports this module, so a ``utils.py`` of
your own cannot break it; the functions live in :mod:`autoencoders_tutorial.images`.
"""

from autoencoders_tutorial.images import scale_to_unit_interval, tile_raster_images

__all__ = ["scale_to_unit_interval", "tile_raster_images"]
