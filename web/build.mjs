// Builds the browser assets into src/quietpoll/collect/static/ (committed, so neither CI nor users
// need npm): form.js (the form, sealing, outbox), supervisor.js (the supervisor's view) and sw.js (the service worker, whose cache name is
// a hash of the assets so a new build replaces the old cache).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { copyFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// QUIETPOLL_WEB_OUT: another output folder (tests/collect/test_web_form.py rebuilds there and
// compares with the committed files).
const out = process.env.QUIETPOLL_WEB_OUT || join(here, "..", "src", "quietpoll", "collect", "static");
const common = { bundle: true, minify: true, format: "iife", target: ["es2020"], legalComments: "eof", logLevel: process.env.QUIETPOLL_WEB_OUT ? "warning" : "info" };

await build({ ...common, entryPoints: [join(here, "src", "form.js")], outfile: join(out, "form.js") });
// the supervisor's view (/s): its own small script, not part of the form's pinned bundle
await build({ ...common, entryPoints: [join(here, "src", "supervisor.js")], outfile: join(out, "supervisor.js") });
copyFileSync(join(here, "src", "form.css"), join(out, "form.css"));
const hash = createHash("sha256");
for (const name of ["form.js", "form.css"]) hash.update(readFileSync(join(out, name)));
const buildId = hash.digest("hex").slice(0, 16);
await build({
  ...common,
  entryPoints: [join(here, "src", "sw.js")],
  outfile: join(out, "sw.js"),
  define: { BUILD_ID: JSON.stringify(buildId) },
});
