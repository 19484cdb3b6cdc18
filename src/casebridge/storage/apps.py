from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "casebridge.storage"
    label = "storage"
    verbose_name = "document storage"
