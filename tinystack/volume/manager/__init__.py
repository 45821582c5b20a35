"""The volume manager: one per backend; runs the driver and tracks long operations."""
