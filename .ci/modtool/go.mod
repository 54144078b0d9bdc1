// The release tooling's own module (docs/releasing.md), outside the
// library's modules so that they do not depend on golang.org/x/mod.
module modtool

go 1.25.0

require golang.org/x/mod v0.40.0
