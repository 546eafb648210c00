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
def cpu_model() -> str: ...
def cache_sizes() -> dict[str, int]: ...
def detected_cache_sizes() -> dict[str, int]: ...
def cache_sources() -> dict[str, str]: ...
def set_cache_sizes(caches: dict[str, int]) -> None: ...
def parse_cache_sizes(text: str) -> dict[str, int]: ...
def caches_env_problem() -> str: ...

# ---- network (the step executor; src/register_network.cpp) ----------------------------------
class Network:
    """A network's whole training step in one call (the step executor, cpp/network/).

    spec = {"dtype": "float32" | "float64", "input_dim": int,
            "layers": [  # in order, at least one (with or without parameters)
                {"type": "dense", "units": int >= 1, "activation": str, "alpha": float,
                 "params": [param("kernel", (in, units)), param("bias", (units,))],
                 "state": [],  # without bias: the kernel entry only
                 "compute_dtype": "bfloat16"},  # optional: the three gemms on bf16-rounded
                 # inputs, fp32 accumulation (mixed_bfloat16; float32 networks); left out or
                 # the network's dtype: its own precision
                {"type": "dropout", "rate": float in [0, 1)},  # no params
                {"type": "activation", "activation": str, "alpha": float}],
            "loss": {"name": str, "from_logits": bool, "delta": float,
                     "label_smoothing": float in [0, 1] (optional; binary / categorical
                     crossentropy), "reduction": "sum_over_batch_size" | "mean" | "sum" |
                     "mean_with_sample_weight" (optional)},
            "optimizer": {"name", "momentum", "nesterov", "rho", "centered", "beta_1",
                          "beta_2", "epsilon", "amsgrad", "weight_decay", "clipnorm",
                          "clipvalue", "global_clipnorm"},  # every key; 0.0 = off
            "optimizer_state": (1,) float64 array (Nadam's u-product, start 1.0; live),
            "metrics": [{"name": str, "threshold": float, "k": int,
                         "weighted": bool (optional, True: summed with the sample weights;
                         False: every row weight 1, Keras's unweighted `metrics`)}],
            "seed": int,  # dropout mask = f(seed, step, layer index in "layers", element)
            "external_loss": bool}  # optional: the caller computes the loss (see below)
    param(name, shape) = {"name": str, "value": C-contiguous writeable array of dtype with
            that shape (LIVE: updated in place), "trainable": bool, "l1": float >= 0,
            "l2": float >= 0, "slots": [array like value] * n_slots}
    "state" (optional): [{"name": str, "value": array}], non-trainable arrays a kind may
    read or update in place (train_step only; gradients() leaves them as they are).
    More kinds (cpp/network/layer_<kind>.cpp; c(j) = (j // inner) % k maps element j of a row
    to entry c of a k-element statistic or parameter):
        {"type": "normalization", "invert": bool, "epsilon": float > 0, "inner": int >= 1,
         "state": [{"name": "mean", ...}, {"name": "variance", ...}]}  # (k,) each, read
        {"type": "prelu", "inner": int >= 1, "params": [param("alpha", any k-element shape)]}
        {"type": "relu", "has_max": bool, "max_value": float >= 0, "negative_slope": float
         >= 0, "threshold": float}  # Keras's relu with max_value / threshold
        {"type": "gaussian_noise", "stddev": float >= 0}
        {"type": "gaussian_dropout", "rate": float in [0, 1)}
        {"type": "alpha_dropout" | "shared_dropout", "rate": float in [0, 1),
         "row_shared": bool, "col_shared": bool}  # noise_shape (1, n) / (m, 1)
        {"type": "activity_regularization", "l1": float >= 0, "l2": float >= 0}
    Noise = f(seed, step, layer index, element) like the dropout masks; identity in evaluate
    and predict. The loss adds each activity_regularization's (l1 sum|y| + l2 sum y^2) / m.
        {"type": "batch_normalization", "epsilon": float > 0, "momentum": float in
         [0, 1], "training": bool (batch statistics in training; False: a frozen
         layer, moving statistics always), "scale": bool, "center": bool,
         "params": [param("gamma", (n,)) if scale, param("beta", (n,)) if center],
         "state": [{"name": "moving_mean", "value": (n,)},
                   {"name": "moving_variance", "value": (n,)}]},
        {"type": "layer_normalization", "epsilon": float > 0, "scale": bool,
         "center": bool, "params": [gamma if scale, beta if center]}

    A layer entry is read by its kind's attribute schema (the accepted kinds are listed in the
    error for an unknown "type"); other keys are ignored. n_slots =
    lamina.ops.optimizer_num_slots(...) for a trainable parameter; a frozen one (trainable
    False) may have [] and gets no gradient (gradients() reports zeros), no penalty, no
    update; backward stops at the earliest layer with a trainable parameter. No two arrays of
    the spec may share memory. train_step returns (loss, weight_sum, metric_sum_0, ...): loss
    = sum_i sw_i * l_i / m + the L1/L2 penalties of the trainable parameters (weights before
    the update), weight_sum = sum_i sw_i, metric_sum_k = sum_i sw_i * metric_k(i) (sum_i
    metric_k(i) for an unweighted metric). train_step and evaluate write the network outputs
    of their forward pass (m, output_dim) into `outputs` when it is given. y is (m,)
    int64 labels for sparse_categorical_crossentropy, else (m, output_dim). A final
    softmax/sigmoid with the matching crossentropy (from_logits=False) is computed as the
    fused logits form. Calls release the GIL and serialize on a mutex; bad arguments raise
    ValueError.

    With "external_loss" (a Python loss, lamina.custom_loss) the loss entry only says whether
    y is int64 labels; train_step and gradients raise RuntimeError, and a step is
    forward_train (the training forward of train_step(iteration): same masks, state updated)
    then backward_update(y, sw, dy = dL/d outputs of the reduced batch loss, lr, iteration),
    which runs metrics, penalties, backward, clipping and the update and returns (penalty,
    weight_sum, metric_sum_0, ...); backward_gradients is the same without the update.
    evaluate then reports the penalties only as its loss, and writes the outputs into
    `outputs` when given.
    """

    def __init__(self, spec: dict[str, Any]) -> None: ...
    def train_step(self, x: Any, y: Any, sample_weight: Any, learning_rate: float,
                   iteration: int, outputs: Any = None) -> tuple[float, ...]: ...
    def evaluate(self, x: Any, y: Any, sample_weight: Any = None,
                 outputs: Any = None) -> tuple[float, ...]: ...
    def forward_train(self, x: Any, out: Any, iteration: int,
                      update_state: bool = True) -> None: ...
    def backward_update(self, y: Any, sample_weight: Any, dy: Any, learning_rate: float,
                        iteration: int) -> tuple[float, ...]: ...
    def backward_gradients(self, y: Any, sample_weight: Any,
                           dy: Any) -> tuple[float, list[Any]]: ...
    def predict(self, x: Any, out: Any) -> None: ...
    def forward(self, x: Any, out: Any, training: bool, step: int) -> None: ...
    def gradients(self, x: Any, y: Any, sample_weight: Any,
                  step: int) -> tuple[float, list[Any]]: ...
    @property
    def input_dim(self) -> int: ...
    @property
    def output_dim(self) -> int: ...
    @property
    def num_params(self) -> int: ...
    @property
    def dtype(self) -> str: ...
    @property
    def capacity(self) -> int: ...
    @property
    def last_penalty(self) -> float: ...  # L1/L2 term of the last call's loss (0.0 before)
    @property
    def external_loss(self) -> bool: ...
