"""Keystone-to-Keystone federation with SAML 2.0.

As an identity provider this cloud turns a project-scoped token into a signed SAML 2.0
Response (``/v3/auth/OS-FEDERATION/saml2``), the same wrapped in an ECP SOAP envelope
(``.../saml2/ecp``) and publishes its metadata (``/v3/OS-FEDERATION/saml2/metadata``).
The key pair is ``[saml] keyfile/certfile``, created on first start when absent.

As a service provider it accepts such a Response (or the ECP envelope holding it) when
its issuer is listed in ``[federation] saml2_idp_certificate`` (or described by the
metadata a ``saml2_idp_metadata_url`` publishes, ``backends/saml_metadata.py``) and the
XML signature verifies against that certificate, the audience is this cloud's federated auth URL and
the assertion has not expired and was not used before (a replay cache keyed by issuer
and assertion ID, kept in the database until the assertion expires); its attributes
then go through the protocol's mapping like any other federated assertion.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, VerifyResult, XMLVerifier
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.exceptions import Forbidden, NotFound, Unauthorized, ValidationError
from tinystack.common.timeutils import new_hex_id, utcnow
from tinystack.identity import models
from tinystack.identity.services import federation, tokens
from tinystack.identity.services.deps import Deps

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
ECP = "urn:oasis:names:tc:SAML:2.0:profiles:SSO:ecp"
ENTITY = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
URI_FORMAT = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
NSMAP = {"samlp": SAMLP, "saml": SAML, "ds": DS, "xs": XS, "xsi": XSI}
#: ECP RelayState, as Keystone's generator marks it
SOAP_ACTOR = "http://schemas.xmlsoap.org/soap/actor/next"
FED = "/v3/OS-FEDERATION"
#: what a verified assertion may be signed with
_VERIFY_CONFIG = SignatureConfiguration(
    signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)


def setup_keys(certfile: Path, keyfile: Path) -> bool:
    """Create a self-signed RSA signing pair when absent (as ``keystone-manage`` users
    do by hand with openssl); False when both files exist."""
    if certfile.exists() and keyfile.exists():
        return False
    keyfile.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    certfile.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tinystack saml idp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    tmp_key = keyfile.with_suffix(".tmp")
    tmp_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    tmp_key.chmod(0o600)
    tmp_key.replace(keyfile)
    tmp_cert = certfile.with_suffix(".tmp")
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tmp_cert.replace(certfile)
    return True


def entity_id(deps: Deps, base_url: str) -> str:
    return deps.opts.saml_idp_entity_id or f"{base_url}{FED}/saml2/idp"


def _cert_body(deps: Deps) -> str:
    pem = deps.opts.saml_certfile.read_text()
    return "".join(line for line in pem.splitlines() if "-----" not in line)


def _el(parent: etree._Element, ns: str, tag: str, text: str | None = None) -> etree._Element:
    node = etree.SubElement(parent, f"{{{ns}}}{tag}")
    if text is not None:
        node.text = text
    return node


def _iso(when: datetime.datetime) -> str:
    """``when`` (naive means UTC, as utcnow) in SAML's UTC form."""
    if when.tzinfo is not None:
        when = when.astimezone(datetime.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- identity provider --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Saml2Assertion:
    """A signed SAML 2.0 Response and the service provider it is for."""

    xml: bytes
    relay_state_prefix: str
    sp_url: str
    auth_url: str


@dataclass(frozen=True, slots=True)
class _Subject:
    user: str
    user_domain: str
    project: str
    project_domain: str
    roles: tuple[str, ...]
    #: ``JSON:{"name": ..., "domain": {"name": ...}}`` per group, as upstream
    groups: tuple[str, ...]


def _subject(deps: Deps, token_id: str) -> _Subject:
    payload = deps.codec.decode(token_id, allow_expired_window=0)
    if deps.revocations.is_revoked(payload):
        raise NotFound("Could not recognize Fernet token")
    if not payload.project_id:
        raise Forbidden(
            "You are not authorized to perform the requested action: Use a project scoped "
            "token when attempting to create a SAML assertion."
        )
    token = tokens.describe(deps, payload, with_catalog=False)
    assert token.project is not None
    with deps.db.reader() as session:
        member = models.UserGroupMembership
        groups = session.execute(
            select(models.Group.name, models.Domain.name)
            .join(member, member.group_id == models.Group.id)
            .join(models.Domain, models.Domain.id == models.Group.domain_id)
            .where(member.user_id == payload.user_id)
            .order_by(models.Group.name)
        ).all()
    return _Subject(
        user=token.user.name,
        user_domain=token.user.domain_name or "",
        project=token.project.name,
        project_domain=token.project.domain_name or "",
        roles=tuple(name for _rid, name in payload.roles),
        groups=tuple(
            "JSON:" + json.dumps({"name": group, "domain": {"name": domain}})
            for group, domain in groups
        ),
    )


def _attributes(parent: etree._Element, subject: _Subject) -> None:
    statement = _el(parent, SAML, "AttributeStatement")
    values: list[tuple[str, tuple[str, ...]]] = [
        ("openstack_user", (subject.user,)),
        ("openstack_user_domain", (subject.user_domain,)),
        ("openstack_roles", subject.roles),
        ("openstack_project", (subject.project,)),
        ("openstack_project_domain", (subject.project_domain,)),
    ]
    if subject.groups:
        values.append(("openstack_groups", subject.groups))
    for name, items in values:
        attribute = _el(statement, SAML, "Attribute")
        attribute.set("Name", name)
        attribute.set("NameFormat", URI_FORMAT)
        for item in items:
            value = _el(attribute, SAML, "AttributeValue", item)
            value.set(f"{{{XSI}}}type", "xs:string")


def _assertion(
    issuer: str, sp: federation.ServiceProvider, subject: _Subject, lifetime: int
) -> etree._Element:
    now = _iso(utcnow())
    expires = _iso(utcnow() + datetime.timedelta(seconds=lifetime))
    assertion = etree.Element(f"{{{SAML}}}Assertion", nsmap=NSMAP)
    assertion.set("ID", "_" + new_hex_id())
    assertion.set("IssueInstant", now)
    assertion.set("Version", "2.0")
    _el(assertion, SAML, "Issuer", issuer).set("Format", ENTITY)
    _el(assertion, DS, "Signature").set("Id", "placeholder")
    subject_el = _el(assertion, SAML, "Subject")
    _el(subject_el, SAML, "NameID", subject.user).set(
        "Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
    )
    confirmation = _el(subject_el, SAML, "SubjectConfirmation")
    confirmation.set("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
    data = _el(confirmation, SAML, "SubjectConfirmationData")
    data.set("NotOnOrAfter", expires)
    data.set("Recipient", sp.sp_url)
    conditions = _el(assertion, SAML, "Conditions")
    conditions.set("NotOnOrAfter", expires)
    _el(_el(conditions, SAML, "AudienceRestriction"), SAML, "Audience", sp.auth_url)
    authn = _el(assertion, SAML, "AuthnStatement")
    authn.set("AuthnInstant", now)
    authn.set("SessionIndex", new_hex_id())
    authn.set("SessionNotOnOrAfter", expires)
    context = _el(authn, SAML, "AuthnContext")
    _el(context, SAML, "AuthnContextClassRef", "urn:oasis:names:tc:SAML:2.0:ac:classes:Password")
    _el(context, SAML, "AuthenticatingAuthority", issuer)
    _attributes(assertion, subject)
    return assertion


def create_assertion(deps: Deps, base_url: str, token_id: str, sp_id: str) -> Saml2Assertion:
    """A signed Response for the holder of ``token_id`` (404 for an unknown token or
    service provider, 403 for a disabled one or an unscoped token)."""
    sp = federation.get_sp(deps, sp_id)
    if not sp.enabled:
        raise Forbidden(f"Service Provider {sp_id} is disabled.")
    subject = _subject(deps, token_id)
    issuer = entity_id(deps, base_url)
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    unsigned = _assertion(issuer, sp, subject, deps.opts.saml_assertion_expiration_time)
    signed = signer.sign(
        unsigned,
        key=deps.opts.saml_keyfile.read_bytes(),
        cert=deps.opts.saml_certfile.read_text(),
        reference_uri=unsigned.get("ID"),
    )
    response = etree.Element(f"{{{SAMLP}}}Response", nsmap=NSMAP)
    response.set("ID", "_" + new_hex_id())
    response.set("IssueInstant", _iso(utcnow()))
    response.set("Version", "2.0")
    response.set("Destination", sp.sp_url)
    _el(response, SAML, "Issuer", issuer).set("Format", ENTITY)
    status = _el(response, SAMLP, "Status")
    _el(status, SAMLP, "StatusCode").set("Value", "urn:oasis:names:tc:SAML:2.0:status:Success")
    response.append(signed)
    return Saml2Assertion(
        xml=etree.tostring(response, xml_declaration=True, encoding="UTF-8"),
        relay_state_prefix=sp.relay_state_prefix,
        sp_url=sp.sp_url,
        auth_url=sp.auth_url,
    )


def ecp_envelope(assertion: Saml2Assertion) -> bytes:
    """The Response in a SOAP envelope whose header carries the ECP RelayState."""
    envelope = etree.Element(f"{{{SOAP}}}Envelope", nsmap={"soap11": SOAP, "ecp": ECP})
    header = _el(envelope, SOAP, "Header")
    relay = _el(header, ECP, "RelayState", assertion.relay_state_prefix + new_hex_id())
    relay.set(f"{{{SOAP}}}actor", SOAP_ACTOR)
    relay.set(f"{{{SOAP}}}mustUnderstand", "1")
    body = _el(envelope, SOAP, "Body")
    body.append(etree.fromstring(assertion.xml))
    return bytes(etree.tostring(envelope, xml_declaration=True, encoding="UTF-8"))


def metadata(deps: Deps, base_url: str) -> bytes:
    """The IdP's EntityDescriptor: entity id, signing certificate, SSO endpoint."""
    descriptor = etree.Element(f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS})
    descriptor.set("entityID", entity_id(deps, base_url))
    idp = _el(descriptor, MD, "IDPSSODescriptor")
    idp.set("protocolSupportEnumeration", SAMLP)
    key = _el(idp, MD, "KeyDescriptor")
    key.set("use", "signing")
    x509_data = _el(_el(key, DS, "KeyInfo"), DS, "X509Data")
    _el(x509_data, DS, "X509Certificate", _cert_body(deps))
    _el(idp, MD, "NameIDFormat", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient")
    sso = _el(idp, MD, "SingleSignOnService")
    sso.set("Binding", "urn:oasis:names:tc:SAML:2.0:bindings:URI")
    sso.set("Location", deps.opts.saml_idp_sso_endpoint or f"{base_url}{FED}/saml2/sso")
    return bytes(etree.tostring(descriptor, xml_declaration=True, encoding="UTF-8"))


# -- service provider ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedAssertion:
    issuer: str
    name_id: str
    attributes: dict[str, list[str]]


def _parse(document: bytes) -> etree._Element:
    if not document:
        raise ValidationError("Expecting a SAML 2.0 Response or an ECP envelope in the body.")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(document, parser=parser)
    except etree.XMLSyntaxError as err:
        raise ValidationError(f"The SAML 2.0 document is not valid XML: {err}") from err
    found = root.find(f".//{{{SAML}}}Assertion")
    if found is None:
        raise Unauthorized("Could not find a SAML 2.0 assertion in the request.")
    return found


def issuer_of(document: bytes) -> str:
    """The (not yet verified) issuer of the assertion a document holds."""
    return (_parse(document).findtext(f"{{{SAML}}}Issuer") or "").strip()


def _certificate(deps: Deps, issuer: str) -> str:
    for trusted, path in deps.opts.saml2_idp_certificates:
        if trusted == issuer:
            return path.read_text()
    urls = deps.opts.saml2_idp_metadata_urls
    published = deps.saml_metadata.certificate(urls, issuer) if urls else None
    if published is not None:
        return published
    raise Unauthorized(f"SAML 2.0 issuer {issuer} is not a trusted identity provider.")


def _expires(value: str | None) -> datetime.datetime:
    if not value:
        raise Unauthorized("The SAML 2.0 assertion has no expiry.")
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise Unauthorized("The SAML 2.0 assertion's expiry is not a date.") from err
    if when.tzinfo is not None:
        when = when.astimezone(datetime.UTC).replace(tzinfo=None)
    return when  # naive UTC, as utcnow


def verify(deps: Deps, document: bytes, audience: str) -> VerifiedAssertion:
    """The issuer, subject and attributes of a signed assertion (401 unless its issuer is
    trusted, its signature verifies, ``audience`` is its audience and it has not expired).
    Only the signed bytes are read, so nothing outside the signature can inject claims."""
    assertion = _parse(document)
    issuer = assertion.findtext(f"{{{SAML}}}Issuer") or ""
    cert = _certificate(deps, issuer.strip())
    try:
        result = XMLVerifier().verify(
            etree.tostring(assertion), x509_cert=cert, expect_config=_VERIFY_CONFIG
        )
    except (InvalidSignature, InvalidInput) as err:
        raise Unauthorized(f"The SAML 2.0 assertion's signature is not valid: {err}") from err
    if not isinstance(result, VerifyResult):
        raise Unauthorized("The SAML 2.0 assertion must carry exactly one signature.")
    signed = result.signed_xml
    if signed is None or signed.tag != f"{{{SAML}}}Assertion":
        raise Unauthorized("The signature of the SAML 2.0 assertion does not cover it.")
    conditions = signed.find(f"{{{SAML}}}Conditions")
    if conditions is None or _expires(conditions.get("NotOnOrAfter")) <= utcnow():
        raise Unauthorized("The SAML 2.0 assertion has expired.")
    audiences = [a.text for a in conditions.iter(f"{{{SAML}}}Audience")]
    if audience not in audiences:
        raise Unauthorized(f"The SAML 2.0 assertion is not meant for {audience}.")
    _remember(
        deps, issuer.strip(), signed.get("ID") or "", _expires(conditions.get("NotOnOrAfter"))
    )
    attributes: dict[str, list[str]] = {}
    for attribute in signed.iter(f"{{{SAML}}}Attribute"):
        values = [v.text or "" for v in attribute.iter(f"{{{SAML}}}AttributeValue")]
        attributes[attribute.get("Name") or ""] = values
    name_id = signed.findtext(f"{{{SAML}}}Subject/{{{SAML}}}NameID") or ""
    return VerifiedAssertion(issuer=issuer.strip(), name_id=name_id, attributes=attributes)


def _remember(deps: Deps, issuer: str, assertion_id: str, expires: datetime.datetime) -> None:
    """The replay cache: an assertion is accepted once (by its issuer and signed ``ID``),
    remembered until it expires; a second use is a 401, even from another process of
    this cloud or after a restart."""
    if not assertion_id:
        raise Unauthorized("The SAML 2.0 assertion has no ID.")

    def tx(session: Session) -> bool:
        now = utcnow()
        session.execute(
            delete(models.SamlAssertionSeen).where(models.SamlAssertionSeen.expires_at <= now)
        )
        if session.get(models.SamlAssertionSeen, (issuer, assertion_id)) is not None:
            return False
        session.add(
            models.SamlAssertionSeen(issuer=issuer, assertion_id=assertion_id, expires_at=expires)
        )
        return True

    try:
        fresh = deps.db.write(tx)
    except IntegrityError:  # the same assertion, accepted meanwhile by a concurrent request
        fresh = False
    if not fresh:
        raise Unauthorized(f"The SAML 2.0 assertion {assertion_id} has been used already.")


def idp_for_issuer(deps: Deps, issuer: str) -> str:
    """The identity provider whose remote ids name ``issuer`` (401 when none does)."""
    with deps.db.reader() as session:
        found = session.scalars(
            select(models.IdpRemoteId.idp_id).where(models.IdpRemoteId.remote_id == issuer)
        ).first()
    if found is None:
        raise Unauthorized(f"No identity provider has the remote id {issuer}.")
    return found
