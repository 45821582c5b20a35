"""``/v3/ec2tokens`` and ``/v3/s3tokens``: a request signed with an EC2 key becomes a token.

The object store's S3 API and EC2-style clients send what they signed and the signature;
identity finds the ``ec2`` credential by its access key, recomputes the signature with
its secret and issues a project-scoped token (method ``ec2credential``) with the user's
roles there, or with the trust's, application credential's or OAuth access token's the
credential was made through.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import timedelta

from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.tokens import AccessRule, OAuthScope, TokenPayload
from tinystack.common.exceptions import NotFound, Unauthorized, ValidationError
from tinystack.common.timeutils import parse_isotime, utcnow
from tinystack.identity import models
from tinystack.identity.services import access_rules, credentials, grants, tokens, trusts
from tinystack.identity.services.access import enforce
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.ec2_signature import ec2_signature, s3_signature
from tinystack.identity.services.records import IssuedToken

METHOD = "ec2credential"


def _credentials(body: Mapping[str, object]) -> Mapping[str, object]:
    if not body:
        raise ValidationError("request must include a request body")
    found = body.get("credentials") or body.get("credential") or body.get("ec2Credentials") or {}
    if not isinstance(found, Mapping) or "access" not in found:
        raise Unauthorized("EC2 Signature not supplied")
    return found


def _check_timestamp(deps: Deps, creds: Mapping[str, object]) -> None:
    params = creds.get("params") or {}
    headers = creds.get("headers") or {}
    stamp = None
    if isinstance(params, Mapping):
        stamp = params.get("Timestamp") or params.get("X-Amz-Date")
    if not stamp and isinstance(headers, Mapping):
        stamp = headers.get("X-Amz-Date")
    if not stamp:
        return
    text = str(stamp)
    try:
        if len(text) == 16 and text[8] == "T":  # 20240501T120000Z
            text = f"{text[:4]}-{text[4:6]}-{text[6:8]}T{text[9:11]}:{text[11:13]}:{text[13:15]}Z"
        when = parse_isotime(text).replace(tzinfo=None)
    except ValueError as exc:
        raise Unauthorized(f"Credential timestamp is invalid: {exc}") from None
    if utcnow() > when + timedelta(minutes=deps.opts.credential_auth_ttl):
        raise Unauthorized("Credential is expired")


def _payload(
    deps: Deps, session: Session, cred: models.Credential, blob: Mapping[str, object]
) -> TokenPayload:
    """The token the credential authenticates into (project-scoped, maybe delegated)."""
    now = time.time()
    expires = now + deps.opts.token_expiration
    project = session.get(models.Project, cred.project_id) if cred.project_id else None
    user = session.get(models.User, cred.user_id)
    domain = session.get(models.Domain, user.domain_id) if user else None
    project_domain = session.get(models.Domain, project.domain_id) if project else None
    if project is None or user is None:
        raise NotFound("Could not find the credential's user or project.")
    if not (user.enabled and domain and domain.enabled and project.enabled):
        raise Unauthorized("The credential's user or project is disabled.")
    if not (project_domain and project_domain.enabled):
        raise Unauthorized("The credential's project is disabled.")
    base = TokenPayload(
        user_id=user.id,
        methods=(METHOD,),
        expires_at=expires,
        issued_at=now,
        project_id=project.id,
        project_domain_id=project.domain_id,
    )
    trust_id, app_cred_id = blob.get("trust_id"), blob.get("app_cred_id")
    access_token_id = blob.get("access_token_id")
    if trust_id:
        trust = session.get(models.Trust, str(trust_id))
        trustee = trust.trustee_user_id if trust else ""
        grant = trusts.grant_for(deps, session, trustee, str(trust_id))
        end = min(expires, grant.expires_at) if grant.expires_at else expires
        return TokenPayload(
            user_id=grant.user_id,
            methods=(METHOD,),
            expires_at=end,
            issued_at=now,
            project_id=grant.project_id,
            project_domain_id=project.domain_id,
            roles=grant.roles,
            trust=grant.trust,
        )
    if app_cred_id:
        app_cred = session.get(models.ApplicationCredential, str(app_cred_id))
        if app_cred is None or app_cred.project_id != project.id:
            raise Unauthorized(
                "EC2 credential project does not match the application credential project."
            )
        role_ids = {r["id"] for r in app_cred.roles}
        held = grants.effective_role_ids(session, user.id, project_id=project.id)
        ids = held if app_cred.unrestricted else held & role_ids
        return _with_roles(
            session, base, ids, app_cred_id=app_cred.id, rules=access_rules.for_token(app_cred)
        )
    if access_token_id:
        token = session.get(models.AccessToken, str(access_token_id))
        if token is None or token.project_id != project.id:
            raise Unauthorized(
                "EC2 credential project does not match the OAuth1 access token project."
            )
        held = grants.effective_role_ids(session, user.id, project_id=project.id)
        oauth = OAuthScope(access_token_id=token.id, consumer_id=token.consumer_id)
        return _with_roles(session, base, held & set(token.role_ids), oauth=oauth)
    held = grants.effective_role_ids(session, user.id, project_id=project.id)
    return _with_roles(session, base, held)


def _with_roles(
    session: Session,
    base: TokenPayload,
    role_ids: set[str],
    *,
    app_cred_id: str | None = None,
    rules: tuple[AccessRule, ...] | None = None,
    oauth: OAuthScope | None = None,
) -> TokenPayload:
    if not role_ids:
        raise Unauthorized("User not valid for project.")
    return TokenPayload(
        user_id=base.user_id,
        methods=base.methods,
        expires_at=base.expires_at,
        issued_at=base.issued_at,
        project_id=base.project_id,
        project_domain_id=base.project_domain_id,
        roles=tuple(grants.role_pairs(session, role_ids)),
        app_cred_id=app_cred_id,
        access_rules=rules,
        oauth=oauth,
    )


def _authenticate(
    deps: Deps,
    body: Mapping[str, object],
    check: Callable[[str, Mapping[str, object]], None],
) -> IssuedToken:
    creds = _credentials(body)
    cred_id = credentials.hash_access_key(str(creds["access"]))
    with deps.db.reader() as session:
        cred = session.get(models.Credential, cred_id)
        if cred is None or cred.type != credentials.EC2:
            raise NotFound("EC2 access key not found.")
        blob = json.loads(credentials.decrypt(deps.credential_keys, cred.encrypted_blob))
        check(str(blob.get("secret") or ""), creds)
        payload = _payload(deps, session, cred, blob)
    _check_timestamp(deps, creds)
    if payload.trust is not None:
        trusts.consume_use(deps, payload.trust.id)
    return IssuedToken(id=deps.codec.encode(payload), token=tokens.describe(deps, payload))


def _ec2_check(secret: str, creds: Mapping[str, object]) -> None:
    given = creds.get("signature")
    if not given:
        raise Unauthorized("EC2 signature not supplied.")
    if hmac.compare_digest(str(given), ec2_signature(secret, creds)):
        return
    host = str(creds.get("host") or "")
    if ":" in host:
        # Some clients sign without the port.
        bare = {**creds, "host": host.rsplit(":", 1)[0]}
        if hmac.compare_digest(str(given), ec2_signature(secret, bare)):
            return
    raise Unauthorized("Invalid EC2 signature.")


def _s3_check(secret: str, creds: Mapping[str, object]) -> None:
    try:
        string_to_sign = base64.urlsafe_b64decode(str(creds.get("token") or ""))
    except (binascii.Error, ValueError):
        raise Unauthorized("Credential signature mismatch") from None
    if not hmac.compare_digest(
        str(creds.get("signature") or ""), s3_signature(secret, string_to_sign)
    ):
        raise Unauthorized("Credential signature mismatch")


def ec2tokens(deps: Deps, ctx: RequestContext, body: Mapping[str, object]) -> IssuedToken:
    enforce(ctx, "identity:ec2tokens_validate", {})
    return _authenticate(deps, body, _ec2_check)


def s3tokens(deps: Deps, ctx: RequestContext, body: Mapping[str, object]) -> IssuedToken:
    enforce(ctx, "identity:s3tokens_validate", {})
    return _authenticate(deps, body, _s3_check)
