"""Every placement request body as a pydantic model (JSON-Schema-like: strict, no extra keys).

Bodies changed over the microversions; a handler picks the model of its version
(``PutV1_12``, ``ConsumerV1_38``, ...) and validates with ``req.body(Model)``, so the
400s keep upstream's jsonschema wording. The route table declares each write route's
models (:func:`request_body`) so ``/openapi.json`` describes every body.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from tinystack.common.exceptions import BadRequest
from tinystack.placement.api import params
from tinystack.placement.services.inventory import Inventory
from tinystack.placement.services.rows import MAX_FLOAT, MAX_INT


class Body(BaseModel):
    """A request body: unknown keys and loose types are a 400, as upstream's schemas."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _uuid(value: str) -> str:
    if not params.is_uuid_like(value):
        raise ValueError(f"'{value}' is not a 'uuid'")
    return value


Uuid = Annotated[str, AfterValidator(_uuid)]
#: a provider uuid as a key of an allocations object
UuidKey = Annotated[str, Field(pattern=params.UUID_PATTERN)]
ResourceClassName = Annotated[str, Field(pattern=params.RC_PATTERN)]
CustomName = Annotated[str, Field(pattern=params.CUSTOM_PATTERN, max_length=255)]
ConsumerType = Annotated[
    str, Field(pattern=params.CONSUMER_TYPE_PATTERN, min_length=1, max_length=255)
]
ExternalId = Annotated[str, Field(min_length=1, max_length=255)]
Amount = Annotated[int, Field(ge=1)]
Generation = int
BoundedInt = Annotated[int, Field(le=MAX_INT)]
Ratio = Annotated[float, Field(le=MAX_FLOAT)]
#: request group suffix (``""``: the unsuffixed group) -> providers (1.34; accepted, ignored)
Mappings = Annotated[dict[str, Annotated[list[Uuid], Field(min_length=1)]], Field(min_length=1)]


# -- validation, worded as upstream's jsonschema errors ------------------------------------
M = TypeVar("M")
_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def validate(schema: type[M], data: Any) -> M:
    """``data`` as ``schema`` (a model, or any type pydantic validates); 400 if it is not."""
    try:
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            return schema.model_validate(data)
        result: M = _adapter(schema).validate_python(data, strict=True)
        return result
    except ValidationError as exc:
        raise BadRequest(f"JSON does not validate: {_describe(exc)}") from None


