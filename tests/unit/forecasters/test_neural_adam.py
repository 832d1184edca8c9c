"""FlatAdam against torch.optim.Adam: the same weights, bit for bit, on the networks we train."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from autoscaler.forecasters.neural import _build_net  # noqa: E402
from autoscaler.forecasters.neural_adam import FlatAdam  # noqa: E402


def _train(arch: str, make_opt, x, y, epochs: int, batch: int = 64):
    """The neural forecasters' loop (seeded shuffles, L1 loss); the final weights."""
    torch.manual_seed(3)
    gen = torch.Generator().manual_seed(3)
    net = _build_net(torch, arch, 36, x.shape[1] - 36, 16, y.shape[1])
    opt = make_opt(net.parameters())
    loss_fn = torch.nn.L1Loss()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(batch):
            opt.zero_grad()
            loss_fn(net(x[idx]), y[idx]).backward()
            opt.step()
    return {k: t.detach().clone() for k, t in net.state_dict().items()}


def _data(nab_cpu, extra: int):
    z = nab_cpu.to_numpy()
    z = (z - z.mean()) / z.std()
    rows = np.arange(40, len(z) - 12)
    x = np.stack([np.r_[z[r - 35 : r + 1] - z[r], z[r - extra + 1 : r + 1] - z[r]] for r in rows])
    y = np.stack([z[r + 1 : r + 13] - z[r] for r in rows])
    return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.float32))


@pytest.mark.parametrize(("arch", "extra", "epochs"), [("mlp", 12, 6), ("lstm", 0, 2)])
def test_flat_adam_trains_the_same_weights_as_torch_adam(nab_cpu, arch, extra, epochs):
    torch.set_num_threads(1)
    x, y = _data(nab_cpu, extra)
    reference = _train(arch, lambda p: torch.optim.Adam(p, lr=3e-3), x, y, epochs)
    flat = _train(arch, lambda p: FlatAdam(p, lr=3e-3), x, y, epochs)
    assert reference.keys() == flat.keys()
    for k in reference:
        assert torch.equal(reference[k], flat[k]), k
    # and training moved them (a test of equal weights that never changed would pass too)
    untrained = _train(arch, lambda p: FlatAdam(p, lr=3e-3), x, y, 0)
    assert not torch.equal(untrained[k], flat[k])


def test_flat_adam_keeps_the_values_and_shapes_of_the_parameters():
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    before = [p.detach().clone() for p in net.parameters()]
    opt = FlatAdam(net.parameters(), lr=0.1)
    for p, b in zip(net.parameters(), before, strict=True):
        assert p.shape == b.shape and torch.equal(p.detach(), b)
    assert opt.weights.numel() == 8
    net(torch.ones(1, 3)).sum().backward()
    np.testing.assert_array_equal(opt.grads[:6].numpy(), np.ones(6))  # the weight's gradient
    opt.step()
    # the first Adam step moves every weight by lr against its gradient's sign
    np.testing.assert_allclose((before[0] - net.weight.detach()).numpy(), 0.1, rtol=1e-5)
