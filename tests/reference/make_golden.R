# make_golden.R -- golden reference values for quietpoll, computed with R's `survey` package.
#
# Produces (paths relative to the repository root):
#   tests/reference/data/*.csv              datasets used by the golden cases:
#       apisrs, apistrat, apiclus1, apiclus2, apipop   from survey::data(api)
#           (apistrat gets an extra column `frac` = n_h/N_h; apiclus1 gets `p` = 1/pw;
#            apisrs/apistrat/apiclus1/apiclus2 get `hi700` = as.integer(api00 >= 700))
#       scd                                             from survey::data(scd)
#       lonely.csv                                      SYNTHETIC data built below (lonely PSUs)
#       <name>_<type>.csv                               data + replicate weight columns rw001..rwNNN
#           (combined weights, i.e. weights(repdesign, "analysis"), column order = replicate order)
#   tests/reference/golden/estimates.json   the golden cases (format documented in the quietpoll test harness)
#
# Regenerate from the repository root with:
#   Rscript tests/reference/make_golden.R
# Requires R with survey (4.1.1 was used) and jsonlite. The script is deterministic (fixed seeds);
# running it twice gives byte-identical output.
#
# All estimates are computed from the CSV files as read back by read.csv(), so the golden values
# correspond exactly to the numbers the Python side reads (write.csv keeps 15 significant digits).
#
# Row semantics (quietpoll's definitions): for each domain d (observed combination of the `by`
# columns, or all rows) and each variable, the analysis domain is the rows of d where the analysis
# variable(s) are non-missing; sub <- des[analysis domain, ]; df <- degf(sub) (or Inf);
# mean/total/ratio via svymean/svytotal/svyratio(deff=TRUE) with Wald CI est +- qt(1-a/2, df)*se;
# proportion: estimate/se/deff from svymean of the 0/1 indicator, CI from svyciprop(method=...);
# quantile: svyquantile(qrule="math", interval.type=..., alpha=1-level, df=df).

suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})

if (!dir.exists("tests/reference")) stop("run from the repository root")
data_dir <- "tests/reference/data"
golden_dir <- "tests/reference/golden"
dir.create(data_dir, showWarnings = FALSE, recursive = TRUE)
dir.create(golden_dir, showWarnings = FALSE, recursive = TRUE)

options(survey.lonely.psu = "fail", survey.replicates.mse = FALSE,
        survey.adjust.domain.lonely = FALSE, warn = 1)

# ---------------------------------------------------------------------------------------------
# Datasets
# ---------------------------------------------------------------------------------------------
write_data <- function(df, name) {
  write.csv(df, file.path(data_dir, paste0(name, ".csv")), row.names = FALSE, na = "")
}
read_data <- function(name) {
  read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = FALSE,
           na.strings = "", check.names = FALSE)
}
strip_attrs <- function(df) {
  # drop 1-d array / dimnames attributes (e.g. apiclus2$fpc2) so write.csv writes plain columns
  for (nm in names(df)) {
    v <- df[[nm]]
    if (is.factor(v)) v <- as.character(v) else v <- as.vector(v)
    df[[nm]] <- v
  }
  df
}

data(api)
data(scd)

apisrs_w <- strip_attrs(apisrs)
apisrs_w$hi700 <- as.integer(apisrs_w$api00 >= 700)
apistrat_w <- strip_attrs(apistrat)
apistrat_w$hi700 <- as.integer(apistrat_w$api00 >= 700)
nh <- table(apistrat_w$stype)
apistrat_w$frac <- as.numeric(nh[apistrat_w$stype]) / apistrat_w$fpc   # sampling fraction per stratum
apiclus1_w <- strip_attrs(apiclus1)
apiclus1_w$hi700 <- as.integer(apiclus1_w$api00 >= 700)
apiclus1_w$p <- 1 / apiclus1_w$pw                                         # selection probability
apiclus2_w <- strip_attrs(apiclus2)
apiclus2_w$hi700 <- as.integer(apiclus2_w$api00 >= 700)
write_data(apisrs_w, "apisrs")
write_data(apistrat_w, "apistrat")
write_data(apiclus1_w, "apiclus1")
write_data(apiclus2_w, "apiclus2")
write_data(strip_attrs(apipop), "apipop")
write_data(strip_attrs(scd), "scd")

