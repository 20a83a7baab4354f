"""matching.topk.top_k_product: exact top-k (ties by index) against a dense reference."""
import numpy as np
import pytest
import scipy.sparse as sp

import matching.topk as topk
from matching.topk import top_k_product


def _reference(q, dt, k):
    full = (q @ dt).toarray()
    order = np.argsort(-full, axis=1, kind="stable")[:, : min(k, full.shape[1])]
    return order, np.take_along_axis(full, order, axis=1)


def _tied_matrices(rng, n_rows, n_feat, n_cols):
    """Non-negative sparse factors with few distinct values: many exact ties, zero rows,
    duplicated rows and columns, rows with fewer non-zeros than k."""
    q = sp.random(n_rows, n_feat, density=float(rng.uniform(0.005, 0.2)), format="csr",
                  random_state=int(rng.integers(1 << 30)))
    d = sp.random(n_feat, n_cols, density=float(rng.uniform(0.005, 0.2)), format="csr",
                  random_state=int(rng.integers(1 << 30)))
    q.data = np.ceil(q.data * 3) / 3  # values 1/3, 2/3, 1: products tie often
    d.data = np.ceil(d.data * 2) / 2
    q = q.tolil()
    q[0] = 0  # an empty query
    if n_rows > 3:
        q[1] = q[2]  # duplicated queries
        q[3] = 0
        q[3, 0] = 1.0  # a query touching one feature only
    d = d.tolil()
    if n_cols > 4:
        d[:, 1] = d[:, 0]  # duplicated documents
        d[:, 4] = d[:, 2]
    q, d = q.tocsr(), d.tocsr()
    q.sort_indices()
    d.sort_indices()
    return q, d


@pytest.mark.parametrize("seed", range(12))
def test_top_k_product_equals_dense_stable_sort(seed):
    rng = np.random.default_rng(seed)
    n_rows, n_feat, n_cols = int(rng.integers(5, 120)), int(rng.integers(3, 60)), int(rng.integers(5, 400))
    q, d = _tied_matrices(rng, n_rows, n_feat, n_cols)
    for k in (1, 2, 5, 10, 37, n_cols - 1, n_cols, n_cols + 3):
        ref_idx, ref_val = _reference(q, d, k)
        for chunk in (None, 1, 7):
            idx, val = top_k_product(q, d, k, chunk_size=chunk)
            assert idx.dtype == np.int64 and val.dtype == np.float64
            assert np.array_equal(idx, ref_idx), (k, chunk)
            assert np.array_equal(val, ref_val), (k, chunk)  # bitwise: same sums as SciPy


def test_sparse_path_is_used_and_handles_ties_across_the_cut(monkeypatch):
    calls = []
    real = topk._top_k_sparse
    monkeypatch.setattr(topk, "_top_k_sparse", lambda *a: calls.append(1) or real(*a))
    n_cols = 200
    d = sp.csr_matrix(np.ones((1, n_cols)))  # every document scores the same for every query
    q = sp.csr_matrix(np.array([[1.0], [0.0], [0.5]]))
    idx, val = top_k_product(q, d, 10, nonnegative=True)
    assert calls
    assert np.array_equal(idx, np.tile(np.arange(10), (3, 1)))
    assert np.array_equal(val, np.array([[1.0] * 10, [0.0] * 10, [0.5] * 10]))


def test_negative_entries_take_the_exact_dense_path():
    rng = np.random.default_rng(5)
    q = sp.random(30, 20, density=0.3, format="csr", random_state=1)
    d = sp.random(20, 300, density=0.3, format="csr", random_state=2)
    d.data -= 0.5  # negative scores: implicit zeros rank above them
    ref_idx, ref_val = _reference(q, d, 8)
    idx, val = top_k_product(q, d, 8)
    assert np.array_equal(idx, ref_idx) and np.array_equal(val, ref_val)
    assert rng is not None


def test_empty_inputs():
    d = sp.csr_matrix((5, 50))
    q = sp.csr_matrix((3, 5))
    idx, val = top_k_product(q, d, 4)
    assert np.array_equal(idx, np.tile(np.arange(4), (3, 1))) and not val.any()
    idx, val = top_k_product(sp.csr_matrix((0, 5)), d, 4)
    assert idx.shape == (0, 4)
    idx, val = top_k_product(q, d, 0)
    assert idx.shape == (3, 0)


def test_rows_recomputed_densely_a_block_at_a_time(monkeypatch):
    """Ties across the cut in many rows: those rows are recomputed in blocks of at most
    TOP_K_BLOCK_ENTRIES scores, and the result is still exact."""
    monkeypatch.setattr(topk, "TOP_K_BLOCK_ENTRIES", 500)  # 2 rows of 200 columns per block
    blocks = []
    real = topk._top_k_dense
    monkeypatch.setattr(topk, "_top_k_dense", lambda block, kk: blocks.append(block.shape) or real(block, kk))
    rng = np.random.default_rng(3)
    d = sp.csr_matrix(np.repeat(rng.integers(1, 3, size=(4, 1)).astype(float), 200, axis=1))
    q = sp.random(25, 4, density=0.6, format="csr", random_state=4)
    q.data = np.ceil(q.data * 2) / 2
    for k in (1, 5, 10):
        ref_idx, ref_val = _reference(q, d, k)
        idx, val = top_k_product(q, d, k, nonnegative=True)
        assert np.array_equal(idx, ref_idx) and np.array_equal(val, ref_val), k
    assert len(blocks) > 3 and max(rows for rows, _ in blocks) <= 2, blocks


@pytest.mark.parametrize("seed", range(4))
def test_ties_inside_the_top_k_are_ordered_by_column(seed):
    """Full rows whose tied values lie inside the returned entries (no redo): ordered by
    column, like a stable sort of the whole row."""
    rng = np.random.default_rng(seed)
    n_cols = 300
    d = sp.random(6, n_cols, density=0.5, format="csr", random_state=seed)
    d.data = np.ceil(d.data * 4) / 4  # a few distinct values: ties everywhere
    q = sp.csr_matrix(rng.integers(0, 3, size=(40, 6)).astype(float))
    ref_idx, ref_val = _reference(q, d, 10)
    idx, val = top_k_product(q, d, 10, nonnegative=True)
    assert np.array_equal(idx, ref_idx) and np.array_equal(val, ref_val)
