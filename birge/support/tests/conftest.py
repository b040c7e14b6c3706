from birge.plans.tests.conftest import _english, world  # noqa: F401  (the same child, conclusion and release)
