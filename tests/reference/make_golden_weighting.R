# Golden values for quietpoll.weighting (postStratify, rake, calibrate, trimWeights), computed
# with R's survey package (4.1.1 was used).
#
# Run from the repository root:  Rscript tests/reference/make_golden_weighting.R
# Writes tests/reference/golden/weighting.json. Deterministic (no random numbers).
#
# Data: the api CSVs in tests/reference/data/ (read with read.csv, na.strings = c("", "NA")),
# population margins computed from apipop.csv; replicate designs from the replicate CSVs already
# there (apiclus1_jk1.csv, apistrat_jkn.csv: columns rw001.. are combined analysis weights), built
# with svrepdesign(combined.weights = TRUE) and scale/rscales taken from as.svrepdesign.
# The Kalton & Flores-Cervantes (2003) example (a 4 x 3 cross-classification, 1000 sample units,
# 1500 population units) is rebuilt as in R survey's own tests/kalton.R; its rows are stored
# inline under "datasets" (columns a, b, ab = interaction label "a.b", an/bn = as.numeric(a/b)).
#
# Per case: id, data, design (same spec dict as golden/estimates.json), weighting (method,
# targets as study.toml's [weighting.targets], population, bounds, trim, maxit, epsilon),
# weights (final full-sample weights per row: weights(design) after weighting), for replicate
# designs replicate_weights_first3 (the first three recalibrated replicate columns,
# weights(design, "analysis")[, 1:3]), and estimates (svymean(~api00), svytotal(~enroll,
# na.rm = TRUE) with SEs; Kalton cases have none). Cases with expect_error = true must fail
# (R: "Calibration failed"); they have no weights. All numbers are written with %.17g.
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
options(survey.lonely.psu = "fail", survey.replicates.mse = FALSE, warn = 1)
if (!dir.exists("tests/reference")) stop("run from the repository root")

num <- function(x) structure(paste0("[", paste(sprintf("%.17g", as.numeric(x)), collapse = ","), "]"),
                             class = "json")
scalar <- function(x) if (is.null(x)) NULL else structure(sprintf("%.17g", as.numeric(x)), class = "json")
read_data <- function(name) {
  read.csv(file.path("tests/reference/data", paste0(name, ".csv")), stringsAsFactors = FALSE,
           na.strings = c("", "NA"), check.names = FALSE)
}

apipop <- read_data("apipop")
apiclus1 <- read_data("apiclus1")
apistrat <- read_data("apistrat")
clus1_jk1 <- read_data("apiclus1_jk1")
strat_jkn <- read_data("apistrat_jkn")

# population margins as named numeric vectors (names = levels as text)
popcount <- function(v) { t <- table(apipop[[v]]); setNames(as.numeric(t), names(t)) }
N <- nrow(apipop)
pop_stype <- popcount("stype")
pop_schwide <- popcount("sch.wide")
pop_compimp <- popcount("comp.imp")
pop_api99 <- sum(apipop$api99)
ptab <- function(v, counts) {   # a one-way population table for postStratify / rake
  df <- data.frame(names(counts), as.numeric(counts), stringsAsFactors = FALSE)
  names(df) <- c(v, "Freq")
  df
}

# ---- designs --------------------------------------------------------------------------------
taylor_spec <- function(weights, strata = NULL, ids = character(0), fpc = character(0)) {
  list(kind = "taylor", weights = weights, strata = strata, ids = ids, fpc = fpc, nest = FALSE,
       lonely_psu = "fail", probs = NULL)
}
dclus1 <- svydesign(ids = ~dnum, fpc = ~fpc, weights = ~pw, data = apiclus1)
dstrat <- svydesign(ids = ~1, strata = ~stype, fpc = ~fpc, weights = ~pw, data = apistrat)
spec_clus1 <- taylor_spec("pw", ids = "dnum", fpc = "fpc")
spec_strat <- taylor_spec("pw", strata = "stype", fpc = "fpc")

