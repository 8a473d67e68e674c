# Golden values for quietpoll.design.builders (replicate weights, as survey::as.svrepdesign).
#
# Run from the repository root:  Rscript tests/reference/make_golden_builders.R
# Writes tests/reference/golden/builders.json (self-contained: the data columns used are in it).
#
# Per case: row-level strata/PSU labels and the 0-based codes quietpoll's caller would pass
# (factor order of the labels; PSU labels of nested designs are "stratum.psu"), popsize, the
# full-sample weights, a variable y, the uncompressed replicate factors
# (weights(repdesign, "replication"), combined.weights = FALSE), scale, rscales, type, rho and
# svymean / svytotal of y with their replicate SEs (mse = FALSE).
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
options(survey.replicates.mse = FALSE)

num <- function(x) structure(paste0("[", paste(sprintf("%.17g", x), collapse = ","), "]"),
                             class = "json")
scalar <- function(x) structure(sprintf("%.17g", x), class = "json")
rows_of <- function(m) lapply(seq_len(nrow(m)), function(i) num(m[i, ]))
codes_of <- function(labels) as.integer(factor(labels)) - 1L

make_case <- function(name, des, repdes, y, strata_labels, psu_labels, popsize = NULL,
                      stratum_order = NULL, estimates = TRUE) {
  f <- as.matrix(weights(repdes, "replication"))
  out <- list(
    name = name,
    type = repdes$type,
    rho = scalar(repdes$rho),
    strata_labels = as.character(strata_labels),
    psu_labels = as.character(psu_labels),
    strata_codes = codes_of(strata_labels),
    psu_codes = codes_of(psu_labels),
    popsize = if (is.null(popsize)) NULL else num(popsize),
    weights = num(weights(des)),
    y = num(y),
    n_replicates = ncol(f),
    factors = rows_of(f),
    scale = scalar(repdes$scale),
    rscales = num(repdes$rscales)
  )
  if (!is.null(stratum_order)) out$stratum_order <- stratum_order
  if (estimates) {
    repdes <- update(repdes, .y = y)
    m <- svymean(~.y, repdes)
    t <- svytotal(~.y, repdes)
    out$mean <- scalar(coef(m))
    out$mean_se <- scalar(SE(m))
    out$total <- scalar(coef(t))
    out$total_se <- scalar(SE(t))
  }
  out
}

data(api)
data(scd)
cases <- list()

## JK1: apiclus1, one-stage cluster sample of districts, without and with fpc
d <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
cases[[length(cases) + 1]] <- make_case("apiclus1_jk1", d, as.svrepdesign(d, type = "JK1"),
  apiclus1$api00, rep("1", nrow(apiclus1)), apiclus1$dnum)
d <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
cases[[length(cases) + 1]] <- make_case("apiclus1_jk1_fpc", d, as.svrepdesign(d, type = "JK1"),
  apiclus1$api00, rep("1", nrow(apiclus1)), apiclus1$dnum, popsize = apiclus1$fpc)
# everything sampled: R drops all replicates (0 columns, scale 0)
d <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = rep(15, nrow(apiclus1)))
cases[[length(cases) + 1]] <- make_case("apiclus1_jk1_census", d, as.svrepdesign(d, type = "JK1"),
  apiclus1$api00, rep("1", nrow(apiclus1)), apiclus1$dnum, popsize = rep(15, nrow(apiclus1)),
  estimates = FALSE)

## JKn: apistrat (element sample, strata stype) with fpc
d <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
cases[[length(cases) + 1]] <- make_case("apistrat_jkn_fpc", d, as.svrepdesign(d, type = "JKn"),
  apistrat$api00, apistrat$stype, seq_len(nrow(apistrat)), popsize = apistrat$fpc)

## JKn: apistrat rows shuffled, PSU = snum: strata and PSUs appear out of factor order
set.seed(20240601)
sh <- apistrat[sample(nrow(apistrat)), ]
d <- svydesign(id = ~snum, strata = ~stype, weights = ~pw, data = sh)
cases[[length(cases) + 1]] <- make_case("apistrat_shuffled_jkn", d, as.svrepdesign(d, type = "JKn"),
  sh$api00, sh$stype, sh$snum)

