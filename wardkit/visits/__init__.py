"""Home visits: assignments, Today, visits with onboarding status, follow-ups, progress."""
from .views import bp  # noqa: F401
