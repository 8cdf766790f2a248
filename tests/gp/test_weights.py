import numpy as np

from gpnas.gp.weights import weight_posterior


def _problem(n=12, p=4, seed=0):
    rng = np.random.default_rng(seed)
    Phi = np.hstack([np.ones((n, 1)), rng.standard_normal((n, p - 1))])
    M = rng.standard_normal((n, n))
    K = M @ M.T / n + 0.3 * np.eye(n)
    x = rng.standard_normal(n)
    mu = rng.standard_normal(p)
    B = rng.standard_normal((p, p))
    Sigma = B @ B.T + 0.5 * np.eye(p)
    return Phi, K, x, mu, Sigma


def test_theorem1_and_2_match_information_form_and_woodbury_form():
    Phi, K, x, mu, Sigma = _problem()
    L = np.linalg.cholesky(K)
    A, b = np.linalg.solve(L, Phi), np.linalg.solve(L, x)
    mu_hat, Sigma_hat = weight_posterior(mu, Sigma, A, b)
    Kinv, Sinv = np.linalg.inv(K), np.linalg.inv(Sigma)
    # information form (Theorem 2 as printed, and the stationary point of Eq. 27)
    info_cov = np.linalg.inv(Phi.T @ Kinv @ Phi + Sinv)
    info_mean = info_cov @ (Phi.T @ Kinv @ x + Sinv @ mu)
    # Woodbury form: Theorem 1 with its shapes corrected
    gain = Sigma @ Phi.T @ np.linalg.inv(K + Phi @ Sigma @ Phi.T)
    wood_mean = mu + gain @ (x - Phi @ mu)
    wood_cov = Sigma - gain @ Phi @ Sigma
    np.testing.assert_allclose(mu_hat, info_mean, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(mu_hat, wood_mean, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(Sigma_hat, info_cov, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(Sigma_hat, wood_cov, rtol=1e-9, atol=1e-10)


def test_gradient_of_eq25_vanishes_at_theorem1_mean():
    Phi, K, x, mu, Sigma = _problem(seed=1)
    L = np.linalg.cholesky(K)
    mu_hat, _ = weight_posterior(mu, Sigma, np.linalg.solve(L, Phi), np.linalg.solve(L, x))
    grad = Phi.T @ np.linalg.solve(K, x - Phi @ mu_hat) - np.linalg.solve(Sigma, mu_hat - mu)  # Eq. 27
    np.testing.assert_allclose(grad, 0, atol=1e-9)


def test_posterior_tightens_and_handles_singular_prior():
    Phi, K, x, mu, Sigma = _problem(seed=2)
    Sigma[0, :] = Sigma[:, 0] = 0  # a weight fixed by the prior: information form would need Sigma^-1
    L = np.linalg.cholesky(K)
    mu_hat, Sigma_hat = weight_posterior(mu, Sigma, np.linalg.solve(L, Phi), np.linalg.solve(L, x))
    assert mu_hat[0] == mu[0]
    assert np.all(np.linalg.eigvalsh(Sigma - Sigma_hat) > -1e-10)