## JKn: apiclus2-like two-stage design with a certainty stratum (N_h == n_h): no replicates
syn <- data.frame(
  st = rep(c("b", "c", "a"), c(7, 6, 5)),
  cl = c("k", "k", "j", "m", "j", "l", "m", "q", "p", "p", "q", "r", "r", "x", "y", "x", "z", "y"),
  w = c(3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1),
  y = c(5.1, 4.2, 3.3, 8.4, 2.5, 6.6, 7.7, 1.8, 9.9, 3.1, 4.4, 5.5, 2.6, 7.3, 6.2, 1.1, 3.9, 8.8),
  N = rep(c(10, 3, 3), c(7, 6, 5))
)
d <- svydesign(id = ~cl, strata = ~st, weights = ~w, data = syn, fpc = ~N, nest = TRUE)
cases[[length(cases) + 1]] <- make_case("synthetic_jkn_certainty", d, as.svrepdesign(d, type = "JKn"),
  syn$y, syn$st, paste(syn$st, syn$cl, sep = "."), popsize = syn$N)

## BRR / Fay / JKn on scd (3 strata ESA of 2 ambulances), with and without fpc (R's own tests)
scddes <- svydesign(data = scd, prob = ~1, id = ~ambulance, strata = ~ESA, nest = TRUE,
                    fpc = rep(5, 6))
scdnofpc <- svydesign(data = scd, prob = ~1, id = ~ambulance, strata = ~ESA, nest = TRUE)
scd_psu <- paste(scd$ESA, scd$ambulance, sep = ".")
cases[[length(cases) + 1]] <- make_case("scd_brr", scdnofpc, as.svrepdesign(scdnofpc, type = "BRR"),
  scd$arrests, scd$ESA, scd_psu)
cases[[length(cases) + 1]] <- make_case("scd_fay", scdnofpc,
  as.svrepdesign(scdnofpc, type = "Fay", fay.rho = 0.3), scd$alive, scd$ESA, scd_psu)
cases[[length(cases) + 1]] <- make_case("scd_brr_fpc_dropped", scddes,
  suppressWarnings(as.svrepdesign(scddes, type = "BRR")), scd$arrests, scd$ESA, scd_psu,
  popsize = rep(5, 6))
cases[[length(cases) + 1]] <- make_case("scd_jkn_fpc", scddes, as.svrepdesign(scddes, type = "JKn"),
  scd$arrests, scd$ESA, scd_psu, popsize = rep(5, 6))
cases[[length(cases) + 1]] <- make_case("scd_jkn", scdnofpc, as.svrepdesign(scdnofpc, type = "JKn"),
  scd$arrests, scd$ESA, scd_psu)

## Synthetic 2-PSU-per-stratum designs: text strata appearing out of sorted order, PSU labels
## whose sorted order differs from their order of appearance, rows interleaved.
pair_design <- function(nstrata, seed, numeric_strata = FALSE) {
  set.seed(seed)
  labels <- if (numeric_strata) seq_len(nstrata) else paste0("s", seq_len(nstrata))
  labels <- sample(labels)
  df <- do.call(rbind, lapply(labels, function(s) {
    k <- sample(2:4, 2, replace = TRUE)
    data.frame(st = s, cl = rep(sample(c("a", "b")), k))
  }))
  df <- df[sample(nrow(df)), ]
  df$w <- round(runif(nrow(df), 1, 10), 3)
  df$y <- round(rnorm(nrow(df), 50, 10), 2)
  df
}
for (spec in list(list(5, 11, "synthetic_brr_5"), list(13, 12, "synthetic_brr_13"),
                  list(27, 13, "synthetic_brr_27"), list(30, 14, "synthetic_brr_30"),
                  list(35, 15, "synthetic_brr_35"), list(45, 16, "synthetic_brr_45"))) {
  df <- pair_design(spec[[1]], spec[[2]])
  d <- svydesign(id = ~cl, strata = ~st, weights = ~w, data = df, nest = TRUE)
  cases[[length(cases) + 1]] <- make_case(spec[[3]], d, as.svrepdesign(d, type = "BRR"),
    df$y, df$st, paste(df$st, df$cl, sep = "."))
}
df <- pair_design(7, 21)
d <- svydesign(id = ~cl, strata = ~st, weights = ~w, data = df, nest = TRUE)
cases[[length(cases) + 1]] <- make_case("synthetic_fay_7", d,
  as.svrepdesign(d, type = "Fay", fay.rho = 0.5), df$y, df$st, paste(df$st, df$cl, sep = "."))
