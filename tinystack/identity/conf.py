"""Options of the ``[identity]`` section (and the ``[token]`` ones identity reads), typed.

:class:`Options` is read once when the service's :class:`~.services.deps.Deps` is built;
nothing else in identity reads ``conf.identity`` or ``conf.token``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from oslo_config import cfg

from tinystack.common import config

GROUP = "identity"

OPTS = [
    cfg.IntOpt(
        "password_hash_rounds",
        default=12,
        min=4,
        max=31,
        help="bcrypt cost factor for password and secret hashes.",
    ),
    cfg.StrOpt("policy_file", default="", help="A policy.yaml overriding the defaults."),
    cfg.IntOpt(
        "list_limit",
        min=1,
        help="The most entries a list answers (with truncated: true beyond); unset: no limit.",
    ),
]

#: ``[security_compliance]``, Keystone's password and lockout rules (PCI-DSS)
SECURITY_GROUP = "security_compliance"
SECURITY_OPTS: list[cfg.Opt] = [
    cfg.IntOpt(
        "disable_user_account_days_inactive",
        min=1,
        help="Days without authenticating after which a user counts as disabled; unset: never.",
    ),
    cfg.IntOpt(
        "lockout_failure_attempts",
        min=1,
        help="Failed password authentications after which the user is locked; unset: never.",
    ),
    cfg.IntOpt(
        "lockout_duration",
        default=1800,
        min=1,
        help="Seconds a locked user stays locked (with lockout_failure_attempts).",
    ),
    cfg.IntOpt(
        "password_expires_days",
        min=0,
        deprecated_group=GROUP,
        help="Days until a new password expires; unset or 0: never.",
    ),
    cfg.IntOpt(
        "unique_last_password_count",
        default=0,
        min=0,
        help="How many of the last passwords (the new one included) a self-service "
        "change must differ from; 0 or 1: no history.",
    ),
    cfg.IntOpt(
        "minimum_password_age",
        default=0,
        min=0,
        help="Days a self-service password must be used before it may be changed again.",
    ),
    cfg.BoolOpt(
        "change_password_upon_first_use",
        default=False,
        help="A password an administrator sets (create or reset) is expired at once, "
        "so the user must change it.",
    ),
    cfg.StrOpt("password_regex", help="A regular expression every new password must match."),
    cfg.StrOpt(
        "password_regex_description",
        help="What password_regex requires, in words (shown when a password fails it).",
    ),
]

#: ``[unified_limit]``, as Keystone names it
LIMIT_GROUP = "unified_limit"
LIMIT_OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "enforcement_model",
        default="flat",
        choices=["flat", "strict_two_level"],
        help="How project and domain limits are validated against the project hierarchy.",
    ),
]

#: ``[federation]``
FEDERATION_GROUP = "federation"
FEDERATION_OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "oidc_audience",
        default="",
        help="The audience (client id) an OpenID Connect access token presented to "
        "/v3/OS-FEDERATION/.../protocols/<protocol>/auth must name; empty: not checked.",
    ),
    cfg.StrOpt(
        "oidc_claim_prefix",
        default="OIDC-",
        help="Each claim of a validated OpenID Connect token is offered to the mapping "
        "both as its own name and with this prefix (as mod_auth_openidc passes them).",
    ),
    cfg.MultiStrOpt(
        "saml2_idp_certificate",
        default=[],
        help="ENTITY_ID=PEM_PATH, repeatable: the signing certificate of a SAML 2.0 "
        "identity provider (a keystone IdP's [saml] certfile); an assertion is accepted "
        "only from an issuer listed here, signed by its certificate.",
    ),
    cfg.MultiStrOpt(
        "saml2_idp_metadata_url",
        default=[],
        help="URL of SAML 2.0 identity provider metadata, repeatable (a keystone IdP's "
        "/v3/OS-FEDERATION/saml2/metadata, as Shibboleth's MetadataProvider): every "
        "identity provider it describes is trusted with the signing certificate it "
        "publishes; re-read every few minutes. Use https (the metadata is not signed).",
    ),
]
#: upstream's ``[saml]`` (this cloud as a Keystone-to-Keystone identity provider)
SAML_GROUP = "saml"
SAML_OPTS: list[cfg.Opt] = [
    cfg.StrOpt(
        "idp_entity_id",
        default="",
        help="The entity id (Issuer) of the SAML assertions this cloud signs; default: "
        "<public identity URL>/v3/OS-FEDERATION/saml2/idp.",
    ),
    cfg.StrOpt(
        "idp_sso_endpoint",
        default="",
        help="The single sign-on URL the metadata names; default: "
        "<public identity URL>/v3/OS-FEDERATION/saml2/sso.",
    ),
    cfg.IntOpt(
        "assertion_expiration_time",
        default=3600,
        min=1,
        help="Seconds a SAML assertion this cloud signs stays valid (its NotOnOrAfter).",
    ),
    cfg.StrOpt(
        "certfile",
        default="",
        help="Signing certificate (PEM); default: <state_dir>/saml/cert.pem.",
    ),
    cfg.StrOpt(
        "keyfile", default="", help="Signing private key (PEM); default: <state_dir>/saml/key.pem."
    ),
]
#: upstream's [credential], [trust], [oauth1] and [endpoint_filter] options
DELEGATION_OPTS: dict[str, list[cfg.Opt]] = {
    "credential": [
        cfg.StrOpt(
            "key_repository",
            default="",
            help="Fernet keys encrypting credential blobs (not the token keys); "
            "default: <state_dir>/credential-keys.",
        ),
        cfg.IntOpt(
            "auth_ttl",
            default=15,
            help="Minutes a signed EC2 or S3 request is valid after its timestamp.",
        ),
        cfg.IntOpt(
            "user_limit",
            default=-1,
            help="Most credentials a user may create; -1: no limit.",
        ),
    ],
    "trust": [
        cfg.IntOpt(
            "max_redelegation_count",
            default=3,
            min=0,
            help="Longest chain of redelegated trusts.",
        ),
    ],
    "oauth1": [
        cfg.IntOpt(
            "request_token_duration",
            default=28800,
            min=0,
            help="Seconds an OAuth request token is valid; 0: forever.",
        ),
        cfg.IntOpt(
            "access_token_duration",
            default=86400,
            min=0,
            help="Seconds an OAuth access token is valid; 0: forever.",
        ),
    ],
    "endpoint_filter": [
        cfg.BoolOpt(
            "return_all_endpoints_if_no_filter",
            default=True,
            help="A project without endpoint filters sees the whole catalog (else none).",
        ),
    ],
}


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)
    conf.register_opts(SECURITY_OPTS, group=SECURITY_GROUP)
    conf.register_opts(LIMIT_OPTS, group=LIMIT_GROUP)
    conf.register_opts(FEDERATION_OPTS, group=FEDERATION_GROUP)
    conf.register_opts(SAML_OPTS, group=SAML_GROUP)
    for group, opts in DELEGATION_OPTS.items():
        conf.register_opts(opts, group=group)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [
        (GROUP, OPTS),
        (SECURITY_GROUP, SECURITY_OPTS),
        (LIMIT_GROUP, LIMIT_OPTS),
        (FEDERATION_GROUP, FEDERATION_OPTS),
        (SAML_GROUP, SAML_OPTS),
        *DELEGATION_OPTS.items(),
    ]


def _saml_idp_certificates(values: list[str]) -> tuple[tuple[str, Path], ...]:
    pairs: list[tuple[str, Path]] = []
    for value in values:
        entity_id, sep, path = value.rpartition("=")
        if not sep or not entity_id or not path:
            raise ValueError(f"[federation] saml2_idp_certificate needs ENTITY_ID=PATH: {value}")
        pairs.append((entity_id, Path(os.path.expanduser(path))))
    return tuple(pairs)


def credential_key_repository(conf: cfg.ConfigOpts) -> Path:
    if conf.credential.key_repository:
        return Path(os.path.expanduser(conf.credential.key_repository))
    return config.state_dir(conf) / "credential-keys"


@dataclass(frozen=True, slots=True)
class Compliance:
    """``[security_compliance]``: zero or None turns a rule off."""

    disable_user_account_days_inactive: int | None = None
    lockout_failure_attempts: int | None = None
    lockout_duration: int = 1800
    password_expires_days: int = 0
    unique_last_password_count: int = 0
    minimum_password_age: int = 0
    change_password_upon_first_use: bool = False
    password_regex: str | None = None
    password_regex_description: str | None = None

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Compliance:
        group = conf.security_compliance
        return cls(
            disable_user_account_days_inactive=group.disable_user_account_days_inactive,
            lockout_failure_attempts=group.lockout_failure_attempts,
            lockout_duration=int(group.lockout_duration),
            password_expires_days=int(group.password_expires_days or 0),
            unique_last_password_count=int(group.unique_last_password_count),
            minimum_password_age=int(group.minimum_password_age),
            change_password_upon_first_use=bool(group.change_password_upon_first_use),
            password_regex=group.password_regex or None,
            password_regex_description=group.password_regex_description,
        )


@dataclass(frozen=True, slots=True)
class Options:
    #: bcrypt cost factor of password and application credential secret hashes
    password_hash_rounds: int
    #: a policy.yaml overriding the defaults; "" for none
    policy_file: str
    #: token lifetime in seconds ([token] expiration)
    token_expiration: int
    #: seconds an expired token may still be fetched with allow_expired
    allow_expired_window: int
    #: "flat" or "strict_two_level" ([unified_limit] enforcement_model)
    limit_enforcement_model: str = "flat"
    #: [federation] oidc_audience ("": not checked) and oidc_claim_prefix
    oidc_audience: str = ""
    oidc_claim_prefix: str = "OIDC-"
    #: [federation] saml2_idp_certificate: (entity id, certificate path) pairs
    saml2_idp_certificates: tuple[tuple[str, Path], ...] = ()
    #: [federation] saml2_idp_metadata_url
    saml2_idp_metadata_urls: tuple[str, ...] = ()
    #: [saml] idp_entity_id and idp_sso_endpoint ("": derived from the public URL)
    saml_idp_entity_id: str = ""
    saml_idp_sso_endpoint: str = ""
    #: [saml] assertion_expiration_time (seconds)
    saml_assertion_expiration_time: int = 3600
    #: [saml] certfile and keyfile
    saml_certfile: Path = Path("saml/cert.pem")
    saml_keyfile: Path = Path("saml/key.pem")
    #: the most entries a list answers; None: no limit
    list_limit: int | None = None
    #: the credential key repository ([credential] key_repository)
    credential_key_repository: Path = Path("credential-keys")
    #: minutes a signed EC2 request stays valid ([credential] auth_ttl)
    credential_auth_ttl: int = 15
    #: the most credentials per user; -1: no limit ([credential] user_limit)
    credential_user_limit: int = -1
    #: [trust] max_redelegation_count: the longest chain of redelegated trusts
    trust_max_redelegation_count: int = 3
    #: seconds OAuth1 request and access tokens are valid; 0: forever
    oauth1_request_token_duration: int = 28800
    oauth1_access_token_duration: int = 86400
    #: [endpoint_filter] return_all_endpoints_if_no_filter
    return_all_endpoints_if_no_filter: bool = True
    #: [security_compliance]
    compliance: Compliance = Compliance()

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        group = conf.identity
        return cls(
            password_hash_rounds=int(group.password_hash_rounds),
            policy_file=str(group.policy_file or ""),
            token_expiration=int(conf.token.expiration),
            allow_expired_window=int(conf.token.allow_expired_window),
            limit_enforcement_model=str(conf.unified_limit.enforcement_model),
            oidc_audience=str(conf.federation.oidc_audience or ""),
            oidc_claim_prefix=str(conf.federation.oidc_claim_prefix or ""),
            saml2_idp_certificates=_saml_idp_certificates(
                list(conf.federation.saml2_idp_certificate or [])
            ),
            saml2_idp_metadata_urls=tuple(
                str(u) for u in conf.federation.saml2_idp_metadata_url or ()
            ),
            saml_idp_entity_id=str(conf.saml.idp_entity_id or ""),
            saml_idp_sso_endpoint=str(conf.saml.idp_sso_endpoint or ""),
            saml_assertion_expiration_time=int(conf.saml.assertion_expiration_time),
            saml_certfile=Path(
                os.path.expanduser(conf.saml.certfile or config.state_dir(conf) / "saml/cert.pem")
            ),
            saml_keyfile=Path(
                os.path.expanduser(conf.saml.keyfile or config.state_dir(conf) / "saml/key.pem")
            ),
            list_limit=group.list_limit,
            credential_key_repository=credential_key_repository(conf),
            credential_auth_ttl=int(conf.credential.auth_ttl),
            credential_user_limit=int(conf.credential.user_limit),
            trust_max_redelegation_count=int(conf.trust.max_redelegation_count),
            oauth1_request_token_duration=int(conf.oauth1.request_token_duration),
            oauth1_access_token_duration=int(conf.oauth1.access_token_duration),
            return_all_endpoints_if_no_filter=bool(
                conf.endpoint_filter.return_all_endpoints_if_no_filter
            ),
            compliance=Compliance.from_conf(conf),
        )