def _adapter(schema: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(schema)
    if adapter is None:
        adapter = _ADAPTERS[schema] = TypeAdapter(schema)
    return adapter


_JSON_TYPES = {
    "int": "integer",
    "float": "number",
    "string": "string",
    "list": "array",
    "dict": "object",
    "model": "object",
    "bool": "boolean",
}


def _jsonschema_message(err: Any) -> str:
    """One pydantic error, worded as the jsonschema error upstream Placement reports."""
    kind, value, ctx = err.get("type", ""), err.get("input"), err.get("ctx") or {}
    loc = err.get("loc", ())
    if kind == "missing":
        return f"'{loc[-1]}' is a required property\n\nFailed validating 'required' in schema"
    if kind == "extra_forbidden":
        return (
            f"Additional properties are not allowed ('{loc[-1]}' was unexpected)\n\n"
            "Failed validating 'additionalProperties' in schema"
        )
    if kind == "value_error" and "is not a 'uuid'" in str(err.get("msg")):
        return f"{value!r} is not a 'uuid'\n\nFailed validating 'format' in schema"
    if kind == "string_pattern_mismatch":
        if loc and loc[-1] == "[key]":
            return (
                f"'{value}' does not match any of the regexes\n\n"
                "Failed validating 'additionalProperties' in schema"
            )
        return f"{value!r} does not match {ctx.get('pattern')!r}\n\nFailed validating 'pattern'"
    if kind == "string_too_short":
        return f"{value!r} is too short\n\nFailed validating 'minLength' in schema"
    if kind == "string_too_long":
        return f"{value!r} is too long\n\nFailed validating 'maxLength' in schema"
    if kind == "too_short":
        if isinstance(value, dict):
            return f"{value} does not have enough properties\n\nFailed validating 'minProperties'"
        return f"{value} should be non-empty\n\nFailed validating 'minItems' in schema"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return (
            f"{value} is less than the minimum of {bound}\n\n"
            f"Failed validating 'minimum' in {_schema_path(loc)}"
        )
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return (
            f"{value} is greater than the maximum of {bound}\n\n"
            "Failed validating 'maximum' in schema"
        )
    if kind.endswith("_type") or kind in ("model_attributes_type", "dict_type"):
        wanted = _JSON_TYPES.get(kind.split("_")[0], "object")
        return f"{value!r} is not of type '{wanted}'\n\nFailed validating 'type' in schema"
    where = ".".join(str(p) for p in loc)
    return f"{where}: {err.get('msg')}" if where else str(err.get("msg"))


def _schema_path(loc: tuple[Any, ...]) -> str:
    return "schema" + "".join(f"['properties']['{p}']" for p in loc if isinstance(p, str))


def _describe(exc: ValidationError) -> str:
    return _jsonschema_message(exc.errors()[0])


# -- resource_providers --------------------------------------------------------------
ProviderName = Annotated[str, Field(min_length=1, max_length=200)]


class CreateProvider(Body):
    name: ProviderName
    uuid: Uuid | None = None


class CreateProviderV1_14(CreateProvider):
    parent_provider_uuid: Uuid | None = None


class UpdateProvider(Body):
    name: ProviderName


class UpdateProviderV1_14(UpdateProvider):
    parent_provider_uuid: Uuid | None = None


# -- inventories ---------------------------------------------------------------------
Positive = Annotated[BoundedInt, Field(ge=1)]
NonNegative = Annotated[BoundedInt, Field(ge=0)]


class InventoryFields(Body):
    total: Positive
    reserved: NonNegative = 0
    min_unit: Positive = 1
    max_unit: Positive = MAX_INT
    step_size: Positive = 1
    allocation_ratio: Ratio = 1.0
    #: accepted (and ignored) inside each record of PUT .../inventories, as upstream
    resource_provider_generation: Generation | None = None

    def to_inventory(self, resource_class: str) -> Inventory:
        return Inventory(
            resource_class=resource_class,
            total=self.total,
            reserved=self.reserved,
            min_unit=self.min_unit,
            max_unit=self.max_unit,
            step_size=self.step_size,
            allocation_ratio=self.allocation_ratio,
        )


class CreateInventory(InventoryFields):
    resource_class: ResourceClassName


class UpdateInventory(InventoryFields):
    resource_provider_generation: Generation


class SetInventories(Body):
    resource_provider_generation: Generation
    inventories: dict[ResourceClassName, InventoryFields]


# -- aggregates ----------------------------------------------------------------------
def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("has non-unique elements")
    return values


AggregateList = Annotated[list[Uuid], AfterValidator(_unique)]


class SetAggregates(Body):
    aggregates: AggregateList
    resource_provider_generation: Generation


# -- resource_classes ----------------------------------------------------------------
class ResourceClassBody(Body):
    name: CustomName


# -- traits --------------------------------------------------------------------------
TraitName = Annotated[str, Field(min_length=1, max_length=255)]


class SetProviderTraits(Body):
    traits: list[TraitName]
    resource_provider_generation: Generation


# -- allocations ---------------------------------------------------------------------
Resources = Annotated[dict[ResourceClassName, Amount], Field(min_length=1)]


class ProviderRef(Body):
    uuid: Uuid


class ListAllocation(Body):
    resource_provider: ProviderRef
    resources: Resources


class PutV1_0(Body):
    allocations: Annotated[list[ListAllocation], Field(min_length=1)]


class PutV1_8(PutV1_0):
    project_id: ExternalId
    user_id: ExternalId


class ProviderAllocation(Body):
    generation: int | None = None
    resources: Resources


class PutV1_12(Body):
    allocations: Annotated[dict[UuidKey, ProviderAllocation], Field(min_length=1)]
    project_id: ExternalId
    user_id: ExternalId


class ConsumerV1_13(Body):
    """One consumer in POST /allocations (and the reshaper); empty allocations delete."""

    allocations: dict[UuidKey, ProviderAllocation]
    project_id: ExternalId
    user_id: ExternalId


class ConsumerV1_28(ConsumerV1_13):
    consumer_generation: int | None


class ConsumerV1_34(ConsumerV1_28):
    mappings: Mappings | None = None


class ConsumerV1_38(ConsumerV1_34):
    consumer_type: ConsumerType


POST_SCHEMAS: dict[type[ConsumerV1_13], object] = {
    schema: Annotated[dict[UuidKey, schema], Field(min_length=1)]  # type: ignore[valid-type]
    for schema in (ConsumerV1_13, ConsumerV1_28, ConsumerV1_34, ConsumerV1_38)
}


# -- reshaper ------------------------------------------------------------------------
Inventories = Annotated[dict[UuidKey, SetInventories], Field(min_length=1)]


class ReshapeV1_30(Body):
    inventories: Inventories
    allocations: dict[UuidKey, ConsumerV1_28]


class ReshapeV1_34(ReshapeV1_30):
    allocations: dict[UuidKey, ConsumerV1_34]  # type: ignore[assignment]


class ReshapeV1_38(ReshapeV1_30):
    allocations: dict[UuidKey, ConsumerV1_38]  # type: ignore[assignment]


# -- what each write route accepts (every version's model), for /openapi.json --------------
PROVIDER_CREATE = (CreateProvider, CreateProviderV1_14)
PROVIDER_UPDATE = (UpdateProvider, UpdateProviderV1_14)
AGGREGATES_SET = (AggregateList, SetAggregates)
ALLOCATIONS_PUT = (PutV1_0, PutV1_8, PutV1_12, ConsumerV1_28, ConsumerV1_34, ConsumerV1_38)
ALLOCATIONS_POST = tuple(POST_SCHEMAS.values())
RESHAPE = (ReshapeV1_30, ReshapeV1_34, ReshapeV1_38)


def request_body(models: tuple[object, ...], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` describing a body that any of ``models`` accepts (one per version).

    The handler validates the body itself (after authorizing, with the model of its
    version, answering upstream's 400s), so FastAPI only documents it.
    """
    shape: Any = models[0] if len(models) == 1 else Union[models]  # noqa: UP007
    schema = _inline(TypeAdapter(shape).json_schema(), {})
    content = {"application/json": {"schema": schema}}
    return {"requestBody": {"required": required, "content": content}}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with its ``$defs`` references replaced by what they name."""
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$defs" in node:
        defs = {**defs, **node["$defs"]}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _inline(defs[ref.removeprefix("#/$defs/")], defs)
    return {key: _inline(value, defs) for key, value in node.items() if key != "$defs"}