# SYNTHETIC dataset `lonely` (not from any R package): stratified cluster sample with
# strata A (3 PSUs), B (2 PSUs, all PSUs of the stratum sampled: N=2), C (ONE PSU -> lonely),
# D (3 PSUs), E (ONE PSU, population of 1 PSU -> certainty PSU via fpc).
# Columns: strat, psu, w (weight), y (numeric with some missing), b (0/1), g (domain 'a'/'b'),
#          N (number of PSUs in the stratum population, used as fpc in the certainty cases).
# Note: stratum E is lonely too unless the fpc is used (then it is a certainty stratum).
make_lonely <- function() {
  set.seed(20240611)
  psu_strat <- c(A = 3, B = 2, C = 1, D = 3, E = 1)
  popN <- c(A = 10, B = 2, C = 6, D = 12, E = 1)
  rows <- list()
  psu_id <- 0
  for (s in names(psu_strat)) {
    for (k in seq_len(psu_strat[[s]])) {
      psu_id <- psu_id + 1
      m <- 2 + (psu_id %% 3)           # 2..4 rows per PSU
      rows[[length(rows) + 1]] <- data.frame(
        strat = s, psu = psu_id,
        w = round(popN[[s]] / psu_strat[[s]] * (5 + psu_id %% 4), 1),
        y = round(rnorm(m, mean = 50 + 5 * psu_id, sd = 8), 1),
        b = rbinom(m, 1, 0.4),
        g = sample(c("a", "b"), m, replace = TRUE),
        N = popN[[s]],
        stringsAsFactors = FALSE)
    }
  }
  d <- do.call(rbind, rows)
  d$y[c(3, 11, 17, 25)] <- NA
  d$g[1:2] <- c("a", "b")
  d
}
lonely_w <- make_lonely()
write_data(lonely_w, "lonely")

datasets <- list(
  apisrs = read_data("apisrs"), apistrat = read_data("apistrat"),
  apiclus1 = read_data("apiclus1"), apiclus2 = read_data("apiclus2"),
  scd = read_data("scd"), lonely = read_data("lonely"))

# ---------------------------------------------------------------------------------------------
# Design construction from a design spec (the same dict written to JSON)
# ---------------------------------------------------------------------------------------------
fml <- function(cols) {
  if (is.null(cols) || length(cols) == 0) return(NULL)
  as.formula(paste("~", paste(sprintf("`%s`", cols), collapse = " + ")))
}

taylor_spec <- function(weights = NULL, strata = NULL, ids = character(0), fpc = character(0),
                        nest = FALSE, lonely_psu = "fail", probs = NULL) {
  list(kind = "taylor", weights = weights, probs = probs, strata = strata, ids = ids,
       fpc = fpc, nest = nest, lonely_psu = lonely_psu)
}

build_design <- function(spec, data) {
  if (spec$kind == "taylor") {
    ids <- if (length(spec$ids) == 0) ~1 else fml(spec$ids)
    suppressWarnings(svydesign(ids = ids, strata = fml(spec$strata), weights = fml(spec$weights),
              probs = fml(spec$probs), fpc = fml(spec$fpc), nest = spec$nest, data = data))
  } else {
    r <- spec$replicates
    cols <- grep("^rw[0-9]+$", names(data), value = TRUE)
    args <- list(data = data, repweights = data[, cols], weights = fml(spec$weights),
                 type = if (r$type == "SDR") "successive-difference" else r$type,
                 combined.weights = TRUE, mse = r$mse)
    if (!is.null(r$rho)) args$rho <- r$rho
    if (!(r$type %in% c("BRR", "Fay", "SDR", "ACS"))) { args$scale <- r$scale; args$rscales <- r$rscales }
    des <- suppressWarnings(do.call(svrepdesign, args))
    stopifnot(isTRUE(all.equal(des$scale, r$scale)), isTRUE(all.equal(des$rscales, r$rscales)))
    des
  }
}

