from django.apps import AppConfig
from django.core.signals import request_finished


def _clear_log_context(**kwargs: object) -> None:
    # Bound by RequestIdMiddleware; kept until the response is closed so that Django's own
    # lines about the response (logged after the middleware returns) carry the request id.
    from pawfile.ops.logging import log_context_clear

    log_context_clear()


class OpsConfig(AppConfig):
    name = "pawfile.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from pawfile.ops import checks  # noqa: F401 - registers the deployment checks

        request_finished.connect(_clear_log_context, dispatch_uid="pawfile.ops.clear_log_context")
