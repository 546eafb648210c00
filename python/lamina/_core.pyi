# Type stubs for lamina._core (the compiled core). Kept in step with the module by
# tests/test_stub.py: every public name of the module is declared here and vice versa.
from collections.abc import Sequence
from typing import Any

import numpy as np

__version__: str

def max_isa() -> str: ...
def active_isa() -> str: ...
def supported_isas() -> list[str]: ...
def set_isa(name: str) -> None: ...
def isa_env_problem() -> str: ...
def build_info() -> dict[str, Any]: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def usable_cores() -> int: ...

# ---- optimizers (src/register_optim.cpp) ----
def optimizer_num_slots(
    name: str, momentum: float = 0.0, centered: bool = False, amsgrad: bool = False
) -> int: ...
def optimizer_update(
    name: str,
    w: np.ndarray,
    g: np.ndarray,
    slots: Sequence[np.ndarray],
    *,
    learning_rate: float,
    iteration: int,
    grad_scale: float = 1.0,
    l1: float = 0.0,
    l2: float = 0.0,
    clipnorm: float | None = None,
    clipvalue: float | None = None,
    state: np.ndarray | None = None,
    momentum: float = 0.0,
    nesterov: bool = False,
    rho: float = 0.9,
    centered: bool = False,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
    amsgrad: bool = False,
    weight_decay: float = 0.0,
) -> None: ...
def grad_sq_sum(
    g: np.ndarray, w: np.ndarray | None = None, l1: float = 0.0, l2: float = 0.0
) -> float: ...
def penalty(w: np.ndarray, l1: float, l2: float) -> float: ...
def global_clipnorm_scale(sq_sum: float, clipnorm: float) -> float: ...
def nadam_u_product(beta_1: float, iteration: int) -> float: ...
