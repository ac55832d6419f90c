"""Small helpers shared by several test modules."""
from __future__ import annotations

import numpy as np
import torch

from engine.render.projection import project_points
from engine.types import Camera


def pixels(points, camera: Camera) -> np.ndarray:
    """World points [N, 3] (numpy or torch) -> pixel coordinates [N, 2] as numpy."""
    return project_points(torch.as_tensor(np.asarray(points, np.float64)), camera).numpy()
