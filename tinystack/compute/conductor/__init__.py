"""The conductor: multi-step flows (build, resize and cold migration, unshelve) as tasks."""
