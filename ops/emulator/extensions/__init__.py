"""The project's extensions to moto 5.2.5, installed into the emulator's process before it serves.

`install()` is idempotent. Every extension is pinned to moto's internals at the version in
`pyproject.toml` and covered by `tests/test_emulator.py`; a moto upgrade that moves them makes
`install()` fail loudly instead of silently deploying less.
"""

from __future__ import annotations

import importlib.metadata

MOTO_VERSION = "5.2.5"

_installed = False


def install() -> None:
    """Register the CloudFormation models, the change-set engine fixes and local serving."""
    global _installed
    if _installed:
        return
    found = importlib.metadata.version("moto")
    if found != MOTO_VERSION:
        raise RuntimeError(
            f"the emulator's extensions are written against moto {MOTO_VERSION}, found {found}; "
            "re-check ops/emulator/extensions against the new version and update the pin"
        )
    from moto.cloudformation import parsing

    from ops.emulator.extensions import cloudformation, resources, runtime

    cloudformation.install()
    runtime.install()
    # moto builds its type map from CloudFormationModel.__subclasses__() (cached): the
    # classes in `resources` are direct subclasses defined after moto's own, so they win.
    for cache in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cache.cache_clear()
    model_map = parsing.get_model_map()
    for model in resources.MODELS:
        registered = model_map.get(model.cloudformation_type())
        if registered is not model:
            raise RuntimeError(
                f"{model.cloudformation_type()} resolves to {registered}, not {model.__name__}"
            )
    _installed = True
