"""The compute service layer: state checks, optimistic saves, quotas, transactions.

Handlers call one function here; workers use the same functions for the rows they
own. Nothing here imports the web framework.
"""