# ---------------------------------------------------------------------------------------------
# Replicate-weight datasets
# ---------------------------------------------------------------------------------------------
rep_specs <- list()
make_rep <- function(name, base, des, type, mse_list = c(FALSE), ...) {
  rd <- as.svrepdesign(des, type = type, compress = FALSE, ...)
  rw <- unclass(as.matrix(weights(rd, "analysis")))
  attributes(rw) <- list(dim = dim(rw))
  colnames(rw) <- sprintf("rw%03d", seq_len(ncol(rw)))
  d <- cbind(base, as.data.frame(rw))
  write_data(d, name)
  datasets[[name]] <<- read_data(name)
  rho <- if (type == "Fay") rd$rho else NULL
  for (mse in mse_list) {
    spec <- list(kind = "replicate", weights = "pw",
                 replicates = list(columns = "rw*", type = rd$type, rho = rho,
                                   scale = rd$scale, rscales = as.vector(rd$rscales), mse = mse))
    rep_specs[[paste0(name, if (mse) "-mse" else "")]] <<- list(data = name, spec = spec)
  }
  invisible(rd)
}

d_apiclus1 <- datasets$apiclus1
d_apistrat <- datasets$apistrat
des_clus1 <- svydesign(ids = ~dnum, fpc = ~fpc, weights = ~pw, data = d_apiclus1)
des_strat <- svydesign(ids = ~1, strata = ~stype, fpc = ~fpc, weights = ~pw, data = d_apistrat)
jk1 <- make_rep("apiclus1_jk1", d_apiclus1, des_clus1, "JK1", mse_list = c(FALSE, TRUE))
make_rep("apistrat_jkn", d_apistrat, des_strat, "JKn")
# scd: 3 strata (ESA) x 2 PSUs (ambulance), equal weights (pw = 1 added)
scd_base <- datasets$scd
scd_base$pw <- 1
des_scd <- svydesign(ids = ~ambulance, strata = ~ESA, weights = ~pw, nest = TRUE, data = scd_base)
make_rep("scd_brr", scd_base, des_scd, "BRR", mse_list = c(FALSE, TRUE))
make_rep("scd_fay", scd_base, des_scd, "Fay", fay.rho = 0.3)
# apistrat with SYNTHETIC pseudo-PSUs: 2 per stratum (vpsu = 1 + (row index within stratum) %% 2)
strat_brr_base <- d_apistrat
strat_brr_base$vpsu <- ave(seq_len(nrow(d_apistrat)), d_apistrat$stype, FUN = function(i) 1 + (seq_along(i) %% 2))
des_strat2 <- svydesign(ids = ~vpsu, strata = ~stype, weights = ~pw, nest = TRUE, data = strat_brr_base)
make_rep("apistrat_brr", strat_brr_base, des_strat2, "BRR")
make_rep("apistrat_fay", strat_brr_base, des_strat2, "Fay", fay.rho = 0.3, mse_list = c(FALSE, TRUE))
set.seed(20240612)
make_rep("apistrat_boot", d_apistrat, des_strat, "bootstrap", replicates = 50, mse_list = c(FALSE, TRUE))
# type "other": the apiclus1 JK1 replicate weights with explicit scale/rscales
R_jk1 <- ncol(jk1$repweights)
rep_specs[["apiclus1_other"]] <- list(data = "apiclus1_jk1", spec = list(
  kind = "replicate", weights = "pw",
  replicates = list(columns = "rw*", type = "other", rho = NULL, scale = 0.8,
                    rscales = as.vector(seq(0.5, 1.5, length.out = R_jk1)), mse = FALSE)))
rep_specs[["apiclus1_other-mse"]] <- list(data = "apiclus1_jk1", spec = list(
  kind = "replicate", weights = "pw",
  replicates = list(columns = "rw*", type = "other", rho = NULL, scale = (R_jk1 - 1) / R_jk1,
                    rscales = rep(1, R_jk1), mse = TRUE)))
