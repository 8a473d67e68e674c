# make_golden_glm.R -- golden values for quietpoll.glm, computed with R's survey package (svyglm,
# summary.svyglm, confint.svyglm, predict.svyglm, regTermTest, svyttest).
#
# Reads the data sets written by make_golden.R (tests/reference/data/*.csv, replicate weight columns
# rw001..) and writes tests/reference/golden/glm.json. Run from the repository root:
#   Rscript tests/reference/make_golden_glm.R
# Requires R with survey (4.1.1 was used) and jsonlite; deterministic.
#
# Each case: data set, design spec (quietpoll's DesignSpec mapping; for replicate designs scale and
# rscales as R set them), optional weighting (quietpoll's WeightingSpec fields), formula, family,
# optional subset (an expression both R and quietpoll's subset language read), and R's results:
# coefficient names in R's order, estimates (null where aliased), SEs, t, p, residual df, Wald
# intervals (confint.svyglm), dispersion (summary.svyglm), n (rows in the fit), vcov.

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
if (!dir.exists("tests/reference")) stop("run from the repository root")
options(survey.lonely.psu = "fail", survey.replicates.mse = FALSE, warn = 1)

read_data <- function(name) {
  read.csv(file.path("tests/reference/data", paste0(name, ".csv")), stringsAsFactors = FALSE,
           na.strings = "", check.names = FALSE)
}
num <- function(x) { x <- as.numeric(x); lapply(x, function(v) if (is.finite(v)) unbox(v) else NULL) }
scalar <- function(x) if (is.null(x)) NULL else unbox(x)

taylor <- function(data, weights = "pw", strata = NULL, ids = character(0), fpc = character(0)) {
  list(data = data, spec = list(kind = unbox("taylor"), weights = scalar(weights), probs = NULL,
                                strata = scalar(strata), ids = ids, fpc = fpc, nest = unbox(FALSE),
                                lonely_psu = unbox("fail")))
}
fml <- function(cols) if (length(cols) == 0) NULL else as.formula(paste("~", paste(cols, collapse = "+")))

build <- function(d) {
  data <- read_data(d$data)
  s <- d$spec
  if (s$kind == "taylor") {
    s <- lapply(s, function(v) if (inherits(v, "scalar")) as.vector(v) else v)
    ids <- if (length(s$ids) == 0) ~1 else fml(s$ids)
    return(svydesign(ids = ids, strata = fml(s$strata), weights = fml(s$weights), fpc = fml(s$fpc), data = data))
  }
  r <- lapply(s$replicates, function(v) if (is.null(v)) NULL else as.vector(v))
  cols <- grep("^rw[0-9]+$", names(data), value = TRUE)
  args <- list(data = data, repweights = data[, cols], weights = fml(s$weights),
               type = r$type, combined.weights = TRUE, mse = r$mse)
  if (!is.null(r$rho)) args$rho <- r$rho
  if (!(r$type %in% c("BRR", "Fay"))) { args$scale <- r$scale; args$rscales <- r$rscales }
  des <- do.call(svrepdesign, args)
  stopifnot(isTRUE(all.equal(des$scale, r$scale)), isTRUE(all.equal(des$rscales, r$rscales)))
  des
}
repl <- function(data, type, scale, rscales, rho = NULL, mse = FALSE) {
  list(data = data, spec = list(kind = unbox("replicate"), weights = unbox("pw"),
       replicates = list(columns = unbox("rw*"), type = unbox(type), rho = scalar(rho), scale = unbox(scale),
                         rscales = rscales, mse = unbox(mse))))
}

# ---- designs ---------------------------------------------------------------------------------
N <- 6194
pop_stype <- list(E = 4421, H = 755, M = 1018)
designs <- list(
  strat = taylor("apistrat", strata = "stype", fpc = "fpc"),
  clus1 = taylor("apiclus1", ids = "dnum", fpc = "fpc"),
  clus2 = taylor("apiclus2", ids = c("dnum", "snum"), fpc = c("fpc1", "fpc2")),
  clus1_cal = c(taylor("apiclus1", ids = "dnum", fpc = "fpc"),
                list(weighting = list(method = "linear", targets = list(stype = pop_stype, api99 = 3914069),
                                      population = N))),
  clus1_ps = c(taylor("apiclus1", ids = "dnum", fpc = "fpc"),
               list(weighting = list(method = "poststratify", targets = list(stype = pop_stype), population = N))),
  jk1 = repl("apiclus1_jk1", "JK1", 14 / 15, rep(1, 15)),
  jk1_mse = repl("apiclus1_jk1", "JK1", 14 / 15, rep(1, 15), mse = TRUE),
  jkn = NULL, brr = NULL, fay = NULL, boot = NULL)
