"""Identity v3 (Keystone): users, groups, projects, domains, roles, grants, the catalog,
application credentials and Fernet tokens; delegation (trusts, OAuth1, access rules),
credentials (EC2 too), endpoint filters and the policy API.

Layout (the one shape of every service, ARCHITECTURE.md):

- ``service.py``: ``SERVICE``; builds the one :class:`services.deps.Deps` (database,
  typed ``conf.Options``, the token codec, the revocation list, rendering caches), the
  app and the first-start bootstrap.
- ``conf.py``: the ``[identity]`` options and ``Options`` (with the ``[token]`` values
  identity reads); ``exception.py``: identity's errors; ``models.py``/``migrations/``:
  the tables; ``policies/``: upstream rule names, one module per resource.
- ``api/``: ``router.py`` is the route table; one handler module per resource
  (``auth``, ``catalog``, ``domains``, ``projects``, ``users``, ``groups``, ``roles``,
  ``grants``, ``role_assignments``, ``application_credentials``, ``access_rules``,
  ``trusts``, ``oauth1``, ``credentials`` (with OS-EC2, ec2tokens and s3tokens),
  ``endpoint_filters``, ``policies`` (with OS-ENDPOINT-POLICY), ``revoke``,
  ``versions``); ``schemas.py`` and ``delegation_schemas.py`` hold the request bodies
  (unknown attributes of most resources become Keystone's ``extra``), ``views.py``
  renders records as Keystone's JSON, ``deps.py`` gives handlers ``DepsDep`` and
  ``authorize``; ``errors.py`` answers database errors caused by the input with 400/409.
- ``services/``: one module per resource, each function owning its transaction and
  returning frozen records (``records.py``; ``convert.py`` is where rows become
  records). ``tokens.py`` authenticates and describes tokens (names and the catalog
  cached in ``Deps``), ``grants.py`` grants roles and computes effective ones,
  ``revoke.py`` persists revocation events and feeds the in-memory list every
  validator checks. ``trusts.py`` and ``oauth1.py`` also scope tokens (a trust's or an
  access token's user, project and roles, carried in ``TokenPayload.trust``/``.oauth``);
  ``credentials.py`` encrypts blobs with the credential key repository
  (``tinystack identity credential-setup/-rotate/-migrate``); ``ec2tokens.py`` turns
  signed EC2/S3 requests (``ec2_signature.py``) into tokens; ``projects_as_domains.py``
  routes the projects API to domains for ``is_domain``; ``delegation.py`` drops what a
  deleted user or project owned. Handlers authorize what the request names (creates, lists); the
  service layer authorizes what it must load first (``access.py``: upstream's
  targets for users, groups, projects, roles, grants and subject tokens).
- Domain-specific configuration and directories: ``services/domain_configs.py``
  (``/v3/domains/{id}/config``, the ``identity`` and ``ldap`` groups) and
  ``services/directory.py`` (a domain with ``identity.driver = ldap``: public ids by
  ``id_mapping``, shadow rows, password binds) over ``backends/ldap.py`` (ldap3, no DB).
- Unified limits: ``services/limits.py`` (registered limits, limits, the enforcement
  model); compute and image read them through ``common/clients/limits.py``.
- Federation: ``services/federation.py`` (providers, protocols, mappings, service
  providers), ``services/mapping_rules.py`` (the mapping language),
  ``services/federated_auth.py`` (OpenID Connect bearer tokens, verified by
  ``backends/oidc.py``, or signed SAML 2.0 assertions, to an unscoped token with
  ``OS-FEDERATION``), ``services/saml2.py`` + ``api/saml2.py`` (Keystone-to-Keystone:
  signed assertions, the ECP envelope and metadata as an identity provider; verifying
  them against ``[federation] saml2_idp_certificate`` as a service provider).
- Multi-factor authentication: ``services/mfa.py`` (the ``totp`` method, user MFA rules,
  auth receipts), hooked into ``services/tokens.py``.
- Security compliance: ``services/compliance.py`` (Keystone's ``[security_compliance]``:
  lockout, password regex, history, minimum age, expiry, change upon first use,
  inactive users; the ``password_expires_at`` filter), used by ``services/users.py``
  for new passwords and by ``services/tokens.py`` for the ``password`` method.

Worked example, a token validation: ``GET /v3/auth/tokens`` → ``api/auth.validate_token``
→ ``services/tokens.validate`` (Fernet decode, revocation check, policy
``identity:validate_token`` on the token's user, then the cached names and catalog)
→ ``api/views.render_token``.
"""
