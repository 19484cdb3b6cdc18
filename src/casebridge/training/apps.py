from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "casebridge.training"
    label = "training"
    verbose_name = "Role-play training"
