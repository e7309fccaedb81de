"""SageMaker PyTorch serving handlers for the iris classifier.

Request: application/json `{"instances": [[5.1, 3.5, 1.4, 0.2], ...]}` (or a bare list of rows,
or one row), in centimetres in the order of `model.FEATURES`; or application/x-npy with a float
array of shape (n, 4).
Response: application/json `{"predictions": [{"label": "setosa", "probabilities": [...]}, ...]}`,
one entry per instance, probabilities in the order of `model.CLASSES`; or, with
`Accept: application/x-npy`, the (n, 3) probabilities.
A malformed request gets a 4xx with `{"error": {"status": ..., "message": ...}}`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
for _path in (HERE.parent, HERE):  # modelkit beside the model folders (source tree) or in code/
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import torch  # noqa: E402
from model import CLASSES, FEATURES, IrisNet  # noqa: E402
from modelkit.payloads import ClientError, Rejected, decode_batch, encode, reject  # noqa: E402

WEIGHTS = "model.pt"


def model_fn(model_dir: str) -> IrisNet:
    saved = torch.load(Path(model_dir) / WEIGHTS, map_location="cpu", weights_only=True)
    model = IrisNet(hidden=int(saved["hidden"]))
    model.load_state_dict(saved["state_dict"])
    return model.eval()


def input_fn(body: bytes | str, content_type: str, context: Any = None) -> torch.Tensor | Rejected:
    try:
        return decode_batch(body, content_type, shapes=[(len(FEATURES),)])
    except ClientError as error:
        return reject(context, error)


def predict_fn(data: torch.Tensor | Rejected, model: IrisNet) -> torch.Tensor | Rejected:
    if isinstance(data, Rejected):
        return data
    with torch.no_grad():
        return torch.softmax(model(data), dim=1)


def output_fn(
    prediction: torch.Tensor | Rejected, accept: str, context: Any = None
) -> tuple[bytes, str]:
    if isinstance(prediction, Rejected):
        return prediction.body()
    rows = [
        {"label": CLASSES[int(p.argmax())], "probabilities": [round(float(v), 6) for v in p]}
        for p in prediction
    ]
    try:
        return encode(prediction, {"predictions": rows}, accept)
    except ClientError as error:
        return reject(context, error).body()
