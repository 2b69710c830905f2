from tests.binder.fixtures import binder_env  # noqa: F401
