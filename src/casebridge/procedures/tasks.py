"""Background work of the procedures: a version whose last day has passed is retired."""

from django_tasks import task

from casebridge.procedures.services import retire_ended


@task()
def retire_ended_versions() -> int:
    return retire_ended()
