"""The image service layer: each call authorizes, checks state and runs its own transaction."""
