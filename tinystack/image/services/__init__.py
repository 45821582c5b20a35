"""The image service layer: one module per resource; each public function takes ``Deps``,
runs its own transaction and returns frozen records (``records.py``).

Image policy is enforced here rather than in the handlers, on the loaded image
(``_access.py``): the target of every Glance image rule is the image itself.
"""