# types "SDR" (R's "successive-difference") and "ACS": R fixes scale = 4/R and rscales = 1
for (tp in c("SDR", "ACS")) {
  rep_specs[[paste0("apiclus1_", tolower(tp))]] <- list(data = "apiclus1_jk1", spec = list(
    kind = "replicate", weights = "pw",
    replicates = list(columns = "rw*", type = tp, rho = NULL, scale = 4 / R_jk1,
                      rscales = rep(1, R_jk1), mse = FALSE)))
}

# ---------------------------------------------------------------------------------------------
# Estimation
# ---------------------------------------------------------------------------------------------
num <- function(x) {
  x <- as.numeric(x)
  if (length(x) != 1 || !is.finite(x)) NULL else x
}
wald <- function(est, se, df, level) {
  q <- if (is.infinite(df)) qnorm(1 - (1 - level) / 2) else qt(1 - (1 - level) / 2, df)
  c(est - q * se, est + q * se)
}
ciprop_method <- c(wald = "mean", logit = "logit", likelihood = "likelihood", beta = "beta",
                   xlogit = "xlogit", asin = "asin")

domain_list <- function(data, by) {
  if (length(by) == 0) return(list(list(mask = rep(TRUE, nrow(data)), dom = setNames(list(), character(0)))))
  keys <- unique(data[, by, drop = FALSE])
  keys <- keys[complete.cases(keys), , drop = FALSE]
  keys <- keys[do.call(order, unname(as.list(keys))), , drop = FALSE]
  lapply(seq_len(nrow(keys)), function(i) {
    mask <- rep(TRUE, nrow(data))
    dom <- list()
    for (b in by) {
      mask <- mask & !is.na(data[[b]]) & data[[b]] == keys[i, b]
      dom[[b]] <- as.character(keys[i, b])
    }
    list(mask = mask, dom = dom)
  })
}

mkrow <- function(stat, var, level, dom, est, se, ci, df, deff, n, nmiss) {
  list(statistic = stat, variable = var, level = level, domain = dom,
       estimate = num(est), se = num(se), ci_low = num(ci[1]), ci_high = num(ci[2]),
       df = if (is.infinite(df)) "Inf" else num(df), deff = num(deff),
       n = as.integer(n), n_missing = as.integer(nmiss))
}

safe <- function(expr) tryCatch(expr, error = function(e) NULL)