rep_from_csv <- function(data, template_rd) {
  cols <- grep("^rw[0-9]+$", names(data), value = TRUE)
  des <- svrepdesign(data = data, repweights = data[, cols], weights = ~pw, type = template_rd$type,
                     scale = template_rd$scale, rscales = template_rd$rscales,
                     combined.weights = TRUE, mse = FALSE)
  spec <- list(kind = "replicate", weights = "pw",
               replicates = list(columns = "rw*", type = template_rd$type, scale = scalar(template_rd$scale),
                                 rscales = num(template_rd$rscales), mse = FALSE))
  list(des = des, spec = spec)
}
# the CSVs hold weights(as.svrepdesign(...), "analysis"); rebuild the same scale/rscales
rd_clus1 <- as.svrepdesign(svydesign(ids = ~dnum, fpc = ~fpc, weights = ~pw, data = apiclus1),
                           type = "JK1", compress = FALSE)
rd_strat <- as.svrepdesign(svydesign(ids = ~1, strata = ~stype, fpc = ~fpc, weights = ~pw, data = apistrat),
                           type = "JKn", compress = FALSE)
r1 <- rep_from_csv(clus1_jk1, rd_clus1)
r2 <- rep_from_csv(strat_jkn, rd_strat)
plain <- function(m) { m <- unclass(as.matrix(m)); matrix(as.numeric(m), nrow(m)) }
stopifnot(max(abs(plain(weights(r1$des, "analysis")) - plain(weights(rd_clus1, "analysis")))) < 1e-9)

# ---- case helpers ---------------------------------------------------------------------------
cases <- list()
targets_json <- function(tg) lapply(tg, function(x) if (length(x) == 1 && is.null(names(x))) scalar(x)
                                              else lapply(as.list(x), scalar))
add_case <- function(id, data, spec, des_fun, weighting, estimates = TRUE, is_rep = FALSE) {
  res <- tryCatch(des_fun(), error = function(e) e)
  case <- list(id = id, data = data, design = spec, weighting = weighting)
  if (inherits(res, "error")) {
    case$expect_error <- TRUE
    case$r_error <- gsub("[0-9]+", "N", conditionMessage(res))  # stack sizes vary run to run
  } else {
    case$expect_error <- FALSE
    case$weights <- num(if (is_rep) weights(res, "sampling") else weights(res))
    if (is_rep) {
      rw <- as.matrix(weights(res, "analysis"))
      case$replicate_weights_first3 <- lapply(1:3, function(j) num(rw[, j]))
    }
    if (estimates) {
      m <- svymean(~api00, res)
      t <- svytotal(~enroll, res, na.rm = TRUE)
      case$estimates <- list(
        list(statistic = "mean", variable = "api00", estimate = scalar(coef(m)), se = scalar(SE(m))),
        list(statistic = "total", variable = "enroll", estimate = scalar(coef(t)), se = scalar(SE(t))))
    }
  }
  cases[[length(cases) + 1]] <<- case
  invisible(res)
}
wt <- function(method, targets, population = NULL, bounds = NULL, trim = NULL, maxit = NULL,
               epsilon = NULL) {
  list(method = method, targets = targets_json(targets), population = scalar(population),
       bounds = if (is.null(bounds)) NULL else num(bounds), trim = trim,
       maxit = maxit, epsilon = scalar(epsilon))
}
calpop <- function(...) {   # population vector for ~ cat1 + ... + numeric in model.matrix order
  c(N, ...)
}

# ---- Taylor designs: postStratify -----------------------------------------------------------
add_case("clus1-taylor-poststratify-stype", "apiclus1", spec_clus1,
         function() postStratify(dclus1, ~stype, ptab("stype", pop_stype)),
         wt("poststratify", list(stype = pop_stype), N))
add_case("clus1-taylor-poststratify-schwide", "apiclus1", spec_clus1,
         function() postStratify(dclus1, ~sch.wide, ptab("sch.wide", pop_schwide)),
         wt("poststratify", list(sch.wide = pop_schwide), N))
add_case("strat-taylor-poststratify-stype", "apistrat", spec_strat,   # own margins: no change
         function() postStratify(dstrat, ~stype, ptab("stype", pop_stype)),
         wt("poststratify", list(stype = pop_stype), N))
add_case("strat-taylor-poststratify-schwide", "apistrat", spec_strat,
         function() postStratify(dstrat, ~sch.wide, ptab("sch.wide", pop_schwide)),
         wt("poststratify", list(sch.wide = pop_schwide), N))

