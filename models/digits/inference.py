"""SageMaker PyTorch serving handlers for the handwritten-digits CNN.

Request: application/json `{"instances": [image, ...]}` (or a bare list, or one image), each
image 8x8 pixel counts from 0 to 16, as 8 rows of 8 or as 64 numbers row by row; or
application/x-npy with an array of shape (n, 8, 8) or (n, 64).
Response: application/json `{"predictions": [{"label": "3", "probabilities": [...]}, ...]}`,
one entry per instance, probabilities for the digits 0 to 9; or, with
`Accept: application/x-npy`, the (n, 10) probabilities.
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
from model import CLASSES, MAX_PIXEL, SIDE, DigitsNet  # noqa: E402
from modelkit.payloads import ClientError, Rejected, decode_batch, encode, reject  # noqa: E402

WEIGHTS = "model.pt"


def model_fn(model_dir: str) -> DigitsNet:
    saved = torch.load(Path(model_dir) / WEIGHTS, map_location="cpu", weights_only=True)
    model = DigitsNet(channels=int(saved["channels"]))
    model.load_state_dict(saved["state_dict"])
    return model.eval()


def input_fn(body: bytes | str, content_type: str, context: Any = None) -> torch.Tensor | Rejected:
    try:
        return decode_batch(
            body,
            content_type,
            shapes=[(SIDE, SIDE), (SIDE * SIDE,)],
            value_range=(0.0, MAX_PIXEL),
        )
    except ClientError as error:
        return reject(context, error)


def predict_fn(data: torch.Tensor | Rejected, model: DigitsNet) -> torch.Tensor | Rejected:
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
