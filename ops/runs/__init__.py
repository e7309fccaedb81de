"""The training runs MLflow records, for people at a terminal (`make runs`).

- `table`: a model's recent runs, parameters beside the held-out metric;
- `ui`: the MLflow UI on 127.0.0.1, started, waited for and stopped with its workers;
- `command`: `python -m ops runs`.

Runs are recorded by the training jobs themselves (`models/modelkit/tracking.py`).
"""
