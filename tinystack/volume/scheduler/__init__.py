"""The volume scheduler: filters and weighs the pools the managers report."""
