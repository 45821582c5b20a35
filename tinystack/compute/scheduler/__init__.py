"""The scheduler: allocation candidates from placement, then filters and weighers.

``manager.py`` is the RPC endpoint (``select_destinations``); ``host_state.py`` keeps
a short-lived cached view of compute hosts, their services and aggregates;
``filters/`` and ``weights/`` hold one plugin per module.
"""
