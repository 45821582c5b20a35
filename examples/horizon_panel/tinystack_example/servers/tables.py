from django.utils.translation import gettext_lazy as _
from horizon import tables


class ServersTable(tables.DataTable):
    name = tables.Column("name", verbose_name=_("Name"))
    status = tables.Column("status", verbose_name=_("Status"))
    created = tables.Column("created", verbose_name=_("Created"))
    zone = tables.Column("availability_zone", verbose_name=_("Availability Zone"))

    class Meta:
        name = "servers"
        verbose_name = _("Servers of this project")
