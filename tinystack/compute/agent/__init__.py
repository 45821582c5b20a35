"""The compute agent: one :class:`ComputeManager` per host, many hosts per process."""