# ---- Taylor designs: rake -------------------------------------------------------------------
add_case("clus1-taylor-rake-stype-schwide", "apiclus1", spec_clus1,
         function() rake(dclus1, list(~stype, ~sch.wide),
                         list(ptab("stype", pop_stype), ptab("sch.wide", pop_schwide))),
         wt("rake", list(stype = pop_stype, sch.wide = pop_schwide), N, maxit = 10, epsilon = 1))
add_case("clus1-taylor-rake-stype-schwide-compimp", "apiclus1", spec_clus1,
         function() rake(dclus1, list(~stype, ~sch.wide, ~comp.imp),
                         list(ptab("stype", pop_stype), ptab("sch.wide", pop_schwide),
                              ptab("comp.imp", pop_compimp))),
         wt("rake", list(stype = pop_stype, sch.wide = pop_schwide, comp.imp = pop_compimp), N,
            maxit = 10, epsilon = 1))
add_case("clus1-taylor-rake-3-eps1e-6-maxit50", "apiclus1", spec_clus1,
         function() rake(dclus1, list(~stype, ~sch.wide, ~comp.imp),
                         list(ptab("stype", pop_stype), ptab("sch.wide", pop_schwide),
                              ptab("comp.imp", pop_compimp)),
                         control = list(maxit = 50, epsilon = 1e-6)),
         wt("rake", list(stype = pop_stype, sch.wide = pop_schwide, comp.imp = pop_compimp), N,
            maxit = 50, epsilon = 1e-6))
add_case("clus1-taylor-rake-3-maxit2-unconverged", "apiclus1", spec_clus1,   # R warns, keeps weights
         function() suppressWarnings(rake(dclus1, list(~stype, ~sch.wide, ~comp.imp),
                         list(ptab("stype", pop_stype), ptab("sch.wide", pop_schwide),
                              ptab("comp.imp", pop_compimp)),
                         control = list(maxit = 2, epsilon = 1e-9))),
         wt("rake", list(stype = pop_stype, sch.wide = pop_schwide, comp.imp = pop_compimp), N,
            maxit = 2, epsilon = 1e-9))
add_case("strat-taylor-rake-schwide-compimp", "apistrat", spec_strat,
         function() rake(dstrat, list(~sch.wide, ~comp.imp),
                         list(ptab("sch.wide", pop_schwide), ptab("comp.imp", pop_compimp))),
         wt("rake", list(sch.wide = pop_schwide, comp.imp = pop_compimp), N, maxit = 10, epsilon = 1))

# ---- Taylor designs: calibrate --------------------------------------------------------------
pop_lin <- c(N, pop_stype[["H"]], pop_stype[["M"]], pop_api99)
tg_lin <- list(stype = pop_stype, api99 = pop_api99)
add_case("clus1-taylor-calibrate-linear", "apiclus1", spec_clus1,
         function() calibrate(dclus1, ~stype + api99, pop_lin),
         wt("linear", tg_lin, N))
add_case("clus1-taylor-calibrate-linear-bounded", "apiclus1", spec_clus1,
         function() calibrate(dclus1, ~stype + api99, pop_lin, bounds = c(0.5, 2)),
         wt("linear", tg_lin, N, bounds = c(0.5, 2)))
add_case("clus1-taylor-calibrate-raking", "apiclus1", spec_clus1,
         function() calibrate(dclus1, ~stype + api99, pop_lin, calfun = "raking"),
         wt("raking", tg_lin, N))
add_case("clus1-taylor-calibrate-logit-0.5-2", "apiclus1", spec_clus1,
         function() calibrate(dclus1, ~stype + api99, pop_lin, calfun = "logit", bounds = c(0.5, 2)),
         wt("logit", tg_lin, N, bounds = c(0.5, 2)))
pop_lin3 <- c(N, pop_stype[["H"]], pop_stype[["M"]], pop_schwide[["Yes"]], pop_api99)
tg_lin3 <- list(stype = pop_stype, sch.wide = pop_schwide, api99 = pop_api99)
add_case("clus1-taylor-calibrate-raking-3", "apiclus1", spec_clus1,
         function() calibrate(dclus1, ~stype + sch.wide + api99, pop_lin3, calfun = "raking"),
         wt("raking", tg_lin3, N))
