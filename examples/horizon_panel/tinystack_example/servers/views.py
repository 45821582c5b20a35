from django.utils.translation import gettext_lazy as _
from horizon import exceptions, tables
from openstack_dashboard import api

from tinystack_example.servers import tables as server_tables


class IndexView(tables.DataTableView):
    table_class = server_tables.ServersTable
    template_name = "tinystack_example/servers/index.html"
    page_title = _("Servers")

    def get_data(self):
        try:
            servers, _more = api.nova.server_list(self.request)
        except Exception:
            servers = []
            exceptions.handle(self.request, _("Unable to retrieve servers."))
        return servers
