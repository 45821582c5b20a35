# The "Examples" dashboard (Horizon's pluggable settings: openstack_dashboard/enabled/).
DASHBOARD = "tinystack_example"
ADD_INSTALLED_APPS = ["tinystack_example"]
DISABLED = False
