"""Item-item co-occurrence: products bought (or looked at) by the same people.

Similarity is the cosine between two products' weighted buyer vectors, each product keeping
its `NEIGHBOURS` most similar (a person's score for a product sums their weights on its
neighbours). `implicit`'s ALS was measured in its place (bench/recommend_als.py, figures in
bench/README.md): co-occurrence won on the simulated shop, ALS on Online Retail II.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

NEIGHBOURS = 50


def similarity(matrix: sp.csr_matrix) -> sp.csc_matrix:
    """Items x items cosine similarity of the columns of `matrix` (people x items), no
    self-similarity, each column keeping its `NEIGHBOURS` largest entries."""
    gram = (matrix.T @ matrix).tocsc().astype(np.float64)
    norms = np.sqrt(np.maximum(gram.diagonal(), 1e-12))
    gram.setdiag(0.0)
    gram.eliminate_zeros()
    scale = sp.diags(1.0 / norms)
    cosine = (scale @ gram @ scale).tocsc()
    if cosine.shape[0] > NEIGHBOURS:
        cols = []
        for j in range(cosine.shape[1]):
            start, end = cosine.indptr[j], cosine.indptr[j + 1]
            data, rows = cosine.data[start:end], cosine.indices[start:end]
            if len(data) > NEIGHBOURS:
                keep = np.argpartition(-data, NEIGHBOURS)[:NEIGHBOURS]
                data, rows = data[keep], rows[keep]
            cols.append((data, rows, np.full(len(data), j)))
        data = np.concatenate([c[0] for c in cols]) if cols else np.zeros(0)
        rows = np.concatenate([c[1] for c in cols]) if cols else np.zeros(0, int)
        colj = np.concatenate([c[2] for c in cols]) if cols else np.zeros(0, int)
        cosine = sp.csc_matrix((data, (rows, colj)), shape=cosine.shape)
    return cosine


class CoOccurrence:
    """Scores people's profiles (people x items, weighted) against learned similarity."""

    name = "cooccurrence"

    def fit(self, matrix: sp.csr_matrix) -> CoOccurrence:
        self.sim = similarity(matrix)
        return self

    def scores(self, profiles: sp.csr_matrix) -> np.ndarray:
        return np.asarray((profiles @ self.sim).todense())

    def because(self, profiles: sp.csr_matrix, items: np.ndarray) -> np.ndarray:
        """For each person (row) and recommended item (column of `items`), the item of their
        history that contributes most to its score (-1 when none)."""
        out = np.full(items.shape, -1, dtype=np.int64)
        dense = profiles.toarray()
        for r in range(items.shape[1]):
            contrib = dense * self.sim[:, items[:, r]].toarray().T  # people x items
            best = contrib.argmax(axis=1)
            has = contrib[np.arange(len(best)), best] > 0
            out[has, r] = best[has]
        return out
