"""SageMaker PyTorch serving handlers for the iris classifier.

Request (application/json): {"instances": [[5.1, 3.5, 1.4, 0.2], ...]} or a bare list of rows;
or application/x-npy with a float array of shape (n, 4).
Response (application/json): {"predictions": [{"label": "setosa", "probabilities": [...]}, ...]};
or application/x-npy with the (n, 3) probabilities.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
if (HERE.parent / "modelkit").is_dir() and str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # running from the source tree, not a bundle

import torch  # noqa: E402
from model import CLASSES, FEATURES, IrisNet  # noqa: E402
from modelkit.payloads import decode_matrix, encode  # noqa: E402

WEIGHTS = "model.pt"


def model_fn(model_dir: str) -> IrisNet:
    saved = torch.load(Path(model_dir) / WEIGHTS, map_location="cpu", weights_only=True)
    model = IrisNet(hidden=int(saved["hidden"]))
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model


def input_fn(body: bytes | str, content_type: str) -> torch.Tensor:
    return decode_matrix(body, content_type, columns=len(FEATURES))


def predict_fn(data: torch.Tensor, model: IrisNet) -> torch.Tensor:
    with torch.no_grad():
        return torch.softmax(model(data), dim=1)


def output_fn(probabilities: torch.Tensor, accept: str) -> tuple[bytes, str]:
    rows = [
        {"label": CLASSES[int(p.argmax())], "probabilities": [round(float(v), 6) for v in p]}
        for p in probabilities
    ]
    return encode(probabilities, {"predictions": rows}, accept)
