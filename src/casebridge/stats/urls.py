from django.urls import path

from casebridge.stats import views

app_name = "stats"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("partnership/", views.partnership, name="partnership"),
]
