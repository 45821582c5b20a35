"""Identity backends that are not identity's own tables: the LDAP directory of a domain
whose configuration says ``identity.driver = ldap`` (``ldap.py``). They talk to the
directory only and know nothing of the database; ``services/directory.py`` maps their
entries to public ids and shadow rows."""
