"""The dashboard's service layer: sessions, profiles, policy checks, the joined lists
(``extension``), the contrib lists and the pass-through to the cloud's services."""
