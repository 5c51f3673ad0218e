"""One package per API family; each declares what it contributes in its `__init__` (`FAMILY`, a
`families.base.Family`). `mockserver.registry.load_families()` loads them all; `shared/` holds helpers
several families use."""
