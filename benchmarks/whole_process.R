# Whole-process R baseline for benchmarks/bench_estimate.py:
#   Rscript benchmarks/whole_process.R FILE
# reads the CSV, builds the stratified cluster design and prints the weighted mean of y with its SE,
# i.e. what `quietpoll estimate FILE --strata strat --ids psu --nest --weights w --mean y` does.
suppressMessages(library(survey))
f <- commandArgs(TRUE)[1]
d <- read.csv(f)
des <- svydesign(id = ~psu, strata = ~strat, weights = ~w, data = d, nest = TRUE)
print(svymean(~y, des))
