"""Metadata definition rules: ``/v2/metadefs`` (upstream's names and defaults).

The target of a rule is the namespace: ``project_id`` its owner, ``visibility``
its visibility (``services/_metadef_access.py`` builds it).
"""

from __future__ import annotations

from oslo_policy import policy

from tinystack.image.policies.base import (
    ADMIN,
    ADMIN_OR_PROJECT_READER,
    ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    rule,
)

METADEF_ADMIN = "rule:metadef_admin"
METADEF_DEFAULT = "rule:metadef_default"

GET_NAMESPACE = "get_metadef_namespace"
GET_NAMESPACES = "get_metadef_namespaces"
MODIFY_NAMESPACE = "modify_metadef_namespace"
ADD_NAMESPACE = "add_metadef_namespace"
DELETE_NAMESPACE = "delete_metadef_namespace"
GET_OBJECT = "get_metadef_object"
GET_OBJECTS = "get_metadef_objects"
MODIFY_OBJECT = "modify_metadef_object"
ADD_OBJECT = "add_metadef_object"
DELETE_OBJECT = "delete_metadef_object"
LIST_RESOURCE_TYPES = "list_metadef_resource_types"
GET_RESOURCE_TYPE = "get_metadef_resource_type"
ADD_RESOURCE_TYPE = "add_metadef_resource_type_association"
REMOVE_RESOURCE_TYPE = "remove_metadef_resource_type_association"
GET_PROPERTY = "get_metadef_property"
GET_PROPERTIES = "get_metadef_properties"
MODIFY_PROPERTY = "modify_metadef_property"
ADD_PROPERTY = "add_metadef_property"
REMOVE_PROPERTY = "remove_metadef_property"
GET_TAG = "get_metadef_tag"
GET_TAGS = "get_metadef_tags"
MODIFY_TAG = "modify_metadef_tag"
ADD_TAG = "add_metadef_tag"
ADD_TAGS = "add_metadef_tags"
DELETE_TAG = "delete_metadef_tag"
DELETE_TAGS = "delete_metadef_tags"

RULES = [
    policy.RuleDefault("metadef_default", "", description="Base metadef rule."),
    policy.RuleDefault("metadef_admin", ADMIN, description="Who administers metadefs."),
    rule(
        GET_NAMESPACE,
        ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
        "Show a namespace.",
        "GET",
        "/v2/metadefs/namespaces/{namespace_name}",
    ),
    rule(
        GET_NAMESPACES,
        ADMIN_OR_PROJECT_READER,
        "List namespaces.",
        "GET",
        "/v2/metadefs/namespaces",
    ),
    rule(
        MODIFY_NAMESPACE,
        METADEF_ADMIN,
        "Update a namespace.",
        "PUT",
        "/v2/metadefs/namespaces/{namespace_name}",
    ),
    rule(ADD_NAMESPACE, METADEF_ADMIN, "Create a namespace.", "POST", "/v2/metadefs/namespaces"),
    rule(
        DELETE_NAMESPACE,
        METADEF_ADMIN,
        "Delete a namespace.",
        "DELETE",
        "/v2/metadefs/namespaces/{namespace_name}",
    ),
    rule(
        GET_OBJECT,
        ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
        "Show an object.",
        "GET",
        "/v2/metadefs/namespaces/{namespace_name}/objects/{object_name}",
    ),
    rule(
        GET_OBJECTS,
        ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
        "List objects.",
        "GET",
        "/v2/metadefs/namespaces/{namespace_name}/objects",
    ),
    rule(
        MODIFY_OBJECT,
        METADEF_ADMIN,
        "Update an object.",
        "PUT",
        "/v2/metadefs/namespaces/{namespace_name}/objects/{object_name}",
    ),
    rule(
        ADD_OBJECT,
        METADEF_ADMIN,
        "Create an object.",
        "POST",
        "/v2/metadefs/namespaces/{namespace_name}/objects",
    ),
    rule(
        DELETE_OBJECT,
        METADEF_ADMIN,
        "Delete an object.",
        "DELETE",
        "/v2/metadefs/namespaces/{namespace_name}/objects/{object_name}",
    ),
    rule(
        LIST_RESOURCE_TYPES,
        ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
        "List resource types.",
        "GET",
        "/v2/metadefs/resource_types",
    ),
    rule(
        GET_RESOURCE_TYPE,
        ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
        "List a namespace's resource type associations.",
        "GET",
        "/v2/metadefs/namespaces/{namespace_name}/resource_types",
    ),
    rule(
        ADD_RESOURCE_TYPE,
        METADEF_ADMIN,
        "Associate a resource type.",
        "POST",
        "/v2/metadefs/namespaces/{namespace_name}/resource_types",
    ),
    rule(
        REMOVE_RESOURCE_TYPE,
        METADEF_ADMIN,
        "Remove an association.",
        "DELETE",
        "/v2/metadefs/namespaces/{namespace_name}/resource_types/{name}",
    ),
    rule(
        GET_PROPERTY,
        ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
        "Show a property.",
        "GET",
        "/v2/metadefs/namespaces/{namespace_name}/properties/{property_name}",
    ),
    rule(
        GET_PROPERTIES,
        ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
        "List properties.",
        "GET",
        "/v2/metadefs/namespaces/{namespace_name}/properties",
    ),
    rule(
        MODIFY_PROPERTY,
        METADEF_ADMIN,
        "Update a property.",
        "PUT",
        "/v2/metadefs/namespaces/{namespace_name}/properties/{property_name}",
    ),
    rule(
        ADD_PROPERTY,
        METADEF_ADMIN,
        "Create a property.",
        "POST",
        "/v2/metadefs/namespaces/{namespace_name}/properties",
    ),
    rule(
        REMOVE_PROPERTY,
        METADEF_ADMIN,
        "Delete a property.",
        "DELETE",
        "/v2/metadefs/namespaces/{namespace_name}/properties/{property_name}",
    ),
    rule(
        GET_TAG,
        ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
        "Show a tag.",
        "GET",
        "/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}",
    ),
    rule(
        GET_TAGS,
        ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
        "List tags.",
        "GET",
        "/v2/metadefs/namespaces/{namespace_name}/tags",
    ),
    rule(
        MODIFY_TAG,
        METADEF_ADMIN,
        "Update a tag.",
        "PUT",
        "/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}",
    ),
    rule(
        ADD_TAG,
        METADEF_ADMIN,
        "Create a tag.",
        "POST",
        "/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}",
    ),
    rule(
        ADD_TAGS,
        METADEF_ADMIN,
        "Create tags.",
        "POST",
        "/v2/metadefs/namespaces/{namespace_name}/tags",
    ),
    rule(
        DELETE_TAG,
        METADEF_ADMIN,
        "Delete a tag.",
        "DELETE",
        "/v2/metadefs/namespaces/{namespace_name}/tags/{tag_name}",
    ),
    rule(
        DELETE_TAGS,
        METADEF_ADMIN,
        "Delete every tag.",
        "DELETE",
        "/v2/metadefs/namespaces/{namespace_name}/tags",
    ),
]
