"""Measured, not shipped: `implicit`'s alternating least squares (Hu, Koren and Volinsky's
confidence-weighted ALS) over the same recency-weighted profiles as `cooccur`.

A person's factors are solved from their own profile (`recalculate_user`), so anyone with a
profile can be scored; a reason names the item of their history whose factors are closest to
the recommended one's, weighted by how much it counts in the profile. `implicit` (0.7.3) is
not a dependency of the product: `pip install implicit==0.7.3` to measure it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Confidence 1 + weight (implicit's default alpha of 1); 64 factors and light regularisation
# for catalogues of tens to thousands of products. Set once, not searched.
FACTORS = 64
REGULARIZATION = 0.05
ITERATIONS = 20


class ALS:
    """Scores people's profiles with factors learned by `implicit`'s ALS."""

    name = "als"

    def fit(self, matrix: sp.csr_matrix) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        self.model = AlternatingLeastSquares(factors=FACTORS, regularization=REGULARIZATION,
                                             iterations=ITERATIONS,
                                             random_state=0, num_threads=1)
        with threadpool_limits(1, "blas"):
            self.model.fit(matrix.tocsr().astype(np.float32), show_progress=False)
        items = np.asarray(self.model.item_factors)
        norms = np.linalg.norm(items, axis=1, keepdims=True)
        self.unit = items / np.where(norms > 0, norms, 1.0)
        return self

    def scores(self, profiles: sp.csr_matrix) -> np.ndarray:
        users = self.model.recalculate_user(np.arange(profiles.shape[0]),
                                            profiles.tocsr().astype(np.float32))
        users = np.atleast_2d(np.asarray(users))
        return np.maximum(users @ np.asarray(self.model.item_factors).T, 0.0)

    def because(self, profiles: sp.csr_matrix, items: np.ndarray) -> np.ndarray:
        """For each person and recommended item, the history item closest to it in factor
        space, weighted by its profile weight (-1 when the person has no history)."""
        out = np.full(items.shape, -1, dtype=np.int64)
        dense = profiles.toarray()
        has = dense.sum(axis=1) > 0
        for r in range(items.shape[1]):
            closeness = self.unit @ self.unit[items[:, r]].T  # items x people
            contrib = np.where(dense > 0, dense * np.maximum(closeness.T, 0.0), -1.0)
            contrib[np.arange(len(items)), items[:, r]] = -1.0
            out[has, r] = contrib.argmax(axis=1)[has]
        return out