compute_case <- function(data, spec, req) {
  # add indicator columns for proportions before building the design
  if (req$statistic == "proportion") {
    for (v in req$variables) {
      levs <- levels(factor(data[[v]]))
      for (j in seq_along(levs)) {
        ind <- as.numeric(data[[v]] == levs[j])
        ind[is.na(ind)] <- 0      # rows with missing v are outside every analysis domain
        data[[sprintf(".ind_%s_%d", v, j)]] <- ind
      }
    }
  }
  des <- build_design(spec, data)
  rows <- list()
  for (d in domain_list(data, unlist(req$by))) {
    for (v in unlist(req$variables)) {
      if (req$statistic == "ratio") {
        parts <- strsplit(v, "/", fixed = TRUE)[[1]]
        ok <- !is.na(data[[parts[1]]]) & !is.na(data[[parts[2]]])
      } else {
        ok <- !is.na(data[[v]])
      }
      amask <- d$mask & ok
      n <- sum(amask)
      nmiss <- sum(d$mask & !ok)
      if (n == 0) next
      sub <- des[amask, ]
      df <- if (req$df == "inf") Inf else degf(sub)
      level <- req$level
      st <- req$statistic
      if (st %in% c("mean", "total")) {
        f <- fml(v)
        m <- if (st == "mean") svymean(f, sub, deff = TRUE, na.rm = TRUE) else svytotal(f, sub, deff = TRUE, na.rm = TRUE)
        est <- coef(m)[1]; se <- SE(m)[1]
        rows[[length(rows) + 1]] <- mkrow(st, v, NULL, d$dom, est, se, wald(est, se, df, level), df,
                                          deff(m)[1], n, nmiss)
      } else if (st == "ratio") {
        # survey 4.1.1: svyratio(deff=TRUE) errors for replicate designs -> deff is null there
        is_rep <- spec$kind == "replicate"
        r <- svyratio(fml(parts[1]), fml(parts[2]), sub, deff = !is_rep, na.rm = TRUE)
        est <- coef(r)[1]; se <- sqrt(as.numeric(r$var)[1])
        de <- if (is_rep) NULL else safe(deff(r)[1])
        rows[[length(rows) + 1]] <- mkrow(st, v, NULL, d$dom, est, se, wald(est, se, df, level), df,
                                          if (is.null(de)) NA else de, n, nmiss)
      } else if (st == "proportion") {
        levs <- levels(factor(data[[v]]))
        for (j in seq_along(levs)) {
          col <- sprintf(".ind_%s_%d", v, j)
          m <- svymean(fml(col), sub, deff = TRUE)
          est <- coef(m)[1]; se <- SE(m)[1]
          cp <- safe(suppressWarnings(svyciprop(fml(col), sub, method = ciprop_method[[req$ci_method]],
                                                level = level, df = df)))
          ci <- if (is.null(cp)) c(NA, NA) else as.numeric(attr(cp, "ci"))
          rows[[length(rows) + 1]] <- mkrow(st, v, levs[j], d$dom, est, se, ci, df, deff(m)[1], n, nmiss)
        }
      } else if (st == "quantile") {
        probs <- unlist(req$probs)
        q <- suppressWarnings(svyquantile(fml(v), sub, quantiles = probs, alpha = 1 - level, ci = TRUE,
                                          interval.type = req$ci_method, qrule = "math", df = df,
                                          na.rm = TRUE))
        mat <- q[[1]]
        for (k in seq_along(probs)) {
          rows[[length(rows) + 1]] <- mkrow(st, v, probs[k], d$dom, mat[k, 1], mat[k, 4],
                                            mat[k, 2:3], df, NA, n, nmiss)
        }
      } else stop("unknown statistic ", st)
    }
  }
  rows
}

cases <- list()
seen_ids <- character(0)
add_case <- function(id, dataname, spec, statistic, variables, by = character(0), ci_method = "wald",
                     level = 0.95, df = "design", probs = NULL, expect_error = FALSE) {
  if (id %in% seen_ids) stop("duplicate id ", id)
  seen_ids <<- c(seen_ids, id)
  req <- list(statistic = statistic, variables = as.list(variables), by = as.list(by),
              ci_method = ci_method, level = level, df = df)
  if (!is.null(probs)) req$probs <- as.list(probs)
  json_spec <- spec
  if (spec$kind == "taylor") {
    json_spec$ids <- as.list(spec$ids); json_spec$fpc <- as.list(spec$fpc)
  } else {
    json_spec$replicates$rscales <- as.list(spec$replicates$rscales)
  }
  old <- options(survey.lonely.psu = if (spec$kind == "taylor") spec$lonely_psu else "fail")
  on.exit(options(old))
  res <- tryCatch(compute_case(datasets[[dataname]], spec, req), error = function(e) e)
  case <- list(id = id, data = dataname, design = json_spec, request = req)
  if (inherits(res, "error")) {
    if (!expect_error) stop("case ", id, " failed unexpectedly: ", conditionMessage(res))
    case$error <- TRUE
    case$error_message <- conditionMessage(res)
    case$rows <- list()
  } else {
    if (expect_error) stop("case ", id, " was expected to fail but did not")
    case$rows <- res
  }
  cases[[length(cases) + 1]] <<- case
}

