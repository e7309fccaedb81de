"""Evaluating model bundles as SageMaker would load them, for the PR diff's model section.

One module per concern, in the order data flows:

- `runner`: runs inside `.venv-serve`, one fresh process per bundle: TorchServe's worker code
  and the inference toolkit's handler service answer the requests (no TorchServe start).
- `evaluate`: extracts each bundle, starts the runner with a model server's environment, a
  model's base and head side by side, and reads the answers back.
- `compare`: base and head answers compared without assuming one response shape (exact
  agreement, numbers by JSON path, labels and the quality metric); the regression gate.
- `held_out`: draws the example models' evaluation sets from their held-out splits.
"""
