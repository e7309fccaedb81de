"""The training runs MLflow records, for people at a terminal (`make runs`).

- `table`: a model's recent runs, parameters beside the held-out metric;
- `ui`: the MLflow UI on 127.0.0.1, started, waited for and stopped with its workers;
- `lookup`: the run recorded on a registered model version (`python -m ops promote`);
- `weights`: the run behind a weights file, by its sha256 (the PR diff's model section);
- `command`: `python -m ops runs`.

Runs are recorded by the training jobs themselves (`models/modelkit/tracking.py`).
"""
