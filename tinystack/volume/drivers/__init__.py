"""Volume drivers: the data path under the volume manager (``base.VolumeDriver``)."""
