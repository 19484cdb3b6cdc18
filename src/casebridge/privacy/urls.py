from django.urls import path

from casebridge.privacy import views

app_name = "privacy"
urlpatterns = [
    path("requests/", views.requests, name="requests"),
    path("requests/<int:request_id>/", views.request_detail, name="request"),
    path("requests/<int:request_id>/search/", views.search, name="search"),
    path("requests/<int:request_id>/export/", views.export, name="export"),
    path("requests/<int:request_id>/<slug:name>/", views.step, name="step"),
]