# ---------------------------------------------------------------------------------------------
# Taylor-linearisation cases
# ---------------------------------------------------------------------------------------------
taylor_designs <- list(
  apisrs        = list(data = "apisrs",   spec = taylor_spec(weights = "pw", fpc = "fpc")),
  apistrat      = list(data = "apistrat", spec = taylor_spec(weights = "pw", strata = "stype", fpc = "fpc")),
  apiclus1      = list(data = "apiclus1", spec = taylor_spec(weights = "pw", ids = "dnum", fpc = "fpc")),
  apiclus2      = list(data = "apiclus2", spec = taylor_spec(weights = "pw", ids = c("dnum", "snum"), fpc = c("fpc1", "fpc2"))),
  apiclus2nofpc = list(data = "apiclus2", spec = taylor_spec(weights = "pw", ids = c("dnum", "snum"))),
  apiclus1probs = list(data = "apiclus1", spec = taylor_spec(probs = "p", ids = "dnum", fpc = "fpc")),
  apistratfrac  = list(data = "apistrat", spec = taylor_spec(weights = "pw", strata = "stype", fpc = "frac")),
  apistratnest  = list(data = "apistrat", spec = taylor_spec(weights = "pw", strata = "stype", ids = "dnum", nest = TRUE)),
  apisrsnowt    = list(data = "apisrs",   spec = taylor_spec()),
  apisrsfpconly = list(data = "apisrs",   spec = taylor_spec(fpc = "fpc"))
)

na_var <- c(apisrs = "avg.ed", apistrat = "acs.46", apiclus1 = "avg.ed", apiclus2 = "acs.k3")

for (dn in names(taylor_designs)) {
  td <- taylor_designs[[dn]]
  dat <- td$data; sp <- td$spec
  pre <- paste0(dn, "-taylor")
  add_case(paste0(pre, "-mean-api00"), dat, sp, "mean", c("api00", "api99"))
  add_case(paste0(pre, "-mean-api00-by-stype"), dat, sp, "mean", "api00", by = "stype")
  add_case(paste0(pre, "-total-enroll-by-stype"), dat, sp, "total", "enroll", by = "stype")
  add_case(paste0(pre, "-total-enroll"), dat, sp, "total", c("enroll", "api.stu"), level = 0.9, df = "inf")
  add_case(paste0(pre, "-mean-navar-by-stype"), dat, sp, "mean", na_var[[dat]], by = "stype")
  add_case(paste0(pre, "-ratio-api00-api99"), dat, sp, "ratio", c("api00/api99", "enroll/api.stu"))
  add_case(paste0(pre, "-ratio-by-stype"), dat, sp, "ratio", "enroll/api.stu", by = "stype")
  add_case(paste0(pre, "-prop-schwide-logit"), dat, sp, "proportion", "sch.wide", ci_method = "logit")
  add_case(paste0(pre, "-prop-stype-wald-by-schwide"), dat, sp, "proportion", "stype", by = "sch.wide")
  add_case(paste0(pre, "-prop-hi700-beta-by-stype"), dat, sp, "proportion", "hi700", by = "stype", ci_method = "beta")
  add_case(paste0(pre, "-mean-by-stype-awards"), dat, sp, "mean", "api00", by = c("stype", "awards"))
  add_case(paste0(pre, "-quantile-api00"), dat, sp, "quantile", "api00", ci_method = "mean", probs = c(0.25, 0.5, 0.9))
  add_case(paste0(pre, "-quantile-api00-by-stype"), dat, sp, "quantile", "api00", by = "stype",
           ci_method = "mean", probs = c(0.25, 0.5, 0.9), level = 0.9)
}

