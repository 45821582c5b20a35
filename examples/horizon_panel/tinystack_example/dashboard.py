import horizon
from django.utils.translation import gettext_lazy as _


class Examples(horizon.Dashboard):
    name = _("Examples")
    slug = "tinystack_example"
    default_panel = "servers"


horizon.register(Examples)