# the g-weights for ~stype range over [0.76, 1.75] (H needs 1.72x): bounds close to that limit
add_case("clus1-taylor-calibrate-logit-near-limit", "apiclus1", spec_clus1,
         function() calibrate(dclus1, ~stype + api99, pop_lin, calfun = "logit", bounds = c(0.7, 1.8)),
         wt("logit", tg_lin, N, bounds = c(0.7, 1.8)))
add_case("clus1-taylor-calibrate-logit-infeasible", "apiclus1", spec_clus1,
         function() suppressWarnings(calibrate(dclus1, ~stype + api99, pop_lin, calfun = "logit",
                                               bounds = c(0.9, 1.1))),
         wt("logit", tg_lin, N, bounds = c(0.9, 1.1)))
add_case("strat-taylor-calibrate-linear-schwide-api99", "apistrat", spec_strat,
         function() calibrate(dstrat, ~sch.wide + api99,
                              c(N, pop_schwide[["Yes"]], pop_api99)),
         wt("linear", list(sch.wide = pop_schwide, api99 = pop_api99), N))

# ---- Taylor designs: trimWeights (apistrat: pw = 15.1 (H), 20.36 (M), 44.21 (E)) --------------
tr <- function(lower, upper, strict) list(lower = scalar(lower), upper = scalar(upper), strict = strict)
add_case("strat-taylor-trim-20-40", "apistrat", spec_strat,
         function() trimWeights(dstrat, lower = 20, upper = 40),
         wt("trim", NULL, trim = tr(20, 40, FALSE)))
add_case("strat-taylor-trim-20-40-strict", "apistrat", spec_strat,
         function() trimWeights(dstrat, lower = 20, upper = 40, strict = TRUE),
         wt("trim", NULL, trim = tr(20, 40, TRUE)))
add_case("strat-taylor-trim-upper-30", "apistrat", spec_strat,
         function() trimWeights(dstrat, upper = 30),
         wt("trim", NULL, trim = tr(NULL, 30, FALSE)))
# infeasible: mean weight 6194/200 = 30.97 > 30, so R's strict recursion never ends (stack overflow)
add_case("strat-taylor-trim-upper-30-strict", "apistrat", spec_strat,
         function() trimWeights(dstrat, upper = 30, strict = TRUE),
         wt("trim", NULL, trim = tr(NULL, 30, TRUE)))
add_case("strat-taylor-trim-upper-32", "apistrat", spec_strat,
         function() trimWeights(dstrat, upper = 32),
         wt("trim", NULL, trim = tr(NULL, 32, FALSE)))
add_case("strat-taylor-trim-upper-32-strict", "apistrat", spec_strat,   # needs a second pass
         function() trimWeights(dstrat, upper = 32, strict = TRUE),
         wt("trim", NULL, trim = tr(NULL, 32, TRUE)))
add_case("strat-taylor-trim-lower-18", "apistrat", spec_strat,
         function() trimWeights(dstrat, lower = 18),
         wt("trim", NULL, trim = tr(18, NULL, FALSE)))
add_case("strat-taylor-trim-none-outside", "apistrat", spec_strat,
         function() trimWeights(dstrat, lower = 10, upper = 50),
         wt("trim", NULL, trim = tr(10, 50, FALSE)))

# ---- replicate designs ----
# calibrate() gets compress = FALSE: survey 4.1.1's default compress = NA stops with "missing value
# where TRUE/FALSE needed" for uncompressed replicate weights. A replicate whose grake fails to
# converge only warns in R (the last iterate is kept); see clus1jk1-replicate-calibrate-logit-0.5-2.------------------------------------------------------------------
add_case("clus1jk1-replicate-poststratify-stype", "apiclus1_jk1", r1$spec,
         function() postStratify(r1$des, ~stype, ptab("stype", pop_stype)),
         wt("poststratify", list(stype = pop_stype), N), is_rep = TRUE)
add_case("clus1jk1-replicate-rake-stype-schwide", "apiclus1_jk1", r1$spec,
         function() rake(r1$des, list(~stype, ~sch.wide),
                         list(ptab("stype", pop_stype), ptab("sch.wide", pop_schwide))),
         wt("rake", list(stype = pop_stype, sch.wide = pop_schwide), N, maxit = 10, epsilon = 1),
         is_rep = TRUE)
