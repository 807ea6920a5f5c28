"""Losses of the two stages: BCE with logits (coarse), NT-Xent (fine) and the tag-taught terms (fine, ``--tags``).

The tag terms: SupCon between trailers sharing a tag, and a cosine-softmax over the tags' prototypes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["nt_xent", "coarse_loss", "supervised_contrastive", "shared_tag_mask", "prototype_loss"]


def _float32(z: torch.Tensor):
    """Autocast off for the similarities of ``z``'s device: under a bfloat16 or float16 forward the losses'
    products still run in float32 (a no-op without autocast)."""
    return torch.autocast(z.device.type, enabled=False)


def coarse_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy with logits over trailers and genres.

    Shape: logits and labels :math:`(B, G)` -> scalar.
    """
    return F.binary_cross_entropy_with_logits(logits.float(), labels.float())


def nt_xent(z_a: torch.Tensor, z_b: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """Normalised temperature-scaled cross-entropy (SimCLR, Chen et al. 2020).

    Row i of ``z_a`` and row i of ``z_b`` are a positive pair (two halves of one
    trailer); the other 2B - 2 rows of the batch are its negatives. The loss is
    the mean over all 2B anchors of ``-log(exp(s_ip / t) / sum_{k != i} exp(s_ik / t))``
    with ``s`` the cosine similarity.

    Shape: z_a and z_b :math:`(B, d)`, B >= 1 -> scalar.
    """
    z = F.normalize(torch.cat([z_a, z_b]).float(), dim=1)
    n = z_a.shape[0]
    with _float32(z):
        similarity = z @ z.t() / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    similarity = similarity.masked_fill(self_mask, float("-inf"))
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(similarity, positives)


def shared_tag_mask(tags: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Which trailers of a batch share a tag, and which carry one.

    Parameters
    ----------
    tags : Tensor of shape (B, n_tags), bool, or of shape (B,), int
        A tag matrix (row i: the tags of trailer i; a trailer may have many or none), or one tag group per
        trailer with -1 for an untagged trailer.

    Returns
    -------
    shared : Tensor of shape (B, B), bool
        ``shared[i, j]``: trailers i and j (i != j) share a tag (False diagonal).
    tagged : Tensor of shape (B,), bool
        Trailer i carries at least one tag.
    """
    if tags.dim() == 1:
        groups = tags.long()
        tagged = groups >= 0
        mask = (groups[:, None] == groups[None, :]) & tagged[:, None]
    elif tags.dim() == 2:
        matrix = tags.float()
        tagged = matrix.sum(dim=1) > 0
        mask = (matrix @ matrix.t()) > 0
    else:
        raise ValueError(f"tags must be (B, n_tags) or (B,), got shape {tuple(tags.shape)}")
    eye = torch.eye(len(tags), dtype=torch.bool, device=tags.device)
    return mask & ~eye, tagged


def supervised_contrastive(z_a: torch.Tensor, z_b: torch.Tensor, tags: torch.Tensor,
                           temperature: float = 0.5) -> torch.Tensor:
    """Supervised contrastive loss (SupCon, Khosla et al. 2020, the "L_out" form) over two halves a trailer.

    The 2B rows (halves A then halves B) are the anchors. The positives of an anchor are both halves of
    every *other* trailer of the batch that shares a tag with its trailer; its candidates (the softmax's
    denominator) are both halves of every other *tagged* trailer of the batch. Untagged trailers are
    neither positives nor negatives: a tag is partial knowledge, and most untagged trailers of a tagged
    sub-genre belong to it, so pushing them away would teach the opposite of the tag. The anchor's own
    other half is left out too (that pair is NT-Xent's business). An anchor's loss is the mean over its
    positives p of
    ``-log(exp(s_ip / t) / sum_{a in candidates} exp(s_ia / t))`` with ``s`` the cosine similarity; the
    loss is the mean over the anchors that have a positive. Anchors without one (untagged trailers, or
    a tag no other trailer of the batch carries) contribute nothing; with no such anchor at all the
    result is a zero that keeps the graph (its gradient is zero). Computed in float32 whatever the
    inputs' dtype (autocast included), with a max-subtracted log-sum-exp.

    Shape: z_a and z_b :math:`(B, d)`; tags :math:`(B, n_{tags})` bool or :math:`(B,)` int groups
    (-1 = untagged), see :func:`shared_tag_mask` -> scalar.
    """
    if z_a.shape != z_b.shape or z_a.dim() != 2 or len(tags) != len(z_a):
        raise ValueError(f"need z_a, z_b of one shape (B, d) and B tag rows, got {tuple(z_a.shape)}, "
                         f"{tuple(z_b.shape)} and {len(tags)}")
    n = z_a.shape[0]
    z = F.normalize(torch.cat([z_a, z_b]).float(), dim=1)
    shared, tagged = shared_tag_mask(tags.to(z.device))
    positives = shared.repeat(2, 2)  # (2B, 2B): both halves of every other trailer sharing a tag
    has_positive = positives.any(dim=1)
    if not bool(has_positive.any()):
        return z.sum() * 0.0
    own = torch.eye(n, dtype=torch.bool, device=z.device).repeat(2, 2)  # the row itself and its other half
    candidates = tagged.repeat(2)[None, :] & ~own
    with _float32(z):
        logits = (z @ z.t() / temperature).masked_fill(~candidates, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    log_prob = log_prob.masked_fill(~positives, 0.0)  # -inf off the candidates never reaches the sum
    per_anchor = -log_prob.sum(dim=1)[has_positive] / positives.sum(dim=1)[has_positive]
    return per_anchor.mean()


def prototype_loss(h: torch.Tensor, tags: torch.Tensor, sums: torch.Tensor, counts: torch.Tensor,
                   own: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Cosine-softmax of each tagged row over the prototypes of *all* tags, its own tags the targets.

    SupCon only compares a tagged trailer with the few tagged trailers of its batch; this term compares it with
    every tag at once, through prototypes built from fixed vectors of the tagged trailers (the loop refreshes
    them each epoch). The prototype of tag k is the direction of ``sums[k]`` (the sum of its members' unit
    vectors), less the row's own vector ``own`` when the row carries tag k (leave one out: a trailer is not
    pulled towards itself); a tag left with no other member is no candidate. A row's loss is the mean over its
    tags of ``-log softmax_k(cos(h, prototype_k) / temperature)``; the loss is the mean over the rows that have
    such a tag, and a zero that keeps the graph when none has. Computed in float32.

    Parameters
    ----------
    h : Tensor of shape (N, d)
        The rows (e.g. both halves of a batch's trailers), with gradient.
    tags : Tensor of shape (N, K), bool
        Tags of each row; untagged rows have none and contribute nothing.
    sums : Tensor of shape (K, d)
        Per tag, the sum of its members' unit vectors.
    counts : Tensor of shape (K,)
        Per tag, its members.
    own : Tensor of shape (N, d)
        Each row's trailer's unit vector as counted in ``sums`` (any value for untagged rows).
    temperature : float

    Returns
    -------
    Tensor, scalar
    """
    z = F.normalize(h.float(), dim=1)
    carried = tags.to(z.device).bool()
    prototypes = sums.to(z)[None] - carried[..., None].float() * own.to(z)[:, None, :]
    members = counts.to(z)[None] - carried.float()
    valid = members > 0.5
    with _float32(z):
        logits = torch.einsum("nd,nkd->nk", z, F.normalize(prototypes, dim=2)) / temperature
    logits = logits.masked_fill(~valid, float("-inf"))
    positive = carried & valid
    anchors = positive.any(dim=1)
    if not bool(anchors.any()):
        return z.sum() * 0.0
    log_prob = (logits - torch.logsumexp(logits, dim=1, keepdim=True)).masked_fill(~positive, 0.0)
    return (-log_prob.sum(dim=1)[anchors] / positive.sum(dim=1)[anchors]).mean()
