import horizon
from django.utils.translation import gettext_lazy as _


class Servers(horizon.Panel):
    name = _("Servers")
    slug = "servers"
