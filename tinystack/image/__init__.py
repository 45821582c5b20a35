"""The Image service (Glance v2 API): image records, data, members, tags and the file store."""
