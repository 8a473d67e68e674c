# make_golden_listreg.R -- golden values for quietpoll's linear list-experiment regression (Imai 2011's
# linear model, ictreg(method = "lm")), which is the design-based regression
#     svyglm(count ~ (x1 + x2) * treat)
# computed with R's survey package on complex designs: stratified cluster sample with fpc, the same
# without fpc, two-stage, post-stratified and calibrated, JK1 replicate weights from the cluster design, and
# missing covariate values.
#
# Writes the synthetic data set tests/reference/data/listreg.csv (drawn here, set.seed, labelled
# synthetic) and tests/reference/golden/listreg.json. Run from the repository root:
#   Rscript tests/reference/make_golden_listreg.R
# Requires R with survey (4.1.1 was used) and jsonlite; deterministic.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
if (!dir.exists("tests/reference")) stop("run from the repository root")
options(survey.lonely.psu = "fail", warn = 1)
set.seed(20261204)

# ---- synthetic list experiment: 4 strata x 8 PSUs x 2 SSUs x 6 respondents ------------------------
J <- 3
H <- 4; A <- 8; B <- 2; m <- 6
d <- expand.grid(k = 1:m, ssu = 1:B, psu = 1:A, stratum = 1:H)
n <- nrow(d)
d$psu <- (d$stratum - 1) * A + d$psu
d$ssu <- (d$psu - 1) * B + d$ssu
d$fpc1 <- c(20, 30, 25, 40)[d$stratum]
d$fpc2 <- 10
u <- rnorm(H * A, sd = 0.5)[d$psu]
d$x1 <- round(rnorm(n) + u, 4)
d$x2 <- sample(c("a", "b", "c"), n, replace = TRUE, prob = c(0.5, 0.3, 0.2))
d$pw <- round(runif(n, 5, 25) * c(1, 1.5, 2, 3)[d$stratum], 3)
d$treat <- rbinom(n, 1, 0.5)
h <- plogis(-0.8 + 0.6 * d$x1 + c(a = 0, b = 0.7, c = -0.5)[d$x2])
g <- plogis(0.1 - 0.4 * d$x1 + u)
d$count <- rbinom(n, J, g) + d$treat * rbinom(n, 1, h)
d$x1_na <- d$x1
d$x1_na[sample(n, 12)] <- NA
d$k <- NULL
write.csv(d, "tests/reference/data/listreg.csv", row.names = FALSE, na = "")

# ---- designs -------------------------------------------------------------------------------------
designs <- list(
  strat_clus_fpc = list(spec = list(weights = unbox("pw"), strata = unbox("stratum"), ids = "psu", fpc = "fpc1"),
                        des = svydesign(ids = ~psu, strata = ~stratum, weights = ~pw, fpc = ~fpc1, data = d)),
  strat_clus = list(spec = list(weights = unbox("pw"), strata = unbox("stratum"), ids = "psu", fpc = character(0)),
                    des = svydesign(ids = ~psu, strata = ~stratum, weights = ~pw, data = d)),
  two_stage = list(spec = list(weights = unbox("pw"), strata = unbox("stratum"), ids = c("psu", "ssu"),
                               fpc = c("fpc1", "fpc2")),
                   des = svydesign(ids = ~psu + ssu, strata = ~stratum, weights = ~pw, fpc = ~fpc1 + fpc2,
                                   data = d))
)
jk <- as.svrepdesign(svydesign(ids = ~psu, weights = ~pw, data = d), type = "JK1")
rw <- weights(jk, "analysis")
colnames(rw) <- sprintf("rw%03d", seq_len(ncol(rw)))
write.csv(cbind(d, rw), "tests/reference/data/listreg_jk1.csv", row.names = FALSE, na = "")

cases <- list()
add <- function(id, design_id, des, spec, formula, data = "listreg", replicate = NULL, weighting = NULL) {
  f <- as.formula(formula)
  fit <- svyglm(f, design = des)
  s <- summary(fit)
  cf <- coef(s)
  cases[[length(cases) + 1]] <<- list(
    id = unbox(id), design_id = unbox(design_id), data = unbox(data), spec = spec, replicate = replicate,
    weighting = weighting,
    formula = unbox(formula), terms = rownames(cf), estimate = unname(cf[, 1]), se = unname(cf[, 2]),
    df_residual = unbox(fit$df.residual), n = unbox(length(fit$y)), vcov = unname(as.matrix(vcov(fit))))
}
for (nm in names(designs)) {
  add(paste0(nm, "-x1x2"), nm, designs[[nm]]$des, designs[[nm]]$spec, "count ~ (x1 + x2) * treat")
  add(paste0(nm, "-x1"), nm, designs[[nm]]$des, designs[[nm]]$spec, "count ~ x1 * treat")
  add(paste0(nm, "-na"), nm, designs[[nm]]$des, designs[[nm]]$spec, "count ~ (x1_na + x2) * treat")
}
# weighted designs: post-stratified on x2, and linear calibration to x2 and the total of x1
targets <- list(a = 1500, b = 900, c = 600)
Npop <- 3000
ps <- postStratify(designs$strat_clus_fpc$des, ~x2, data.frame(x2 = names(targets), Freq = unlist(targets)))
add("poststrat-x1x2", "strat_clus_fpc", ps, designs$strat_clus_fpc$spec, "count ~ (x1 + x2) * treat",
    weighting = list(method = unbox("poststratify"), targets = list(x2 = lapply(targets, unbox)),
                     population = unbox(Npop)))
cal <- calibrate(designs$strat_clus$des, ~x2 + x1, c(Npop, targets$b, targets$c, 150))
add("calibrated-x1x2", "strat_clus", cal, designs$strat_clus$spec, "count ~ (x1 + x2) * treat",
    weighting = list(method = unbox("linear"), targets = list(x2 = lapply(targets, unbox), x1 = unbox(150)),
                     population = unbox(Npop)))

rjk <- svrepdesign(data = cbind(d, rw), repweights = "rw[0-9]+", weights = ~pw, type = "JK1",
                   combined.weights = TRUE, scale = jk$scale, rscales = jk$rscales)
add("jk1-x1x2", "jk1", rjk, NULL, "count ~ (x1 + x2) * treat", data = "listreg_jk1",
    replicate = list(type = unbox("JK1"), scale = unbox(jk$scale), rscales = jk$rscales))
add("jk1-na", "jk1", rjk, NULL, "count ~ (x1_na + x2) * treat", data = "listreg_jk1",
    replicate = list(type = unbox("JK1"), scale = unbox(jk$scale), rscales = jk$rscales))

write(toJSON(list(survey_version = unbox(as.character(packageVersion("survey"))), J = unbox(J), cases = cases),
             digits = NA, null = "null", pretty = TRUE),
      "tests/reference/golden/listreg.json")
cat("wrote", length(cases), "cases\n")
