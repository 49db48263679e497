from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "pawfile.ops"
    label = "ops"
    verbose_name = "Operations"