# all proportion CI methods x level x df on a few designs
for (dn in c("apisrs", "apistrat", "apiclus1", "apiclus2")) {
  td <- taylor_designs[[dn]]
  for (m in names(ciprop_method)) for (lv in c(0.95, 0.9)) for (dfm in c("design", "inf")) {
    add_case(sprintf("%s-taylor-prop-comp.imp-%s-%s-%s", dn, m, lv, dfm), td$data, td$spec, "proportion",
             "comp.imp", by = "stype", ci_method = m, level = lv, df = dfm)
  }
}
for (dn in c("apistrat", "apiclus1")) {
  td <- taylor_designs[[dn]]
  for (m in names(ciprop_method))
    add_case(sprintf("%s-taylor-prop-stype-%s-by-schwide-awards", dn, m), td$data, td$spec,
             "proportion", "stype", by = c("sch.wide", "awards"), ci_method = m)
}
# quantile interval types
for (dn in c("apisrs", "apistrat", "apiclus1", "apiclus2")) {
  td <- taylor_designs[[dn]]
  for (it in c("beta", "xlogit", "asin")) for (dfm in c("design", "inf")) {
    add_case(sprintf("%s-taylor-quantile-%s-%s", dn, it, dfm), td$data, td$spec, "quantile",
             c("api00", "enroll"), by = "stype", ci_method = it, probs = c(0.25, 0.5, 0.9), df = dfm)
  }
}
# missing values inside domains + other df/levels
for (dn in c("apistrat", "apiclus1", "apiclus2")) {
  td <- taylor_designs[[dn]]
  add_case(sprintf("%s-taylor-mean-acs-by-stype-inf-90", dn), td$data, td$spec, "mean",
           c("acs.k3", "acs.46", "avg.ed", "not.hsg"), by = "stype", df = "inf", level = 0.9)
  add_case(sprintf("%s-taylor-total-acs-by-stype-awards", dn), td$data, td$spec, "total",
           c("acs.k3", "acs.46"), by = c("stype", "awards"))
  add_case(sprintf("%s-taylor-ratio-acs-by-schwide", dn), td$data, td$spec, "ratio",
           c("acs.k3/acs.46", "api00/api99"), by = "sch.wide")
  add_case(sprintf("%s-taylor-quantile-acs46-by-stype", dn), td$data, td$spec, "quantile",
           "acs.46", by = "stype", ci_method = "mean", probs = c(0.25, 0.5, 0.9))
}

# ---------------------------------------------------------------------------------------------
# Lonely PSUs (synthetic data)
# ---------------------------------------------------------------------------------------------
for (lp in c("fail", "remove", "adjust", "average", "certainty")) {
  sp <- taylor_spec(weights = "w", strata = "strat", ids = "psu", lonely_psu = lp)
  err <- lp == "fail"
  add_case(sprintf("lonely-%s-mean", lp), "lonely", sp, "mean", c("y", "b"), expect_error = err)
  add_case(sprintf("lonely-%s-mean-by-g", lp), "lonely", sp, "mean", "y", by = "g", expect_error = err)
  add_case(sprintf("lonely-%s-total-by-g", lp), "lonely", sp, "total", c("y", "b"), by = "g", expect_error = err)
  add_case(sprintf("lonely-%s-ratio", lp), "lonely", sp, "ratio", "y/b", by = "g", expect_error = err)
  add_case(sprintf("lonely-%s-prop-b-logit", lp), "lonely", sp, "proportion", "b", ci_method = "logit", expect_error = err)
  add_case(sprintf("lonely-%s-prop-g-wald-inf", lp), "lonely", sp, "proportion", "g", df = "inf", expect_error = err)
  add_case(sprintf("lonely-%s-quantile", lp), "lonely", sp, "quantile", "y", ci_method = "mean",
           probs = c(0.25, 0.5, 0.9), expect_error = err)
  # certainty PSUs via fpc (N = number of sampled PSUs in strata B and E): stratum C is still lonely
  spf <- taylor_spec(weights = "w", strata = "strat", ids = "psu", fpc = "N", lonely_psu = lp)
  add_case(sprintf("lonely-fpc-%s-mean-by-g", lp), "lonely", spf, "mean", c("y", "b"), by = "g", expect_error = err)
  add_case(sprintf("lonely-fpc-%s-total", lp), "lonely", spf, "total", "y", expect_error = err)
}
# Only certainty strata are singletons (stratum C dropped): "fail" succeeds because E is a certainty PSU.
lonely_noC <- datasets$lonely[datasets$lonely$strat != "C", ]
write_data(lonely_noC, "lonely_certainty")
datasets$lonely_certainty <- read_data("lonely_certainty")
spc <- taylor_spec(weights = "w", strata = "strat", ids = "psu", fpc = "N", lonely_psu = "fail")
add_case("lonely_certainty-fpc-fail-mean", "lonely_certainty", spc, "mean", c("y", "b"), by = "g")
add_case("lonely_certainty-fpc-fail-total", "lonely_certainty", spc, "total", c("y", "b"))
add_case("lonely_certainty-fpc-fail-prop-b-xlogit", "lonely_certainty", spc, "proportion", "b", ci_method = "xlogit")
spc2 <- taylor_spec(weights = "w", strata = "strat", ids = "psu", lonely_psu = "fail")
add_case("lonely_certainty-nofpc-fail-mean", "lonely_certainty", spc2, "mean", "y", expect_error = TRUE)

