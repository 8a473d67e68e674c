# Golden values for issue 13's R parity fixes (tests/reference/test_parity_fixes_vs_r.py).
#
# Run from the repository root:  Rscript tests/reference/make_golden_parity.R
# Writes tests/reference/data/brr12.csv (synthetic, labelled) and tests/reference/golden/parity.json.
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
options(survey.replicates.mse = FALSE)
scalar <- function(x) structure(sprintf("%.17g", x), class = "json")
num <- function(x) structure(paste0("[", paste(sprintf("%.17g", x), collapse = ","), "]"), class = "json")
est <- function(e) list(estimate = num(coef(e)), se = num(SE(e)))
out <- list()

## 1. BRR / Fay from 12 numeric strata, 2 PSUs each: R gives Hadamard rows in the character order
##    of the labels ("1","10","11","12","2",...), not the numeric order.
set.seed(20261204)
brr <- do.call(rbind, lapply(sample(1:12), function(h) {
  do.call(rbind, lapply(1:2, function(j) {
    k <- sample(2:4, 1)
    data.frame(stratum = h, psu = h * 10 + j, w = round(runif(k, 5, 20), 3),
               y = round(rnorm(k, 50 + h, 10), 3), b = rbinom(k, 1, 0.3))
  }))
}))
write.csv(brr, "tests/reference/data/brr12.csv", row.names = FALSE)
d <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = brr)
cases <- list()
for (spec in list(list(id = "BRR", type = "BRR", rho = 0), list(id = "Fay", type = "Fay", rho = 0.3))) {
  r <- if (spec$type == "BRR") as.svrepdesign(d, type = "BRR") else
    as.svrepdesign(d, type = "Fay", fay.rho = spec$rho)
  f <- as.matrix(weights(r, "analysis"))
  cases[[spec$id]] <- list(
    type = r$type, rho = scalar(spec$rho), scale = scalar(r$scale), n_replicates = ncol(f),
    repweights_first_row = num(f[1, ]), repweights_col_sums = num(colSums(f)),
    mean_y = est(svymean(~y, r)), total_y = est(svytotal(~y, r)), mean_b = est(svymean(~b, r))
  )
}
out$brr12 <- cases

## 2. Multistage fpc decided over the whole fpc matrix (R's as.fpc): fractions at stage 1 with a
##    take-all stage 2 (a column of 1s), and a take-all stage 1 with fractions at stage 2.
##    apiclus2 (two-stage: districts, then schools), fractions derived from its fpc1 / fpc2.
data(api)
a <- apiclus2
a$one <- 1
a$frac1 <- 40 / a$fpc1
a$frac2 <- ave(a$snum, a$dnum, FUN = length) / a$fpc2
write.csv(a[, c("dnum", "snum", "api00", "one", "frac1", "frac2", "fpc1")], "tests/reference/data/apiclus2_frac.csv",
          row.names = FALSE)
fpc <- list()
for (f in list(c("frac1", "one"), c("one", "frac2"), c("frac1", "frac2"))) {
  d <- svydesign(ids = ~dnum + snum, fpc = reformulate(f), data = a)
  m <- svymean(~api00, d)
  fpc[[paste(f, collapse = "+")]] <- list(fpc = f, estimate = scalar(coef(m)), se = scalar(SE(m)))
}
# sizes at stage 1 with 1s at stage 2: R reads the matrix as sizes, so stage 2 is >100% sampling
fpc$sizes_with_ones <- tryCatch({ svydesign(ids = ~dnum + snum, fpc = ~fpc1 + one, data = a); "no error" },
  error = function(e) conditionMessage(e))
out$fpc <- fpc

