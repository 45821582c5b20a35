"""ACL documents: what Swift's container ACLs can express, as S3's AccessControlPolicy
(the owner's FULL_CONTROL, READ for AllUsers or AuthenticatedUsers), and the ACL a request
asks for (``x-amz-acl`` canned, or an AccessControlPolicy body)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from tinystack.object_store.api.s3 import documents
from tinystack.object_store.api.s3.call import S3Call
from tinystack.object_store.services.s3 import buckets
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.records import Grants

XSI = "http://www.w3.org/2001/XMLSchema-instance"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


def _grant(grantee: str, permission: str) -> str:
    if grantee.startswith("http://"):
        who = f'<Grantee xmlns:xsi="{XSI}" xsi:type="Group"><URI>{grantee}</URI></Grantee>'
    else:
        who = (f'<Grantee xmlns:xsi="{XSI}" xsi:type="CanonicalUser"><ID>{escape(grantee)}</ID>'
               f"<DisplayName>{escape(grantee)}</DisplayName></Grantee>")  # fmt: skip
    return f"<Grant>{who}<Permission>{permission}</Permission></Grant>"


def render(found: Grants) -> bytes:
    grants = [_grant(found.owner, "FULL_CONTROL")]
    if found.public_read:
        grants.append(_grant(ALL_USERS, "READ"))
    if found.authenticated_read:
        grants.append(_grant(AUTHENTICATED, "READ"))
    owner = escape(found.owner)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="{documents.NS}">'
            f"<Owner><ID>{owner}</ID><DisplayName>{owner}</DisplayName></Owner>"
            f"<AccessControlList>{''.join(grants)}</AccessControlList>"
            "</AccessControlPolicy>").encode()  # fmt: skip


def wanted(call: S3Call, body: bytes) -> Grants:
    """The ACL the request sets: a canned ``x-amz-acl``, or the grants of its body (the
    owner's FULL_CONTROL plus READ for AllUsers or AuthenticatedUsers; other grants cannot
    be expressed in Swift's ACLs)."""
    canned = call.header("x-amz-acl")
    if canned is not None:
        if body.strip():
            raise S3Error("UnexpectedContent", "This request does not support content")
        return buckets.canned_grants(call.owner, canned)
    if any(call.header(h) for h in ("x-amz-grant-read", "x-amz-grant-write",
                                     "x-amz-grant-full-control")):  # fmt: skip
        raise S3Error("NotImplemented", "x-amz-grant-* headers are not supported")
    policy = documents.parse(body, "AccessControlPolicy")
    found = Grants(call.owner)
    for acl_list in documents.children(policy, "AccessControlList"):
        for grant in documents.children(acl_list, "Grant"):
            permission = documents.text(grant, "Permission")
            grantees = documents.children(grant, "Grantee")
            if not grantees or permission is None:
                raise S3Error("MalformedACLError")
            grantee = grantees[0]
            uri, ident = documents.text(grantee, "URI"), documents.text(grantee, "ID")
            if ident == call.owner and permission == "FULL_CONTROL":
                continue
            if uri == ALL_USERS and permission == "READ":
                found = Grants(found.owner, True, found.authenticated_read)
            elif uri == AUTHENTICATED and permission == "READ":
                found = Grants(found.owner, found.public_read, True)
            else:
                raise S3Error("NotImplemented", "Only READ for AllUsers or AuthenticatedUsers "
                              "can be granted (Swift container ACLs)")  # fmt: skip
    return found
