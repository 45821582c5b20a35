from django.urls import re_path

from tinystack_example.servers import views

urlpatterns = [
    re_path(r"^$", views.IndexView.as_view(), name="index"),
]
