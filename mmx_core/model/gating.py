"""Projection of every expert to one shared size, and collaborative gating."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ExpertProjection", "CollaborativeGating"]


class ExpertProjection(nn.Module):
    """One linear map per expert to ``shared_dim``; the results are stacked.

    Parameters
    ----------
    in_dims : dict
        Expert name -> input size (after temporal aggregation); the order of the
        dict is the order of the experts in the output.
    shared_dim : int
        Output size of every expert.

    Shape:
        - inputs: dict name -> :math:`(N, \\text{in\\_dims[name]})`
        - output: :math:`(N, E, \\text{shared\\_dim})`
    """

    def __init__(self, in_dims: dict[str, int], shared_dim: int) -> None:
        super().__init__()
        self.in_dims, self.shared_dim = dict(in_dims), shared_dim
        self.linears = nn.ModuleDict({name: nn.Linear(dim, shared_dim) for name, dim in in_dims.items()})
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for linear in self.linears.values():
            linear.reset_parameters()

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack([linear(inputs[name]) for name, linear in self.linears.items()], dim=1)

    def extra_repr(self) -> str:
        return f"in_dims={self.in_dims}, shared_dim={self.shared_dim}"


class CollaborativeGating(nn.Module):
    """Collaborative gating (Liu et al., "Use what you have", 2019).

    For expert i, ``T_i = h_i(sum_{j != i, j available} g([x_i; x_j]))`` and the
    output is ``x_i * sigmoid(T_i)``. ``g`` is a two-layer MLP shared by all pairs
    and ``h_i`` one MLP per expert. Pairs with a missing expert are masked out of
    the sum, so a missing expert's (arbitrary) values never reach the others.

    Because g's first and last layers are linear, the pair MLP is computed as
    ``W1 [x_i; x_j] = A x_i + B x_j`` (E, not E^2, matrix products) and its last
    layer is applied once after the masked sum (``sum_j (W2 r_ij + b2) =
    W2 sum_j r_ij + n_i b2``): the same function, fewer FLOPs.

    Parameters
    ----------
    n_experts : int
        Experts E.
    dim : int
        Size of each expert's embedding.
    hidden : int
        Hidden size of g and h.

    Shape:
        - x: :math:`(N, E, \\text{dim})`, available: :math:`(N, E)` bool
        - output: :math:`(N, E, \\text{dim})`
    """

    def __init__(self, n_experts: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.n_experts, self.dim, self.hidden = n_experts, dim, hidden
        self.g_in_weight = nn.Parameter(torch.empty(hidden, 2 * dim))
        self.g_in_bias = nn.Parameter(torch.empty(hidden))
        self.g_out = nn.Linear(hidden, hidden)
        self.h_hidden = nn.Parameter(torch.empty(n_experts, hidden, hidden))
        self.h_hidden_bias = nn.Parameter(torch.empty(n_experts, hidden))
        self.h_out = nn.Parameter(torch.empty(n_experts, hidden, dim))
        self.h_out_bias = nn.Parameter(torch.empty(n_experts, dim))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for weight, bias, fan_in in ((self.g_in_weight, self.g_in_bias, 2 * self.dim),
                                     (self.h_hidden, self.h_hidden_bias, self.hidden),
                                     (self.h_out, self.h_out_bias, self.hidden)):
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(weight, -bound, bound)
            nn.init.uniform_(bias, -bound, bound)
        self.g_out.reset_parameters()

    def pair_sum(self, x: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
        """``sum_{j != i, available} g([x_i; x_j])`` of shape (N, E, hidden)."""
        w_i, w_j = self.g_in_weight.split(self.dim, dim=1)
        left = x @ w_i.t() + self.g_in_bias  # (N, E, H)
        right = x @ w_j.t()  # (N, E, H)
        pairs = torch.relu(left.unsqueeze(2) + right.unsqueeze(1))  # (N, E_i, E_j, H)
        eye = torch.eye(self.n_experts, dtype=torch.bool, device=x.device)
        pair_mask = available.unsqueeze(2) & available.unsqueeze(1) & ~eye
        summed = (pairs * pair_mask.unsqueeze(-1).to(pairs.dtype)).sum(2)
        count = pair_mask.sum(2, keepdim=True).to(summed.dtype)
        return summed @ self.g_out.weight.t() + count * self.g_out.bias

    def forward(self, x: torch.Tensor, available: torch.Tensor) -> torch.Tensor:
        relations = torch.relu(self.pair_sum(x, available))  # (N, E, H)
        hidden = torch.relu(torch.einsum("neh,ehk->nek", relations, self.h_hidden) + self.h_hidden_bias)
        attention = torch.einsum("neh,ehd->ned", hidden, self.h_out) + self.h_out_bias
        return x * torch.sigmoid(attention)

    def extra_repr(self) -> str:
        return f"n_experts={self.n_experts}, dim={self.dim}, hidden={self.hidden}"
