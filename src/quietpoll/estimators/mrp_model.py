"""MRP's multilevel models fitted by NUTS in NumPyro, and their convergence diagnostics (see mrp.py).

Direct question (``y`` 0/1)::

    y_i ~ Bernoulli(logit^-1(alpha + X_i beta + sum_g sigma_g z_g[group_g(i)]))
    alpha ~ N(0, 2.5), beta_k ~ N(0, 2.5)  (X standardized: centred, scaled by its sd in the data)
    sigma_g ~ HalfNormal(1), z_g ~ N(0, 1)  (non-centred random intercepts a_g = sigma_g z_g)

List experiment (as R's ``ictregBayesHier``): the sensitive answer Z has the model above; the control
count Y(0) ~ Binomial(J, logit^-1(alpha_c + X beta_c + sum_g sigma_cg z_cg[group_g])) with the same
priors; the observed count is Y = Y(0) + T Z, and Z is marginalized::

    control row:  log b(y; g)                 treated row:  log[h b(y - 1; g) + (1 - h) b(y; g)]

with b(k; g) the Binomial(J, g) probability of k (0 outside 0..J) and h the sensitive probability.

jax and numpyro are imported inside the functions: ``import quietpoll`` and the CLI's other paths
never load them. Compiled samplers are kept per model shape (``jit_model_args``), so refits of the
same shape (the simulation benchmark) do not compile again; results depend only on the data and the
seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PRIOR_SCALE = 2.5  # alpha, beta ~ N(0, 2.5)
SIGMA_SCALE = 1.0  # sigma_g ~ HalfNormal(1)
_CACHE: dict = {}
#: compiled samplers kept at most; each holds about a thousand memory maps of compiled code, and a process
#: may have 65,530 (vm.max_map_count) before XLA's compiler fails (a segmentation fault)
CACHE_MAX = 8


def forget_compiled() -> None:
    """Drop the kept samplers and JAX's compiled code (its memory maps with them)."""
    _CACHE.clear()
    import jax

    jax.clear_caches()


@dataclass
class Draws:
    """Posterior draws by chain: {site: array (chains, samples, ...)} and the sampler's divergences."""

    sites: dict
    divergences: int
    target_accept: float


def _model(n_levels: tuple[int, ...], p: int, list_exp: bool):
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    def linear(prefix, X, G):
        alpha = numpyro.sample(prefix + "alpha", dist.Normal(0.0, PRIOR_SCALE))
        eta = alpha + jnp.zeros(X.shape[0])
        if p:
            beta = numpyro.sample(prefix + "beta", dist.Normal(0.0, PRIOR_SCALE).expand([p]).to_event(1))
            eta = eta + X @ beta
        for j, L in enumerate(n_levels):
            sigma = numpyro.sample(f"{prefix}sigma_{j}", dist.HalfNormal(SIGMA_SCALE))
            z = numpyro.sample(f"{prefix}z_{j}", dist.Normal(0.0, 1.0).expand([L]).to_event(1))
            eta = eta + sigma * z[G[:, j]]
        return eta

    def direct(X, G, y):
        eta = linear("", X, G)
        numpyro.sample("y", dist.Bernoulli(logits=eta), obs=y)

    def listexp(X, G, y, treat, J):
        eta_s = linear("", X, G)
        eta_c = linear("c_", X, G)
        binom = dist.Binomial(total_count=J, logits=eta_c)
        lb_y = jnp.where(y <= J, binom.log_prob(jnp.clip(y, 0, J)), -jnp.inf)
        lb_y1 = jnp.where(y >= 1, binom.log_prob(jnp.clip(y - 1, 0, J)), -jnp.inf)
        log_h = -jnp.logaddexp(0.0, -eta_s)
        log_1h = -jnp.logaddexp(0.0, eta_s)
        treated = jnp.logaddexp(log_h + lb_y1, log_1h + lb_y)
        numpyro.factor("lik", jnp.sum(jnp.where(treat > 0, treated, lb_y)))

    return listexp if list_exp else direct


def sample(
    data: dict,
    n_levels: tuple[int, ...],
    *,
    list_exp: bool,
    seed: int,
    num_warmup: int,
    num_samples: int,
    num_chains: int,
    chain_method: str,
    target_accept: float,
) -> Draws:
    """NUTS draws of the model (module text) on `data` (X, G, y[, treat, J])."""
    import jax
    import jax.numpy as jnp
    from numpyro.infer import MCMC, NUTS

    p = int(data["X"].shape[1])
    key = (
        n_levels,
        p,
        list_exp,
        data["X"].shape[0],
        num_warmup,
        num_samples,
        num_chains,
        chain_method,
        float(target_accept),
    )
    mcmc = _CACHE.get(key)
    if mcmc is None:
        kernel = NUTS(_model(n_levels, p, list_exp), target_accept_prob=target_accept)
        mcmc = MCMC(
            kernel,
            num_warmup=num_warmup,
            num_samples=num_samples,
            num_chains=num_chains,
            chain_method=chain_method,
            progress_bar=False,
            jit_model_args=True,
        )
        if len(_CACHE) >= CACHE_MAX:
            forget_compiled()
        _CACHE[key] = mcmc
    args = {k: jnp.asarray(v) for k, v in data.items()}
    mcmc.run(jax.random.PRNGKey(seed), **args, extra_fields=("diverging",))
    sites = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    div = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
    return Draws(sites, div, float(target_accept))


def diagnostics(arrays: list[np.ndarray]) -> tuple[float, float]:
    """(max split R-hat, min ESS) over every scalar of `arrays` (each (chains, samples, ...)), with
    numpyro.diagnostics.split_gelman_rubin and effective_sample_size. NaN R-hat (a constant draw) counts
    as failing: +inf."""
    from numpyro.diagnostics import effective_sample_size, split_gelman_rubin

    rhat, ess = 1.0, np.inf
    for a in arrays:
        a = np.asarray(a, dtype=np.float64)
        a = a.reshape(a.shape[0], a.shape[1], -1)
        if a.shape[1] < 4:
            return np.inf, float(a.shape[0] * a.shape[1])
        r = np.asarray(split_gelman_rubin(a))
        e = np.asarray(effective_sample_size(a))
        rhat = max(rhat, float(np.max(np.where(np.isfinite(r), r, np.inf))))
        ess = min(ess, float(np.min(np.where(np.isfinite(e), e, 0.0))))
    return rhat, ess


def linear_draws(sites: dict, prefix: str, Xc: np.ndarray, Gc: np.ndarray) -> np.ndarray:
    """The linear predictor of every cell in every draw: (chains, samples, cells)."""
    eta = sites[prefix + "alpha"][..., None] + np.zeros(Xc.shape[0])
    if Xc.shape[1]:
        eta = eta + sites[prefix + "beta"] @ Xc.T
    for j in range(Gc.shape[1]):
        z = sites[f"{prefix}z_{j}"][..., Gc[:, j]]
        eta = eta + sites[f"{prefix}sigma_{j}"][..., None] * z
    return eta