# ---------------------------------------------------------------------------------------------
# Replicate-weight cases
# ---------------------------------------------------------------------------------------------
for (rn in names(rep_specs)) {
  rs <- rep_specs[[rn]]
  dat <- rs$data; sp <- rs$spec
  pre <- paste0(rn, "-rep")
  if (startsWith(dat, "scd")) {
    add_case(paste0(pre, "-mean"), dat, sp, "mean", c("arrests", "alive"))
    add_case(paste0(pre, "-total"), dat, sp, "total", c("arrests", "alive"), df = "inf", level = 0.9)
    add_case(paste0(pre, "-ratio"), dat, sp, "ratio", "alive/arrests")
    add_case(paste0(pre, "-mean-by-esa"), dat, sp, "mean", "alive", by = "ESA")
    add_case(paste0(pre, "-prop-ambulance"), dat, sp, "proportion", "ambulance", ci_method = "wald")
    add_case(paste0(pre, "-quantile"), dat, sp, "quantile", "arrests", ci_method = "mean", probs = c(0.25, 0.5, 0.9))
    add_case(paste0(pre, "-quantile-q"), dat, sp, "quantile", "arrests", ci_method = "quantile", probs = c(0.5))
    next
  }
  add_case(paste0(pre, "-mean"), dat, sp, "mean", c("api00", "api99"))
  add_case(paste0(pre, "-mean-by-stype"), dat, sp, "mean", c("api00", "acs.46"), by = "stype")
  add_case(paste0(pre, "-mean-by-stype-awards-inf"), dat, sp, "mean", "api00", by = c("stype", "awards"),
           df = "inf", level = 0.9)
  add_case(paste0(pre, "-total-by-stype"), dat, sp, "total", c("enroll", "acs.k3"), by = "stype")
  add_case(paste0(pre, "-ratio"), dat, sp, "ratio", c("api00/api99", "enroll/api.stu"), by = "stype")
  add_case(paste0(pre, "-prop-schwide-logit"), dat, sp, "proportion", "sch.wide", ci_method = "logit")
  add_case(paste0(pre, "-prop-stype-wald-by-awards"), dat, sp, "proportion", "stype", by = "awards")
  # no "likelihood" here: survey 4.1.1 returns NA likelihood intervals for replicate-weight designs
  for (m in c("beta", "xlogit", "asin"))
    add_case(sprintf("%s-prop-hi700-%s-by-stype", pre, m), dat, sp, "proportion", "hi700", by = "stype", ci_method = m)
  add_case(paste0(pre, "-quantile-mean"), dat, sp, "quantile", "api00", ci_method = "mean", probs = c(0.25, 0.5, 0.9))
  add_case(paste0(pre, "-quantile-quantile-by-stype"), dat, sp, "quantile", "api00", by = "stype",
           ci_method = "quantile", probs = c(0.25, 0.5, 0.9))
  add_case(paste0(pre, "-quantile-beta-by-stype"), dat, sp, "quantile", "api00", by = "stype",
           ci_method = "beta", probs = c(0.5), df = "inf")
}

# ---------------------------------------------------------------------------------------------
# Write JSON
# ---------------------------------------------------------------------------------------------
out <- list(r_version = R.version.string,
            survey_version = as.character(packageVersion("survey")),
            cases = cases)
json <- toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE)
writeLines(json, file.path(golden_dir, "estimates.json"))
nrows <- sum(vapply(cases, function(cs) length(cs$rows), 1L))
cat(sprintf("make_golden.R: wrote %d cases (%d rows, %d expected-error cases) to %s\n",
            length(cases), nrows, sum(vapply(cases, function(cs) isTRUE(cs$error), TRUE)),
            file.path(golden_dir, "estimates.json")))
