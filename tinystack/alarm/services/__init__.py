"""The alarm service layer: transactions over alarms and their history, and the pure
rules an evaluation follows."""
