# make_golden_mubp.R -- an independent R implementation of the MUBP (Andridge, West, Little, Boonstra
# and Alvarado-Leiton 2019, JRSS A), written from the paper's two-step maximum-likelihood estimator,
# for quietpoll.estimators.mubp: probit proxy by glm(binomial(link = "probit")) at tight tolerance,
# the two-step biserial correlation by optimize(), MUBP(phi) for phi = 0, 0.25, 0.5, 0.75, 1.
#
# Draws a synthetic, labelled non-probability sample (tests/reference/data/mubp.csv), with selection
# depending on the outcome, and writes tests/reference/golden/mubp.json. Run from the repository root:
#   Rscript tests/reference/make_golden_mubp.R
# Deterministic (set.seed).

suppressPackageStartupMessages(library(jsonlite))
if (!dir.exists("tests/reference")) stop("run from the repository root")
set.seed(20261205)

# population of 20000: z1 continuous, z2 0/1, latent u, y = 1{u > 0}; selection favours y = 1 and z1
Np <- 20000
z1 <- rnorm(Np)
z2 <- rbinom(Np, 1, 0.4)
u <- -0.3 + 0.6 * z1 + 0.5 * z2 + rnorm(Np)
yp <- as.integer(u > 0)
sel <- rbinom(Np, 1, plogis(-3.2 + 0.5 * z1 + 0.6 * yp)) == 1
d <- data.frame(y = yp[sel], z1 = round(z1[sel], 6), z2 = z2[sel])
write.csv(d, "tests/reference/data/mubp.csv", row.names = FALSE)
pop <- data.frame(z1 = round(z1, 6), z2 = z2)
means <- colMeans(pop)
covs <- cov(pop) * (Np - 1) / Np

mubp_r <- function(d, means, covs, N, phis) {
  fit <- glm(y ~ z1 + z2, family = binomial(link = "probit"), data = d,
             control = glm.control(epsilon = 1e-14, maxit = 100))
  B <- coef(fit)
  Z <- as.matrix(d[, c("z1", "z2")])
  x <- drop(cbind(1, Z) %*% B)
  n <- nrow(d)
  xm0 <- mean(x); xv0 <- mean((x - xm0)^2)
  f <- if (is.null(N)) 0 else n / N
  if (is.null(N)) {
    zm1 <- means; S1 <- covs
  } else {
    zs <- colMeans(Z); Ss <- cov(Z) * (n - 1) / n
    zm1 <- (N * means - n * zs) / (N - n)
    S1 <- if (is.null(covs)) NULL else
      (N * covs - n * Ss - n * tcrossprod(zs - means) - (N - n) * tcrossprod(zm1 - means)) / (N - n)
  }
  xm1 <- B[1] + sum(zm1 * B[-1])
  xv1 <- if (is.null(S1)) xv0 else drop(t(B[-1]) %*% S1 %*% B[-1])
  ybar <- mean(d$y)
  w <- qnorm(1 - ybar)
  nll <- function(p) {
    a <- -(w + xm0 * p / sqrt(xv0)) / sqrt(1 - p^2)
    b <- (p / sqrt(xv0)) / sqrt(1 - p^2)
    lin <- a + b * x
    -sum(d$y * pnorm(lin, log.p = TRUE) + (1 - d$y) * pnorm(lin, lower.tail = FALSE, log.p = TRUE))
  }
  rho <- optimize(nll, c(-0.99, 0.99), tol = 1e-12)$minimum
  out <- sapply(phis, function(phi) {
    g <- if (phi == 1) 1 / rho else (phi + (1 - phi) * rho) / (phi * rho + (1 - phi))
    m1 <- -w + g * (xm1 - xm0) / sqrt(xv0)
    v1 <- max(1 + g^2 * (xv1 - xv0) / xv0, .Machine$double.eps)
    ybar - (f * ybar + (1 - f) * pnorm(m1 / sqrt(v1)))
  })
  list(coef = unname(B), rho = unbox(rho), proxy_sample_mean = unbox(xm0), proxy_sample_var = unbox(xv0),
       proxy_nonsampled_mean = unbox(unname(xm1)), proxy_nonsampled_var = unbox(xv1), mubp = out)
}
phis <- c(0, 0.25, 0.5, 0.75, 1)
cases <- list(
  c(list(id = unbox("means-only"), population_size = NULL, with_cov = unbox(FALSE)),
    mubp_r(d, means, NULL, NULL, phis)),
  c(list(id = unbox("means-cov"), population_size = NULL, with_cov = unbox(TRUE)),
    mubp_r(d, means, covs, NULL, phis)),
  c(list(id = unbox("means-cov-N"), population_size = unbox(Np), with_cov = unbox(TRUE)),
    mubp_r(d, means, covs, Np, phis))
)
write(toJSON(list(n = unbox(nrow(d)), population_mean_y = unbox(mean(yp)), sample_mean_y = unbox(mean(d$y)),
                  means = as.list(means), cov = unname(covs), phi = phis, cases = cases),
             digits = NA, null = "null", auto_unbox = FALSE, pretty = TRUE),
      "tests/reference/golden/mubp.json")
cat("n =", nrow(d), " ybar =", mean(d$y), " truth =", mean(yp), "\n")
print(sapply(cases, function(c) c$mubp))
