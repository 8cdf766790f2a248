"""The paper's search spaces as real networks: MobileNetV3-large (§4.1) and MobileFaceNet (§4.4).

``spaces`` and ``counting`` need no torch; ``torch_models``, ``training`` and ``face`` need the ``torch`` extra.
"""

from gpnas.nets.counting import count_plan
from gpnas.nets.spaces import mobilefacenet_plan, mobilefacenet_space, mobilenetv3_plan, mobilenetv3_space

__all__ = ["count_plan", "mobilefacenet_plan", "mobilefacenet_space", "mobilenetv3_plan", "mobilenetv3_space"]