cases[[length(cases) + 1]] <- make_case("synthetic_jkn_7", d, as.svrepdesign(d, type = "JKn"),
  df$y, df$st, paste(df$st, df$cl, sep = "."))

## Numeric strata 1..12: factor order is numeric but brrweights sorts as.character(strata),
## so R gives Hadamard rows in the order "1","10","11","12","2",...; stratum_order records it.
df <- pair_design(12, 31, numeric_strata = TRUE)
d <- svydesign(id = ~cl, strata = ~st, weights = ~w, data = df, nest = TRUE)
psu_lab <- paste(df$st, df$cl, sep = ".")
lev <- sort(unique(df$st))
cases[[length(cases) + 1]] <- make_case("synthetic_brr_numeric_strata", d,
  as.svrepdesign(d, type = "BRR"), df$y, df$st, psu_lab,
  stratum_order = match(sort(as.character(lev)), as.character(lev)) - 1L)

## Unstratified JK1 with PSUs appearing out of sorted order
df <- data.frame(cl = c("q", "q", "c", "m", "c", "a", "m", "a", "z", "q"),
                 w = c(2, 2, 3, 1, 3, 5, 1, 5, 4, 2),
                 y = c(1.5, 2.5, 3.25, 4, 5, 6.75, 7, 8, 9.5, 10))
d <- svydesign(id = ~cl, weights = ~w, data = df)
cases[[length(cases) + 1]] <- make_case("synthetic_jk1", d, as.svrepdesign(d, type = "JK1"),
  df$y, rep("1", nrow(df)), df$cl)

## Bootstrap: random, so only scale / rscales / shape, plus the Taylor SE for comparison
boot <- list()
d <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
for (R in c(50, 200)) {
  set.seed(1)
  b <- as.svrepdesign(d, type = "bootstrap", replicates = R)
  s <- as.svrepdesign(d, type = "subbootstrap", replicates = R)
  boot[[length(boot) + 1]] <- list(replicates = R, scale = scalar(b$scale),
    rscales = num(b$rscales), sub_scale = scalar(s$scale), sub_rscales = num(s$rscales),
    n_replicates = ncol(weights(b, "replication")))
}
m <- svymean(~api00, d)
bootstrap <- list(
  strata_labels = as.character(apistrat$stype),
  strata_codes = codes_of(apistrat$stype),
  psu_codes = seq_len(nrow(apistrat)) - 1L,
  popsize = num(apistrat$fpc),
  weights = num(weights(d)),
  y = num(apistrat$api00),
  taylor_mean = scalar(coef(m)),
  taylor_se = scalar(SE(m)),
  runs = boot
)
# apiclus1 (15 clusters, one stratum): harmonic mean 15
d1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
set.seed(2)
b1 <- as.svrepdesign(d1, type = "bootstrap", replicates = 30)
bootstrap$apiclus1 <- list(replicates = 30, scale = scalar(b1$scale),
  psu_codes = codes_of(apiclus1$dnum))

## survey::hadamard(n): full matrices for small n, md5 of the rows (each + "\n") beyond
had_full <- lapply(0:48, function(n) {
  H <- hadamard(n)
  list(n = n, rows = apply(H, 1, paste, collapse = ""))
})
md5_of <- function(H) {
  tmp <- tempfile()
  writeLines(apply(H, 1, paste, collapse = ""), tmp)
  on.exit(unlink(tmp))
  unname(tools::md5sum(tmp))
}
had_md5 <- lapply(c(49:400, seq(410, 1000, by = 10), 1023, 1024, 1500, 2047, 2500, 3000), function(n) {
  H <- hadamard(n)
  list(n = n, size = nrow(H), md5 = md5_of(H))
})

out <- list(
  generated_by = "tests/reference/make_golden_builders.R",
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  cases = cases,
  bootstrap = bootstrap,
  hadamard_full = had_full,
  hadamard_md5 = had_md5
)
dir.create("tests/reference/golden", showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, json_verbatim = TRUE, auto_unbox = TRUE, null = "null"),
           "tests/reference/golden/builders.json")
cat("wrote tests/reference/golden/builders.json\n")