add_case("clus1jk1-replicate-rake-3", "apiclus1_jk1", r1$spec,
         function() rake(r1$des, list(~stype, ~sch.wide, ~comp.imp),
                         list(ptab("stype", pop_stype), ptab("sch.wide", pop_schwide),
                              ptab("comp.imp", pop_compimp))),
         wt("rake", list(stype = pop_stype, sch.wide = pop_schwide, comp.imp = pop_compimp), N,
            maxit = 10, epsilon = 1), is_rep = TRUE)
add_case("clus1jk1-replicate-calibrate-linear", "apiclus1_jk1", r1$spec,
         function() calibrate(r1$des, ~stype + api99, pop_lin, compress = FALSE),
         wt("linear", tg_lin, N), is_rep = TRUE)
add_case("clus1jk1-replicate-calibrate-raking", "apiclus1_jk1", r1$spec,
         function() calibrate(r1$des, ~stype + api99, pop_lin, compress = FALSE, calfun = "raking"),
         wt("raking", tg_lin, N), is_rep = TRUE)
add_case("clus1jk1-replicate-calibrate-logit-0.5-2", "apiclus1_jk1", r1$spec,
         function() calibrate(r1$des, ~stype + api99, pop_lin, compress = FALSE, calfun = "logit", bounds = c(0.5, 2)),
         wt("logit", tg_lin, N, bounds = c(0.5, 2)), is_rep = TRUE)
add_case("stratjkn-replicate-poststratify-schwide", "apistrat_jkn", r2$spec,
         function() postStratify(r2$des, ~sch.wide, ptab("sch.wide", pop_schwide)),
         wt("poststratify", list(sch.wide = pop_schwide), N), is_rep = TRUE)
add_case("stratjkn-replicate-rake-schwide-compimp", "apistrat_jkn", r2$spec,
         function() rake(r2$des, list(~sch.wide, ~comp.imp),
                         list(ptab("sch.wide", pop_schwide), ptab("comp.imp", pop_compimp))),
         wt("rake", list(sch.wide = pop_schwide, comp.imp = pop_compimp), N, maxit = 10, epsilon = 1),
         is_rep = TRUE)
add_case("stratjkn-replicate-calibrate-linear", "apistrat_jkn", r2$spec,
         function() calibrate(r2$des, ~sch.wide + api99, c(N, pop_schwide[["Yes"]], pop_api99), compress = FALSE),
         wt("linear", list(sch.wide = pop_schwide, api99 = pop_api99), N), is_rep = TRUE)

# ---- Kalton & Flores-Cervantes (2003), as in R survey's tests/kalton.R -----------------------
ab <- expand.grid(a = factor(1:4), b = factor(1:3))
kaltonsample <- ab[rep(1:12, c(20, 50, 100, 30, 40, 140, 50, 100, 40, 310, 50, 70)), ]
kaltonpop <- ab[rep(1:12, c(80, 60, 170, 55, 40, 150, 60, 165, 55, 340, 200, 125)), ]
rownames(kaltonsample) <- NULL
ks <- data.frame(a = as.integer(kaltonsample$a), b = as.integer(kaltonsample$b))
ks$ab <- paste(ks$a, ks$b, sep = ".")
ks$an <- as.numeric(kaltonsample$a)
ks$bn <- as.numeric(kaltonsample$b)
ks$ab_f <- factor(ks$ab)
ks$a_f <- kaltonsample$a
ks$b_f <- kaltonsample$b
kp_a <- { t <- table(kaltonpop$a); setNames(as.numeric(t), names(t)) }
kp_b <- { t <- table(kaltonpop$b); setNames(as.numeric(t), names(t)) }
kp_ab <- { t <- table(paste(as.integer(kaltonpop$a), as.integer(kaltonpop$b), sep = ".")); setNames(as.numeric(t), names(t)) }
KN <- nrow(kaltonpop)
kpf <- data.frame(a_f = kaltonpop$a, b_f = kaltonpop$b)
dk <- suppressWarnings(svydesign(id = ~1, data = ks))
jointpop <- colSums(model.matrix(~a * b, kaltonpop))
marginalpop <- colSums(model.matrix(~a + b, kaltonpop))
gregpop <- colSums(model.matrix(~as.numeric(a) + as.numeric(b), kaltonpop))
kspec <- list(kind = "taylor", weights = NULL, strata = NULL, ids = character(0), fpc = character(0),
              nest = FALSE, lonely_psu = "fail", probs = NULL)
