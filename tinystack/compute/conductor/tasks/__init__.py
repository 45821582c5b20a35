"""Conductor flows written as :class:`~tinystack.compute.conductor.tasks.base.Task` objects."""
