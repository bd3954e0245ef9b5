#!/usr/bin/env bash
# Copies the front-end packages pinned in package-lock.json into our static files, so pages
# never load code from a CDN and `make run` / `make test` need no npm. Run after changing
# package.json: `npm ci && scripts/vendor-static.sh`, then commit src/stampcard/static/vendor.
set -euo pipefail
cd "$(dirname "$0")/.."
nm=node_modules
out=src/stampcard/static/vendor
rm -rf "$out" && mkdir -p "$out/barcode-detector" "$out/htmx" "$out/idb-keyval"
# The decoder: the ES ponyfill, the bundle it imports, and the .wasm of the exact zxing-wasm
# version that bundle was built against (tests/test_vendored_static.py checks the hash).
cp "$nm/barcode-detector/dist/es/ponyfill.js" "$nm/barcode-detector/dist/es/zxing-exported.js" \
  "$out/barcode-detector/"
cp "$nm/barcode-detector/node_modules/zxing-wasm/dist/reader/zxing_reader.wasm" \
  "$out/barcode-detector/" 2>/dev/null \
  || cp "$nm/zxing-wasm/dist/reader/zxing_reader.wasm" "$out/barcode-detector/"
cp "$nm/htmx.org/dist/htmx.min.js" "$out/htmx/"
cp "$nm/idb-keyval/dist/index.js" "$out/idb-keyval/"
for pkg in barcode-detector zxing-wasm htmx.org idb-keyval; do
  dir="$nm/$pkg"; [ -d "$nm/barcode-detector/node_modules/$pkg" ] && dir="$nm/barcode-detector/node_modules/$pkg"
  mkdir -p "$out/licenses"
  cp "$dir/LICEN"* "$out/licenses/$pkg.LICENSE" 2>/dev/null || true
done
node -e 'const l=require("./package-lock.json").packages; for (const [k,v] of Object.entries(l)) if (k) console.log(k.replace(/.*node_modules\//,"")+"@"+v.version)' \
  | sort > "$out/VERSIONS"
echo "Vendored into $out:"; cat "$out/VERSIONS"
