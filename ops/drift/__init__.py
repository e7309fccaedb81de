"""`python -m ops drift`: captured traffic checked against the model's baseline, as Model Monitor's
data-quality job checks it, on the local emulator.

- `captured`: the endpoint's data capture objects read from S3 and parsed into rows;
- `command`: `python -m ops drift`.
"""
