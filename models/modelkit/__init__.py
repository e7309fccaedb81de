"""Shared library for the example models: seeding, data, training loop, metrics, payloads.

Not a model (no config.yaml). Models list it under `artifact.shared`, and the bundler copies it
to `code/modelkit/` so `inference.py` can import it inside the serving container.
"""
