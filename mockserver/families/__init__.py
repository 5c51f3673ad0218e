"""One module per API family; each exports `ROUTES: list[Endpoint]` and may export `setup(state)`.

The app imports every module here (sorted by name), so adding a family is adding a module and its
contracts; nothing else needs to change.
"""
