"""Home visits: assignments, Today, visits with onboarding status, follow-ups, progress."""
