"""The conductor: multi-step flows (build, resize and cold migration, evacuate, unshelve) as
tasks."""