# replicate designs as make_golden.R built them: scale and rscales read back from R
fill <- function(data, type, rho = NULL) {
  dat <- read_data(data)
  cols <- grep("^rw[0-9]+$", names(dat), value = TRUE)
  R <- length(cols)
  if (type == "JKn") {
    # JKn from apistrat (strata stype, one PSU per school): rscales (n_h - 1) / n_h per replicate
    nh <- table(dat$stype)
    strat_of <- sapply(cols, function(c) dat$stype[which(dat[[c]] == 0)[1]])
    return(repl(data, "JKn", 1, as.numeric((nh[strat_of] - 1) / nh[strat_of])))
  }
  if (type == "bootstrap") return(repl(data, "bootstrap", 1 / (R - 1), rep(1, R)))
  if (type == "BRR") return(repl(data, "BRR", 1 / R, rep(1, R)))
  repl(data, "Fay", 1 / (R * (1 - rho)^2), rep(1, R), rho = rho)
}
designs$jkn <- fill("apistrat_jkn", "JKn")
designs$brr <- fill("apistrat_brr", "BRR")
designs$fay <- fill("apistrat_fay", "Fay", rho = 0.3)
designs$boot <- fill("apistrat_boot", "bootstrap")

weighted <- function(d, des) {
  w <- d$weighting
  if (is.null(w)) return(des)
  if (w$method == "poststratify") {
    pt <- data.frame(stype = names(w$targets$stype), Freq = unlist(w$targets$stype))
    return(postStratify(des, ~stype, pt))
  }
  calibrate(des, ~stype + api99, c(N, w$targets$stype$H, w$targets$stype$M, w$targets$api99))
}

# ---- models ----------------------------------------------------------------------------------
fams <- list(gaussian = gaussian(), binomial = binomial(), quasibinomial = quasibinomial(),
             poisson = poisson(), quasipoisson = quasipoisson(), Gamma = Gamma())
models <- list(
  gaussian = "api00 ~ ell + meals + stype",
  binomial = "hi700 ~ ell + meals + stype",
  quasibinomial = "hi700 ~ ell + meals + stype",
  poisson = "meals ~ ell + stype",
  quasipoisson = "meals ~ ell + stype",
  Gamma = "api00 ~ ell + stype")
extra <- list(   # formula language on the stratified design
  list(f = "api00 ~ ell * meals + factor(awards)", fam = "gaussian"),
  list(f = "api00 ~ relevel(factor(stype), ref = \"H\") + I(ell^2) + poly(meals, 2)", fam = "gaussian"),
  list(f = "hi700 ~ stype:ell + meals", fam = "quasibinomial"),
  list(f = "api00 ~ ell + avg.ed + stype", fam = "gaussian"),          # avg.ed has missing values
  list(f = "api00 ~ ell + mobility + I(2 * mobility)", fam = "gaussian"),   # an aliased term
  list(f = "api00 ~ ell + meals", fam = "gaussian", subset = "stype != \"H\""),
  list(f = "hi700 ~ ell + meals", fam = "quasibinomial", subset = "stype == \"E\" & meals > 20"))

cases <- list()
run_case <- function(id, dname, f, fam, subset = NULL) {
  d <- designs[[dname]]
  des <- weighted(d, build(d))
  if (!is.null(subset)) des <- eval(parse(text = sprintf("subset(des, %s)", subset)))
  m <- withCallingHandlers(do.call(svyglm, list(as.formula(f), des, family = fams[[fam]])),
                           warning = function(w) invokeRestart("muffleWarning"))
  s <- summary(m)
  ct <- coef(m, na.rm = FALSE)
  ok <- !is.na(ct)
  tab <- s$coefficients
  est <- se <- tv <- pv <- rep(NA_real_, length(ct))
  est[ok] <- tab[names(ct)[ok], 1]; se[ok] <- tab[names(ct)[ok], 2]
  if (ncol(tab) >= 4) { tv[ok] <- tab[names(ct)[ok], 3]; pv[ok] <- tab[names(ct)[ok], 4] }
  ci <- confint(m)
  lo <- hi <- rep(NA_real_, length(ct))
  lo[ok] <- ci[names(ct)[ok], 1]; hi[ok] <- ci[names(ct)[ok], 2]
  disp <- as.numeric(s$dispersion)
  case <- list(id = unbox(id), data = unbox(d$data), design = d$spec, formula = unbox(f), family = unbox(fam),
               subset = scalar(subset), terms = names(ct), estimate = num(est), se = num(se), t = num(tv),
               p = num(pv), ci_low = num(lo), ci_high = num(hi), df_residual = unbox(m$df.residual),
               dispersion = unbox(disp), n = unbox(sum(m$prior.weights > 0)), vcov = lapply(seq_len(nrow(vcov(m))),
               function(i) num(vcov(m)[i, ])))
  if (!is.null(d$weighting)) {
    w <- d$weighting
    case$weighting <- list(method = unbox(w$method), targets = lapply(w$targets, function(t)
      if (is.list(t)) lapply(t, unbox) else unbox(t)), population = unbox(w$population))
  }
  cases[[length(cases) + 1]] <<- case
}

