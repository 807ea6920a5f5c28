"""Baselines scored in the report format: random scores and a linear probe.

The model variants of the ablation (naive concatenation, no collaborative
gating, single experts, full model) are trained through :mod:`mmx_core.train`;
see :mod:`mmx_core.studies.ablate`.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from mmx_core.base.errors import MMXError

__all__ = ["random_scores", "LinearProbe"]


def random_scores(n_trailers: int, n_genres: int, seed: int = 0) -> np.ndarray:
    """Scores drawn uniformly from [0, 1): the paper's random baseline.

    Returns
    -------
    ndarray of shape (n_trailers, n_genres)
    """
    if n_trailers <= 0 or n_genres <= 0:
        raise MMXError(f"random_scores needs positive sizes, got n_trailers={n_trailers}, n_genres={n_genres}")
    return np.random.default_rng(seed).random((n_trailers, n_genres))


class LinearProbe:
    """One logistic regression per genre on a fixed embedding (standardised).

    Parameters
    ----------
    C : float
        Inverse L2 regularisation strength of each logistic regression.
    max_iter : int
        Iterations of the lbfgs solver.

    Attributes
    ----------
    scaler_ : StandardScaler
    models_ : list of (LogisticRegression or float)
        One per genre; a float (the training prevalence) where the training
        labels of a genre hold a single class.
    n_genres_ : int

    Examples
    --------
    >>> probe = LinearProbe().fit(train_vectors, train_labels)
    >>> scores = probe.predict_proba(test_vectors)      # (n_test, n_genres)
    """

    def __init__(self, C: float = 1.0, max_iter: int = 1000):
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: np.ndarray, Y: np.ndarray) -> "LinearProbe":
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y)
        if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
            raise MMXError(f"LinearProbe.fit needs X (n, d) and Y (n, G) with the same n, got {X.shape} and {Y.shape}")
        if not self.C > 0:
            raise MMXError(f"LinearProbe C must be > 0, got {self.C}")
        self.scaler_ = StandardScaler().fit(X)
        Xs = self.scaler_.transform(X)
        self.models_ = [float(column.mean()) if column.min() == column.max()
                        else LogisticRegression(C=self.C, max_iter=self.max_iter).fit(Xs, column)
                        for column in Y.astype(int).T]
        self.n_genres_ = Y.shape[1]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probability of each genre, ndarray of shape (n_samples, n_genres)."""
        if not hasattr(self, "models_"):
            raise MMXError("LinearProbe is not fitted: call fit first")
        Xs = self.scaler_.transform(np.asarray(X, dtype=np.float64))
        return np.stack([np.full(len(Xs), m) if isinstance(m, float) else m.predict_proba(Xs)[:, 1]
                         for m in self.models_], axis=1)
