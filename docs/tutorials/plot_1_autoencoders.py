"""
Autoencoders
============

To be written.
"""
import numpy as np
print(np.arange(3))
