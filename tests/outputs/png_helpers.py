"""Reading PNGs back in the output tests."""

import numpy as np
from PIL import Image


def pixels(path, mode):
    with Image.open(path) as image:
        return np.asarray(image.convert(mode))


def image_size(path):
    with Image.open(path) as image:
        return image.size
