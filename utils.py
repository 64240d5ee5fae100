"""The tutorial's own small ``utils.py`` for readers' scripts (``from utils import tile_raster_images``): its two
functions live in :mod:`autoencoders_tutorial.images`. The library never imports this module: a ``utils.py`` of your
own cannot break it."""

from autoencoders_tutorial.images import scale_to_unit_interval, tile_raster_images

__all__ = ["scale_to_unit_interval", "tile_raster_images"]
