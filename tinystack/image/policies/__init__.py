"""Image policy: upstream Glance's rule names and current (secure RBAC) defaults.

One module per resource. The target of an image rule is the image: ``project_id``
and ``owner`` are its owner, ``visibility`` its visibility and ``member_id`` the
caller's project when the caller sees a shared image as a member (see
``services/_access.py``, which builds it). Whether an image is visible at all is
decided before policy, as upstream does in its database layer.

:func:`list_rules` is the ``oslo.policy.policies`` entry point ``tinystack.image``.
"""

from __future__ import annotations

from oslo_policy import policy

from tinystack.image.policies import base, cache, image_members, images, info, metadefs, tasks


def list_rules() -> list[policy.RuleDefault]:
    return [
        *base.RULES,
        *images.RULES,
        *image_members.RULES,
        *info.RULES,
        *metadefs.RULES,
        *tasks.RULES,
        *cache.RULES,
    ]