for (dname in names(designs)) for (fam in names(models)) {
  if (fam == "Gamma" && dname %in% c("brr", "fay")) next   # (kept small: Gamma runs on the others)
  run_case(paste(dname, fam, sep = "-"), dname, models[[fam]], fam)
}
for (i in seq_along(extra)) {
  e <- extra[[i]]
  for (dname in c("strat", "clus1", "jkn", "boot")) {
    if (grepl("I\\(2", e$f) && !(dname %in% c("strat", "clus1"))) next   # R refuses aliased terms on replicates
    run_case(paste(dname, "extra", i, sep = "-"), dname, e$f, e$fam, e$subset)
  }
}
run_case("clus1_cal-subset", "clus1_cal", "api00 ~ ell + meals", "gaussian", "stype != \"H\"")
run_case("clus1_cal-missing", "clus1_cal", "api00 ~ ell + avg.ed", "gaussian")   # avg.ed has missing values
run_case("clus2-subset-binomial", "clus2", "hi700 ~ ell + meals", "binomial", "meals > 10")
run_case("fay-subset", "fay", "api00 ~ ell + meals", "gaussian", "stype != \"M\"")
run_case("jk1-subset", "jk1", "hi700 ~ ell + meals", "quasibinomial", "stype == \"E\"")

# ---- svyttest(Y ~ G): difference in means between two groups (gaussian svyglm's slope) -------
ttests <- list()
run_ttest <- function(id, dname, var, group) {
  d <- designs[[dname]]
  des <- weighted(d, build(d))
  tt <- svyttest(as.formula(paste(var, "~", group)), des)
  ttests[[length(ttests) + 1]] <<- list(id = unbox(id), data = unbox(d$data), design = d$spec, var = unbox(var),
    group = unbox(group), estimate = unbox(unname(tt$estimate)), statistic = unbox(unname(tt$statistic)),
    df = unbox(unname(tt$parameter)), p = unbox(unname(tt$p.value)),
    se = unbox(unname(tt$estimate / tt$statistic)), ci_low = unbox(tt$conf.int[1]), ci_high = unbox(tt$conf.int[2]))
}
run_ttest("strat-awards", "strat", "api00", "awards")
run_ttest("clus1-schwide", "clus1", "api00", "sch.wide")
run_ttest("clus2-hi700", "clus2", "ell", "hi700")
run_ttest("jkn-awards", "jkn", "api00", "awards")
run_ttest("boot-awards", "boot", "meals", "awards")
run_ttest("clus1_cal-awards", "clus1_cal", "api00", "awards")

# ---- predict.svyglm (six rows with every level of stype as new data; rows 0-based in JSON) and regTermTest (Wald F and Chisq) ------------
infer <- list()
run_infer <- function(id, dname, f, fam, term) {
  d <- designs[[dname]]
  des <- weighted(d, build(d))
  m <- withCallingHandlers(do.call(svyglm, list(as.formula(f), des, family = fams[[fam]])),
                           warning = function(w) invokeRestart("muffleWarning"))
  dat <- read_data(d$data)
  rows <- c(1, 2, which(dat$stype == "H")[1:2], which(dat$stype == "M")[1:2])   # every level of stype
  nd <- dat[rows, ]
  pl <- predict(m, newdata = nd, type = "link")
  pr <- predict(m, newdata = nd, type = "response")
  tf <- regTermTest(m, as.formula(paste("~", term)))
  tc <- regTermTest(m, as.formula(paste("~", term)), df = Inf)
  infer[[length(infer) + 1]] <<- list(id = unbox(id), rows = rows - 1, case = unbox(paste(dname, fam, sep = "-")), term = unbox(term),
    link = list(estimate = num(pl), se = num(sqrt(attr(pl, "var")))), response = list(estimate = num(pr), se = num(sqrt(attr(pr, "var")))),
    F = list(statistic = unbox(as.numeric(tf$Ftest)), df = unbox(tf$df), ddf = unbox(tf$ddf), p = unbox(as.numeric(tf$p))),
    Chisq = list(statistic = unbox(as.numeric(tc$chisq)), df = unbox(tc$df), p = unbox(as.numeric(tc$p))))
}
for (dname in c("strat", "clus1", "clus1_cal", "jkn", "boot")) {
  run_infer(paste(dname, "binomial-stype", sep = "-"), dname, models$binomial, "binomial", "stype")
  run_infer(paste(dname, "poisson-ell", sep = "-"), dname, models$poisson, "poisson", "ell")
  run_infer(paste(dname, "gaussian-stype", sep = "-"), dname, models$gaussian, "gaussian", "stype")
}

write(toJSON(list(survey_version = unbox(as.character(packageVersion("survey"))), cases = cases,
                  ttests = ttests, infer = infer),
             digits = NA, null = "null", na = "null", auto_unbox = FALSE, pretty = FALSE),
      "tests/reference/golden/glm.json")
cat("wrote", length(cases), "cases\n")
