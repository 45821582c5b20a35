# The "Servers" panel of the "Examples" dashboard.
PANEL = "servers"
PANEL_DASHBOARD = "tinystack_example"
ADD_PANEL = "tinystack_example.servers.panel.Servers"
