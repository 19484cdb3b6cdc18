from django.urls import path

from casebridge.training import views

app_name = "training"
urlpatterns = [
    path("", views.runs, name="runs"),
    path("runs/new/", views.run_create, name="run_create"),
    path("scenarios/<slug:code>/review/", views.scenario_review, name="scenario_review"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/join/", views.run_join, name="join"),
    path("runs/<int:run_id>/events/<int:number>/answer/", views.answer, name="answer"),
    path("runs/<int:run_id>/finish/", views.run_finish, name="finish"),
    path("runs/<int:run_id>/debrief/", views.debrief, name="debrief"),
]