# ---- gemm ----
def matmul(
    a: Any,
    b: Any,
    trans_a: bool = False,
    trans_b: bool = False,
    alpha: float = 1.0,
    beta: float = 0.0,
    out: Any | None = None,
    bias: Any | None = None,
    activation: str | None = None,
) -> Any: ...
def bias_grad(dy: Any, out: Any | None = None) -> Any: ...
def gemm_kernel_name(dtype: str = "float32") -> str: ...
def gemm_blocks(dtype: str = "float32") -> dict[str, int]: ...
def set_gemm_blocks(dtype: str, blocks: dict[str, int] | None) -> None: ...
def gemm_blocks_for(caches: dict[str, int], isa: str, dtype: str = "float32") -> dict[str, int]: ...
def fma_peak_gflops(seconds: float = 0.2) -> float: ...
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
# ---- activations and dropout (src/register_ops.cpp) ----

def activation_names() -> list[str]: ...
def activation_forward(x: Any, out: Any, name: str, alpha: float) -> None: ...
def activation_backward(
    x: Any | None, y: Any, dy: Any, out: Any, name: str,
    alpha: float,
) -> None: ...
def dropout_mask(n: int, rate: float, seed: int, step: int, layer: int, mask: Any) -> None: ...
def dropout_forward(
    x: Any, out: Any, rate: float, seed: int, step: int, layer: int,
    mask: Any | None,
) -> None: ...
def dropout_backward(dy: Any, mask: Any, rate: float, out: Any) -> None: ...

# ---- losses and metrics (src/register_losses.cpp) ----
def loss_names() -> list[str]: ...
def metric_names() -> list[str]: ...
def loss_forward_backward(
    y_true: Any, y_pred: Any, name: str, from_logits: bool, delta: float,
    sample_weight: Any | None, scale: float, grad: Any | None, label_smoothing: float = 0.0,
) -> float: ...
def metric_sum(
    y_true: Any, y_pred: Any, name: str, threshold: float, k: int,
    sample_weight: Any | None,
) -> float: ...

# data path (register_data.cpp)
def permutation(n: int, seed: int, epoch: int, *, reference: bool = False) -> np.ndarray: ...

# ---- reliability (issue 17) -----------------------------------------------------------------
MAX_THREADS: int  # most threads set_num_threads accepts
# ---- bf16 gemm (src/register_gemm.cpp; cpp/include/lamina/gemm_bf16.hpp) ----
def matmul_bf16(
    a: Any,
    b: Any,
    trans_a: bool = False,
    trans_b: bool = False,
    alpha: float = 1.0,
    beta: float = 0.0,
    out: Any | None = None,
    bias: Any | None = None,
    activation: str | None = None,
    reference: bool = False,
) -> Any: ...
def round_to_bf16(x: Any) -> Any: ...
def bf16_dot_peak_gflops(seconds: float = 0.2) -> float: ...
