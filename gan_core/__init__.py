"""GAN Studio's library: networks, losses, training, data, checkpoints, latent tools.

Pure torch/numpy/PIL; it never imports a UI package. Importing it does no work.
"""

__version__ = "0.1.0"
