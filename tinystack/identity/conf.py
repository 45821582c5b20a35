"""Options of the ``[identity]`` section (and the ``[token]`` ones identity reads), typed.

:class:`Options` is read once when the service's :class:`~.services.deps.Deps` is built;
nothing else in identity reads ``conf.identity`` or ``conf.token``.
"""

from __future__ import annotations

from dataclasses import dataclass

from oslo_config import cfg

GROUP = "identity"

OPTS = [
    cfg.IntOpt(
        "password_hash_rounds",
        default=12,
        min=4,
        max=31,
        help="bcrypt cost factor for password and secret hashes.",
    ),
    cfg.IntOpt(
        "password_expires_days",
        default=0,
        min=0,
        help="Days until a new password expires (0: never).",
    ),
    cfg.StrOpt("policy_file", default="", help="A policy.yaml overriding the defaults."),
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
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group=GROUP)
    conf.register_opts(LIMIT_OPTS, group=LIMIT_GROUP)
    conf.register_opts(FEDERATION_OPTS, group=FEDERATION_GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(GROUP, OPTS), (LIMIT_GROUP, LIMIT_OPTS), (FEDERATION_GROUP, FEDERATION_OPTS)]


@dataclass(frozen=True, slots=True)
class Options:
    #: bcrypt cost factor of password and application credential secret hashes
    password_hash_rounds: int
    #: days until a new password expires; 0: never
    password_expires_days: int
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

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Options:
        group = conf.identity
        return cls(
            password_hash_rounds=int(group.password_hash_rounds),
            password_expires_days=int(group.password_expires_days),
            policy_file=str(group.policy_file or ""),
            token_expiration=int(conf.token.expiration),
            allow_expired_window=int(conf.token.allow_expired_window),
            limit_enforcement_model=str(conf.unified_limit.enforcement_model),
            oidc_audience=str(conf.federation.oidc_audience or ""),
            oidc_claim_prefix=str(conf.federation.oidc_claim_prefix or ""),
        )
