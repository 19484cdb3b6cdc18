from django.urls import path

from casebridge.outcomes import views

app_name = "outcomes"
urlpatterns = [
    path("<int:case_id>/assessments/<slug:category>/", views.assessment_add, name="assess"),
    path("<int:case_id>/follow-up/consent/", views.follow_up_plan, name="plan"),
    path("<int:case_id>/follow-up/withdrawal/", views.follow_up_withdraw, name="withdraw"),
    path("<int:case_id>/follow-ups/", views.follow_up_add, name="add"),
    path(
        "<int:case_id>/follow-ups/<int:follow_up_id>/result/",
        views.follow_up_result,
        name="result",
    ),
]
