"""PyTorch written the way its users write it.

``nn.Sequential`` of ``nn.Linear``/(``nn.BatchNorm1d``)/``nn.ReLU``/``nn.Dropout``,
``nn.CrossEntropyLoss`` on logits, ``torch.optim.Adam`` with default options (the "torch"
column) or ``fused=True`` (the "torch-fused" column), and a plain loop over
``torch.randperm`` index batches.
L2 is the optimizer's ``weight_decay`` (on every parameter, as users write it), set to
``2 * l2`` so the gradient term equals Keras's ``L2(l2)``. The "torch-bf16" column is the
fused-Adam loop with its forward and loss under ``torch.autocast("cpu",
dtype=torch.bfloat16)`` (the one flag a torch user flips; float32 master weights, the
backward follows the autocast dtypes), prediction likewise.
"""

from __future__ import annotations

from .base import Framework, Trainer


class _TorchMLP(Trainer):
    def __init__(self, spec, x, y, fused, autocast=False):
        import contextlib

        import torch
        from torch import nn

        self.torch = torch
        self.autocast = ((lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if autocast
                         else contextlib.nullcontext)
        torch.manual_seed(spec.seed)
        sizes = spec.sizes
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out))
            if i < len(sizes) - 2:
                if spec.batch_norm:  # Keras's defaults in torch's spelling
                    layers.append(nn.BatchNorm1d(fan_out, eps=1e-3, momentum=0.01))
                layers.append(nn.ReLU())
                if spec.dropout:
                    layers.append(nn.Dropout(spec.dropout))
        self.model = nn.Sequential(*layers)
        extra = {"fused": True} if fused else {}
        if spec.optimizer == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), lr=spec.learning_rate, **extra)
        else:
            self.opt = torch.optim.SGD(self.model.parameters(), lr=spec.learning_rate,
                                       momentum=spec.momentum, weight_decay=2.0 * spec.l2,
                                       **extra)
        self.loss_fn = nn.CrossEntropyLoss()
        self.X = torch.from_numpy(x)
        self.Y = torch.from_numpy(y)
        self.batch_size = spec.batch_size

    def train_epoch(self):
        torch, model, opt, loss_fn = self.torch, self.model, self.opt, self.loss_fn
        model.train()
        n = len(self.X)
        perm = torch.randperm(n)
        for start in range(0, n, self.batch_size):
            idx = perm[start:start + self.batch_size]
            xb, yb = self.X[idx], self.Y[idx]
            opt.zero_grad()
            with self.autocast():
                loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()

    def predict(self, x):
        torch = self.torch
        self.model.eval()
        X = torch.from_numpy(x)
        with torch.no_grad(), self.autocast():
            out = torch.cat([self.model(X[i:i + 1024]) for i in range(0, len(X), 1024)])
        return out.float().numpy()


class TorchFramework(Framework):
    package = "torch"

    def __init__(self, fused: bool = False, autocast: bool = False):
        self.fused = fused
        self.autocast = autocast
        self.name = "torch-bf16" if autocast else ("torch-fused" if fused else "torch")

    def supports(self, workload):
        if self.autocast and workload.kind == "gemm":
            return "the float32 GEMM cases check float32 results"
        if self.fused and workload.kind == "gemm":
            return "same GEMM as the torch column"
        return None

    def set_threads(self, n):
        import torch

        torch.set_num_threads(n)

    def runtime_info(self):
        import torch

        info = {"torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
                "torch_threads": torch.get_num_threads()}
        cfg = torch.__config__.show()
        for line in cfg.splitlines():
            line = line.strip()
            if line.startswith(("- Intel(R) oneAPI Math Kernel", "- Intel(R) MKL-DNN",
                                "- oneDNN", "- Intel(R) Math Kernel")):
                info.setdefault("torch_libs", []).append(line[2:])
        return info

    def mlp_trainer(self, spec, x, y):
        return _TorchMLP(spec, x, y, self.fused, self.autocast)

    def matmul_case(self, a, b, trans_a, trans_b):
        import torch

        A = torch.from_numpy(a)
        B = torch.from_numpy(b)
        A = A.T if trans_a else A
        B = B.T if trans_b else B
        out = torch.empty((A.shape[0], B.shape[1]), dtype=torch.float32)
        return (lambda: torch.mm(A, B, out=out)), (lambda: out.numpy())

