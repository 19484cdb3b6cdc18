"""The access kernel: the need-to-know policy (``policy``) and the SOP engine (``sop``).

It sits on the domain models and the foundation and imports nothing above them, so that
every app's selectors and services can ask it (docs/development.md, "Layers").
"""
