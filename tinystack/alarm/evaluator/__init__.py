"""Aodh's daemons, run in the alarm service's process with its database (as Aodh's
evaluator and listener are): the threshold/composite evaluator, the event listener and
the notifier that sends the actions."""
