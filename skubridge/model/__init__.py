"""Value types shared by the layers above: the push plan and the updates it carries.

They sit below ``expectations`` and ``connectors`` (``[tool.importlinter]`` in pyproject.toml),
so the guards can measure a plan and the connectors can send its updates without either
importing ``tasks``.
"""
