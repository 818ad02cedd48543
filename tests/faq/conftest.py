import pytest

from calculator import services


@pytest.fixture
def catalog(db):
    """Every model and hardware profile from the reviewed data files."""
    services.models_load()
    services.hardware_load()


@pytest.fixture
def hardware(catalog):
    return services.hardware_set()


@pytest.fixture
def r1(catalog):
    return services.find_model("deepseek-r1")
