#!/usr/bin/env bash
# Render the first page of RUN_DIR/report.pdf as docs/report-first-page.png, the picture that
# docs/report.md shows. Usage: docs/make_report_png.sh RUN_DIR (e.g. reports/singapore-summit-2018)
set -euo pipefail

run_dir=${1:?usage: docs/make_report_png.sh RUN_DIR}
pdf="$run_dir/report.pdf"
if [ ! -f "$pdf" ]; then
  echo "error: $pdf not found; make the report first (forecast run, or forecast report)" >&2
  exit 1
fi
if ! command -v pdftoppm >/dev/null 2>&1; then
  echo "error: pdftoppm not found; install poppler-utils" >&2
  exit 1
fi

out="$(cd "$(dirname "$0")" && pwd)/report-first-page"
# 60 dpi: the whole page at a glance, about 500 x 700 pixels and a few tens of KB.
pdftoppm -png -r "${DPI:-60}" -f 1 -l 1 -singlefile "$pdf" "$out"
echo "wrote $out.png"
