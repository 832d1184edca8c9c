"""Adam on one flat buffer: ``torch.optim.Adam``'s arithmetic, bit for bit, in 8 tensor
operations a step instead of about 50.

The neural forecasters train small networks (a few thousand weights) in batches of 64:
each step's arithmetic is microseconds, and ``torch.optim.Adam`` spends most of the
step in per-parameter Python (a loop over the 6 tensors of an MLP, a tensor step
counter each, profiler hooks), about 40 % of an MLP fit. Here every parameter and its
gradient are views into two flat buffers (backward accumulates each gradient into its
view), so one set of element-wise operations updates them all. The operations and their
order are those of torch's single-tensor Adam (the one it runs on CPU) at its defaults
but ``lr``: no weight decay, amsgrad or maximize; element-wise arithmetic does not
depend on how the elements are laid out, so the weights are the same to the last bit
(``tests/unit/forecasters/test_neural_adam.py`` checks it against torch's).
torch is imported lazily, as everywhere in the forecasters.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class FlatAdam:
    """``torch.optim.Adam(params, lr, betas, eps)``'s ``zero_grad``/``step``.

    The parameters' storage is moved into one buffer (their values kept), and their
    ``.grad`` set to views of another: code that replaces ``.grad`` (or ``.data``)
    afterwards would detach a parameter from the update.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        import torch

        self.params = list(params)
        self.lr, self.eps = float(lr), float(eps)
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.steps = 0
        n = sum(p.numel() for p in self.params)
        dtype = self.params[0].dtype
        self.weights = torch.empty(n, dtype=dtype)
        self.grads = torch.zeros(n, dtype=dtype)
        self.exp_avg = torch.zeros(n, dtype=dtype)
        self.exp_avg_sq = torch.zeros(n, dtype=dtype)
        start = 0
        with torch.no_grad():
            for p in self.params:
                end = start + p.numel()
                self.weights[start:end] = p.detach().reshape(-1)
                p.data = self.weights[start:end].view_as(p)
                p.grad = self.grads[start:end].view_as(p)
                start = end

    def zero_grad(self) -> None:
        """Zero the gradients in place (torch's sets them to None; backward then fills
        a fresh one with the same values as it adds them to zero here)."""
        self.grads.zero_()

    def step(self) -> None:
        """One Adam update of every parameter, as ``torch.optim.Adam.step``."""
        import torch

        self.steps += 1
        t = float(self.steps)  # torch keeps the count as a float tensor, read as a float
        step_size = self.lr / (1 - self.beta1**t)
        bias_correction2_sqrt = (1 - self.beta2**t) ** 0.5
        g = self.grads
        with torch.no_grad():
            self.exp_avg.lerp_(g, 1 - self.beta1)
            self.exp_avg_sq.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            denom = (self.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(self.eps)
            self.weights.addcdiv_(self.exp_avg, denom, value=-step_size)