## 3. Likelihood interval of a proportion (svyciprop(method = "likelihood")) when the variable has
##    missing values: svyglm drops the NA rows but rescales the prior weights by the mean weight of
##    every row of the design (NA rows included), and its Pearson residuals carry sqrt(prior / sampling)
##    with the sampling weights rescaled over the kept rows.  Stratified cluster sample, 12% missing.
set.seed(13)
na <- do.call(rbind, lapply(1:8, function(h) do.call(rbind, lapply(1:3, function(j) {
  k <- sample(6:12, 1)
  data.frame(stratum = h, psu = h * 10 + j, w = round(runif(k, 1, 30), 2),
             y = rbinom(k, 1, 0.15 + 0.02 * h))
}))))
na$y[sample(nrow(na), round(0.12 * nrow(na)))] <- NA
na$g <- ifelse(na$psu %% 10 == 1 | na$stratum <= 2, "u", "v")  # domains for svyby
write.csv(na, "tests/reference/data/ciprop_na.csv", row.names = FALSE, na = "")
d <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = na)
cc <- subset(d, !is.na(y))
lik <- list()
for (level in c(0.9, 0.95)) {
  ci <- attr(svyciprop(~y, d, method = "likelihood", level = level), "ci")
  cc_ci <- attr(svyciprop(~y, cc, method = "likelihood", level = level), "ci")
  inf_ci <- attr(svyciprop(~y, d, method = "likelihood", level = level, df = Inf), "ci")
  lik[[length(lik) + 1]] <- list(level = level, degf = degf(d), ci = num(ci), complete_case_ci = num(cc_ci),
                                 df_inf_ci = num(inf_ci))
}
m <- svymean(~y, d, na.rm = TRUE)
# by domain (svyby's subsets): each domain's rows, missing values included, rescale the weights
by_dom <- lapply(c("u", "v"), function(lev) {
  s <- subset(d, g == lev)
  list(domain = lev, degf = degf(s), ci = num(attr(svyciprop(~y, s, method = "likelihood"), "ci")))
})
out$likelihood_na <- list(estimate = scalar(coef(m)), se = scalar(SE(m)), cases = lik, by_domain = by_dom)

## 4a. --lonely-psu average with a lonely unit at stage 2: R's multistage handles each stage-1 unit
##     on its own, so the lone stage-2 unit has no other stratum to average over: NaN.
set.seed(7)
rows <- list()
for (h in 1:4) for (j in 1:3) {
  nssu <- if (h == 1 && j == 1) 1 else sample(2:3, 1)
  for (s in seq_len(nssu)) for (k in 1:2)
    rows[[length(rows) + 1]] <- data.frame(stratum = h, psu = h * 10 + j, ssu = (h * 10 + j) * 10 + s,
                                           N1 = 20, N2 = 6, y = round(rnorm(1, 10 + h, 3), 3))
}
ml <- do.call(rbind, rows)
write.csv(ml, "tests/reference/data/lonely_stage2.csv", row.names = FALSE)
d <- svydesign(ids = ~psu + ssu, strata = ~stratum, fpc = ~N1 + N2, data = ml)
stage2 <- list()
for (lp in c("average", "adjust", "remove", "certainty")) {
  options(survey.lonely.psu = lp)
  m <- svymean(~y, d)
  stage2[[lp]] <- list(estimate = scalar(coef(m)), se = if (is.nan(SE(m))) "NaN" else scalar(SE(m)))
}
out$lonely_stage2 <- stage2

## 4b. survey.adjust.domain.lonely: a domain found in one PSU of a stratum that has three.
##     Domain "b" lies in one PSU of strata 1 and 2, in two PSUs of stratum 3, absent from 4.
set.seed(11)
dl <- do.call(rbind, lapply(1:4, function(h) do.call(rbind, lapply(1:3, function(j) {
  data.frame(stratum = h, psu = h * 10 + j, w = round(runif(4, 2, 9), 2), y = round(rnorm(4, 5 + h, 2), 3),
             dom = if ((h <= 2 && j == 1) || (h == 3 && j <= 2)) c("a", "b", "b", "a") else "a")
}))))
write.csv(dl, "tests/reference/data/domain_lonely.csv", row.names = FALSE)
d <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = dl)
dom <- list()
for (adj in c(FALSE, TRUE)) for (lp in c("adjust", "average", "remove")) {
  options(survey.lonely.psu = lp, survey.adjust.domain.lonely = adj)
  b <- suppressWarnings(svyby(~y, ~dom, d, svymean))
  dom[[length(dom) + 1]] <- list(adjust_domain_lonely = adj, lonely_psu = lp, domains = b$dom,
                                 estimate = num(coef(b)), se = num(SE(b)))
}
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE)
out$domain_lonely <- dom

writeLines(toJSON(out, json_verbatim = TRUE, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/golden/parity.json")