kab <- list(a = kp_a, b = kp_b)
add_case("kalton-poststratify-ab", "kalton", kspec,
         function() postStratify(dk, ~a_f + b_f, xtabs(~a_f + b_f, kpf)),
         wt("poststratify", list(ab = kp_ab), KN), estimates = FALSE)
add_case("kalton-rake-ab-eps1e-4", "kalton", kspec,   # epsilon < 1: relative to sum of weights
         function() rake(dk, list(~a_f, ~b_f), list(xtabs(~a_f, kpf), xtabs(~b_f, kpf)),
                         control = list(epsilon = 0.0001)),
         wt("rake", kab, KN, maxit = 10, epsilon = 1e-4), estimates = FALSE)
add_case("kalton-calibrate-linear-joint", "kalton", kspec,
         function() calibrate(dk, ~a_f * b_f, unname(jointpop)),
         wt("linear", list(ab = kp_ab), KN), estimates = FALSE)
add_case("kalton-calibrate-raking", "kalton", kspec,
         function() calibrate(dk, ~a_f + b_f, unname(marginalpop), calfun = "raking"),
         wt("raking", kab, KN), estimates = FALSE)
add_case("kalton-calibrate-linear", "kalton", kspec,
         function() calibrate(dk, ~a_f + b_f, unname(marginalpop)),
         wt("linear", kab, KN), estimates = FALSE)
add_case("kalton-calibrate-linear-bounded-0.5-2.2", "kalton", kspec,
         function() calibrate(dk, ~a_f + b_f, unname(marginalpop), bounds = c(0.5, 2.2)),
         wt("linear", kab, KN, bounds = c(0.5, 2.2)), estimates = FALSE)
add_case("kalton-calibrate-logit-0.5-2.2", "kalton", kspec,
         function() calibrate(dk, ~a_f + b_f, unname(marginalpop), bounds = c(0.5, 2.2), calfun = "logit"),
         wt("logit", kab, KN, bounds = c(0.5, 2.2)), estimates = FALSE)
add_case("kalton-calibrate-greg-numeric", "kalton", kspec,
         function() calibrate(dk, ~an + bn, unname(gregpop)),
         wt("linear", list(an = gregpop[[2]], bn = gregpop[[3]]), KN), estimates = FALSE)

# Kalton's published tables (rounded adjustment factors per cell, rows a = 1..4, columns b = 1..3)
# as printed by R survey's tests/kalton.Rout.save, for a rounding-level check of the example.
kalton_ratio <- function(des) {
  r <- svytable(~a_f + b_f, des) / xtabs(~a_f + b_f, ks)
  lapply(1:4, function(i) num(round(as.numeric(r[i, ]), 2)))
}
kalton_tables <- list(
  A_poststratify = kalton_ratio(postStratify(dk, ~a_f + b_f, xtabs(~a_f + b_f, kpf))),
  B_rake = kalton_ratio(rake(dk, list(~a_f, ~b_f), list(xtabs(~a_f, kpf), xtabs(~b_f, kpf)),
                             control = list(epsilon = 0.0001))),
  C_linear = kalton_ratio(calibrate(dk, ~a_f + b_f, unname(marginalpop))),
  D_greg = kalton_ratio(calibrate(dk, ~an + bn, unname(gregpop))),
  G_logit = kalton_ratio(calibrate(dk, ~a_f + b_f, unname(marginalpop), bounds = c(0.5, 2.2), calfun = "logit")),
  G_trunclinear = kalton_ratio(calibrate(dk, ~a_f + b_f, unname(marginalpop), bounds = c(0.5, 2.2))))

out <- list(
  generated_by = "tests/reference/make_golden_weighting.R",
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  datasets = list(kalton = list(a = ks$a, b = ks$b, ab = ks$ab, an = num(ks$an), bn = num(ks$bn))),
  kalton_tables = kalton_tables,
  cases = cases
)
dir.create("tests/reference/golden", showWarnings = FALSE, recursive = TRUE)
writeLines(toJSON(out, json_verbatim = TRUE, auto_unbox = TRUE, null = "null"),
           "tests/reference/golden/weighting.json")
cat(sprintf("make_golden_weighting.R: wrote %d cases to tests/reference/golden/weighting.json\n", length(cases)))
