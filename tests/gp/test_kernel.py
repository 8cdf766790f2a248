import numpy as np

from gpnas.space.encoding import Encoder
from gpnas.gp.kernel import GroupedRBFKernel


def _eq7_direct(Z1, Z2, masks, sigma, ell):
    """Eq. 7 evaluated pair by pair with the explicit masks l_i of Eq. 8 (lengthscales generalise its fixed scale)."""
    K = np.zeros((Z1.shape[0], Z2.shape[0]))
    for a in range(Z1.shape[0]):
        for b in range(Z2.shape[0]):
            for i, l in enumerate(masks):
                diff = l * (Z1[a] - Z2[b])
                K[a, b] += sigma[i] ** 2 * np.exp(-diff @ diff / (2 * ell[i] ** 2))
    return K


def test_grouped_kernel_matches_eq7_with_explicit_masks(small_space):
    for encoding in ("onehot", "ordinal"):
        enc = Encoder(small_space.n_options, small_space.groups, encoding)
        Z1 = enc.transform(small_space.sample(7, random_state=1))
        Z2 = enc.transform(small_space.sample(5, random_state=2))
        sigma, ell = np.array([0.7, 1.3, 0.4]), np.array([0.5, 2.0, 1.1])
        kernel = GroupedRBFKernel(enc.group_columns, sigma, ell)
        np.testing.assert_allclose(kernel(Z1, Z2), _eq7_direct(Z1, Z2, enc.masks(), sigma, ell), rtol=1e-12)
        np.testing.assert_allclose(np.diag(kernel(Z1)), kernel.diag(Z1))


def test_paper_scale_is_lengthscale_one_over_root_two(small_space):
    enc = Encoder(small_space.n_options, small_space.groups, "ordinal")
    Z = enc.transform(small_space.sample(6, random_state=3))
    sigma = np.array([1.0, 2.0, 0.5])
    kernel = GroupedRBFKernel(enc.group_columns, sigma, 1 / np.sqrt(2))
    paper = sum(
        s**2 * np.exp(-np.sum(((Z[:, None, :] - Z[None, :, :]) * l) ** 2, axis=-1)) for s, l in zip(sigma, enc.masks())
    )
    np.testing.assert_allclose(kernel(Z), paper, rtol=1e-12)


def test_kernel_gradient_matches_finite_differences(small_space):
    enc = Encoder(small_space.n_options, small_space.groups, "onehot")
    Z = enc.transform(small_space.sample(6, random_state=4))
    kernel = GroupedRBFKernel(enc.group_columns, [0.7, 1.3, 0.4], [0.5, 2.0, 1.1])
    theta = kernel.theta.copy()
    _, grad = kernel(Z, eval_gradient=True)
    eps = 1e-6
    for j in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[j] += eps
        down[j] -= eps
        kernel.theta = up
        K_up = kernel(Z)
        kernel.theta = down
        K_down = kernel(Z)
        np.testing.assert_allclose(grad[..., j], (K_up - K_down) / (2 * eps), atol=1e-7)


def test_table_lookups_equal_eq7_for_every_feature_mix(small_space):
    """One-hot groups combined in one table, a shared (interactions) group, and count features (a cell)."""
    from gpnas.io.tables import nasbench201_space

    cases = [(small_space, ["choices"]), (small_space, ["choices", "interactions"]),
             (nasbench201_space(), ["paths", "ops"]), (nasbench201_space(), ["choices", "effective", "paths", "ops"])]
    rng = np.random.default_rng(5)
    for space, features in cases:
        enc = Encoder(space.n_options, space.groups, "onehot", features, space.cell_features())
        Z1, Z2 = enc.transform(space.sample(9, random_state=6)), enc.transform(space.sample(4, random_state=7))
        h = len(enc.group_columns)
        sigma, ell = rng.uniform(0.3, 2.0, h), rng.uniform(0.3, 3.0, h)
        fast = GroupedRBFKernel(enc.group_columns, sigma, ell, enc.onehot_positions)
        plain = GroupedRBFKernel(enc.group_columns, sigma, ell)
        direct = _eq7_direct(Z1, Z2, enc.masks(), sigma, ell)
        np.testing.assert_allclose(fast(Z1, Z2), direct, rtol=1e-12)
        np.testing.assert_allclose(plain(Z1, Z2), direct, rtol=1e-12)
        np.testing.assert_allclose(fast.from_distances(fast.distances(Z1, Z2)), direct, rtol=1e-12)
        # the linear mean's prior covariance folded in (one table when the one-hot groups cover every column)
        linear = 0.7 + 0.3 * Z1 @ Z2.T
        np.testing.assert_allclose(fast.cross(Z1, Z2, 0.7, 0.3), direct + linear, rtol=1e-12)
        np.testing.assert_allclose(plain.cross(Z1, Z2, 0.7, 0.3), direct + linear, rtol=1e-12)
